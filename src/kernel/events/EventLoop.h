// SPDX-License-Identifier: MIT
#pragma once

// The kernel's event loop: runs device engines from outside any call into a
// driver. Emulated devices otherwise run only when a driver touches them; a NIC
// that receives frames from a TAP descriptor or a sound card that consumes
// samples on a clock needs to run when the outside world says so.
//
// One thread, "nk-events", waits in epoll_wait and runs the callbacks of the
// loop's sources:
//
//   fd source     watches a descriptor the caller owns for readability. Level
//                 triggered: the callback is called again as long as the
//                 descriptor stays readable and the source is started, so it
//                 should consume what it is woken for (a non-blocking read until
//                 EAGAIN, or as much as it wants this turn). As for poll(),
//                 end-of-file, hang-up and errors count as readable: a callback
//                 that finds its descriptor dead must stop() the source or it is
//                 called again at once.
//   timer source  a CLOCK_MONOTONIC timerfd the source owns, periodic or
//                 one-shot. The callback receives the number of expirations
//                 since its last call (more than 1 when the loop was late: a
//                 clocked device catches up instead of drifting).
//
// Contract (devices and recovery rely on it):
//  - Callbacks of one loop run one at a time, on the loop thread: a callback
//    never runs concurrently with itself nor with any other callback of the loop.
//  - They run outside every crossing into driver code (crossing depth 0, not
//    atomic). A device engine run there may raise interrupts; their handlers run
//    right there on the loop thread (see kernel/irq/IrqController.h and
//    kernel/exec/Context.h).
//  - Callbacks must not block for long: every other source waits meanwhile.
//    They must not throw (the loop thread would terminate the process).
//  - stop() is synchronous: when it returns, the callback is not running and
//    will not run again until the next start(). So stop(), a device reset, then
//    start() is safe from any kernel thread. stop() waits for a running callback,
//    so its caller must not hold a lock that the callback takes.
//  - On the loop thread (inside any callback) stop() never waits: the only
//    callback that can be running there is the caller's own. A callback that
//    stops its own source is not called again; the call in progress finishes.
//  - A callback may destroy its own source (the device tearing itself down from
//    its engine): the destructor returns at once, the callable and its captures
//    stay alive until the callback returns, the callback is never called again,
//    and the callback must not touch the destroyed EventSource afterwards.
//  - start() and stop() of one source may be called from any thread, including
//    from callbacks. If they race with each other, the one that takes the loop's
//    lock last wins; stop()'s guarantee holds until the next start().
//
// Ownership and lifetime: whoever calls EventLoop::create() owns the loop;
// whoever creates a source (a device) owns it. Either may be destroyed first.
// Destroying the loop stops its thread (after a running callback returns);
// sources still alive become inert: they report !started(), their start()
// fails with Unavailable, stop() and destruction are no-ops, and nothing touches
// freed memory. The loop may even be destroyed from one of its own callbacks:
// the thread then ends when that callback returns.
//
// An fd source does not own its descriptor: it must stay open while the source
// is started (close it after stop() or after destroying the source). One
// descriptor can be started in one source at a time (epoll registers a file once).

#include "base/Error.h"
#include "base/Mutex.h"
#include "base/ThreadAnnotations.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>

namespace nk {

class EventSource;

class EventLoop {
public:
    struct Stats {
        uint64_t wakeups { 0 };      // epoll_wait returns with at least one event
        uint64_t callbacks { 0 };    // callbacks that ran to completion, all sources
        uint64_t stale_events { 0 }; // readiness dropped: its source was stopped or re-armed since epoll reported it
        size_t sources { 0 };        // sources alive
        size_t started { 0 };        // sources started
    };

    // Creates the epoll instance and its wakeup eventfd and starts the loop
    // thread. Fails with the system's error (ResourceExhausted when out of
    // descriptors or threads).
    static Result<std::unique_ptr<EventLoop>> create();
    // Stops the thread and waits for it, unless called on it (then the thread
    // ends when the running callback returns). See the lifetime rules above.
    ~EventLoop();
    EventLoop(EventLoop const&) = delete;
    EventLoop& operator=(EventLoop const&) = delete;

    // A source watching `fd` for readability, created stopped. `name` appears in
    // errors and logs. InvalidArgument for a negative or closed descriptor, one
    // epoll cannot watch (a regular file, a directory) or an empty callback;
    // Unavailable if the loop thread has ended. Any thread.
    Result<std::unique_ptr<EventSource>> watch_fd(std::string name, int fd, std::function<void()> on_ready);
    // A timer source, created disarmed: give it its schedule with start_timer().
    // InvalidArgument for an empty callback; Unavailable if the loop thread has
    // ended; the system's error if no timerfd can be created. Any thread.
    Result<std::unique_ptr<EventSource>> timer(std::string name, std::function<void(uint64_t expirations)> on_tick);

    // True on the loop thread, that is, inside a callback of this loop. Any thread.
    bool on_loop_thread() const;
    // A snapshot. Any thread.
    Stats stats() const;

private:
    friend class EventSource;
    class Core;

    EventLoop(std::shared_ptr<Core> core, std::thread thread);

    std::shared_ptr<Core> m_core;
    std::thread m_thread;
};

// The state a loop shares with its thread and its sources. Each of them holds a
// reference, so whichever goes last frees it: a source outliving its loop, or a
// loop destroyed from its own callback, never touches freed memory.
class EventLoop::Core {
public:
    Core() = default;
    ~Core();
    Core(Core const&) = delete;
    Core& operator=(Core const&) = delete;

private:
    friend class EventLoop;
    friend class EventSource;

    // The loop thread's body.
    void run();
    // Runs the callback registered under `key`, if its registration still stands.
    void dispatch(uint64_t key);
    // Ends the loop: sources become inert, descriptors are closed. The loop thread, when it exits.
    void shut_down();

    // The epoll data of the wakeup eventfd; sources' registrations count from 1.
    static constexpr uint64_t wake_key = 0;

    mutable Mutex m_mutex;
    // Signalled when a callback returns (stop() waits on it).
    ConditionVariable m_callback_done;
    // -1 once the loop has ended.
    int m_epoll_fd NK_GUARDED_BY(m_mutex) { -1 };
    // Written to make the loop thread look at m_stopping.
    int m_wake_fd NK_GUARDED_BY(m_mutex) { -1 };
    // Every start() registers the source's descriptor under a fresh key, and
    // stop() erases it: readiness that epoll reported before a stop() (or a
    // stop() and start()) finds no entry or another key and is dropped.
    std::unordered_map<uint64_t, EventSource*> m_registrations NK_GUARDED_BY(m_mutex);
    uint64_t m_next_key NK_GUARDED_BY(m_mutex) { wake_key + 1 };
    // The source whose callback runs now; cleared by a source destroyed inside its own callback.
    EventSource* m_running NK_GUARDED_BY(m_mutex) { nullptr };
    bool m_stopping NK_GUARDED_BY(m_mutex) { false };
    bool m_ended NK_GUARDED_BY(m_mutex) { false };
    Stats m_stats NK_GUARDED_BY(m_mutex);
    // Set by the loop thread itself while it runs, so that a thread id reused
    // after it ended never passes for it; read without the lock by on_loop_thread().
    std::atomic<std::thread::id> m_loop_thread {};
};

class EventSource {
public:
    // stop(), then deregisters; a timer source closes its timerfd. From inside
    // the source's own callback it does not wait (see the contract above).
    ~EventSource();
    EventSource(EventSource const&) = delete;
    EventSource& operator=(EventSource const&) = delete;

    // fd source: begins watching. Timer source: arms with the schedule last given
    // to start_timer() (a one-shot fires once more, `first` from now);
    // FailedPrecondition if it never had one. Does nothing if already started.
    // Unavailable once the loop has ended; AlreadyExists if another started
    // source watches the same descriptor. Any thread.
    Result<void> start();
    // Timer sources only (InvalidArgument otherwise): arms to expire `first` from
    // now (0: at once), then every `period` (0: one-shot; the source is stopped
    // again once it has fired, before its callback runs, so the callback may
    // re-arm it). If already started, replaces the schedule: expirations not yet
    // delivered are dropped. InvalidArgument for negative durations; Unavailable
    // once the loop has ended. Any thread.
    Result<void> start_timer(std::chrono::nanoseconds first, std::chrono::nanoseconds period);
    // Stops watching or disarms. Synchronous: when it returns the callback is not
    // running and will not run until the next start(), except when called on the
    // loop thread, where it returns at once (the running callback, if it is this
    // source's, finishes). Idempotent. Any thread.
    void stop();
    // Stops watching or disarms without waiting: a callback running now may
    // finish, none starts after this returns (until the next start()). For a
    // caller that may be what the running callback waits for (a device
    // register written from inside a driver call, while the callback raises
    // that driver's interrupt). Idempotent. Any thread.
    void cancel();

    bool started() const;
    // How many times the callback ran to completion.
    uint64_t callbacks() const;
    std::string const& name() const { return m_name; }

private:
    friend class EventLoop;
    friend class EventLoop::Core;

    enum class Kind : unsigned char { Fd, Timer };
    using Callback = std::function<void(uint64_t expirations)>;

    EventSource(std::shared_ptr<EventLoop::Core> core, std::string name, Kind kind, int fd, Callback callback);

    void stop_locked(MutexLocker& locker) NK_REQUIRES(m_core->m_mutex);
    bool started_locked() const NK_REQUIRES(m_core->m_mutex);
    // Adds m_fd to epoll under a fresh key (arms the timerfd first for a timer).
    Result<void> register_locked() NK_REQUIRES(m_core->m_mutex);
    // Removes m_fd from epoll and forgets the key (disarms the timerfd for a timer).
    void deregister_locked() NK_REQUIRES(m_core->m_mutex);

    std::shared_ptr<EventLoop::Core> const m_core;
    std::string const m_name;
    Kind const m_kind;
    // The watched descriptor (not owned), or the timerfd (owned).
    int const m_fd;
    // Shared so that the loop can keep it alive across a call that destroys the source.
    std::shared_ptr<Callback const> const m_callback;

    // The key of the current registration; 0 while stopped.
    uint64_t m_key NK_GUARDED_BY(m_core->m_mutex) { 0 };
    bool m_running NK_GUARDED_BY(m_core->m_mutex) { false };
    uint64_t m_callbacks NK_GUARDED_BY(m_core->m_mutex) { 0 };
    // The schedule last given to start_timer().
    bool m_has_schedule NK_GUARDED_BY(m_core->m_mutex) { false };
    std::chrono::nanoseconds m_first NK_GUARDED_BY(m_core->m_mutex) { 0 };
    std::chrono::nanoseconds m_period NK_GUARDED_BY(m_core->m_mutex) { 0 };
};

} // namespace nk
