// SPDX-License-Identifier: MIT
#include "kernel/events/EventLoop.h"

#include "KernelTestSupport.h"
#include "kernel/exec/Context.h"
#include "kernel/irq/IrqController.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fcntl.h>
#include <pthread.h>
#include <string>
#include <sys/eventfd.h>
#include <thread>
#include <unistd.h>

namespace nk {
namespace {

using namespace std::chrono_literals;
using test::Event;

// Waits until `condition` holds or `timeout` passes; returns whether it held.
// Yields rather than sleeping, so that the race tests below can run thousands of
// iterations; still bounded, so a broken loop fails the test instead of hanging.
template<typename Condition>
bool wait_until(Condition condition, std::chrono::milliseconds timeout = test::wait_bound)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() >= deadline)
            return condition();
        std::this_thread::yield();
    }
    return true;
}

// An eventfd the test owns: readable from signal() until drain().
class TestEventFd {
public:
    TestEventFd()
        : m_fd(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC))
    {
    }
    ~TestEventFd() { close(m_fd); }
    TestEventFd(TestEventFd const&) = delete;
    TestEventFd& operator=(TestEventFd const&) = delete;

    int fd() const { return m_fd; }
    void signal() const
    {
        uint64_t one = 1;
        EXPECT_EQ(write(m_fd, &one, sizeof(one)), ssize_t(sizeof(one)));
    }
    // Returns whether there was something to read.
    bool drain() const
    {
        uint64_t value = 0;
        return read(m_fd, &value, sizeof(value)) == ssize_t(sizeof(value));
    }

private:
    int m_fd;
};

// Returns once the loop has gone through at least one whole batch of events
// after the call: any source that was started and ready when it was called has
// had its chance to run. A probe timer fires twice; its second callback comes
// from a later epoll_wait than its first, so the first one's batch is finished.
bool let_loop_turn(EventLoop& loop)
{
    std::atomic<int> ticks { 0 };
    auto probe = loop.timer("probe", [&](uint64_t) { ticks++; });
    if (!probe || !(*probe)->start_timer(0ns, 1ms))
        return false;
    return wait_until([&] { return ticks.load() >= 2; });
}

std::unique_ptr<EventLoop> make_loop()
{
    auto loop = EventLoop::create();
    EXPECT_TRUE(loop.has_value()) << loop.error().message();
    return std::move(*loop);
}

// ---- Timers ----

// A periodic timer fires again and again; each call reports at least one
// expiration, and all of them together no more than the time elapsed allows.
TEST(EventLoopTest, Timer_PeriodicFiresRepeatedly)
{
    auto loop = make_loop();
    std::atomic<uint64_t> calls { 0 };
    std::atomic<uint64_t> expirations { 0 };
    std::atomic<uint64_t> empty_calls { 0 };
    auto timer = loop->timer("periodic", [&](uint64_t count) {
        if (count == 0)
            empty_calls++;
        expirations += count;
        calls++;
    });
    ASSERT_TRUE(timer.has_value()) << timer.error().message();
    auto armed_at = std::chrono::steady_clock::now();
    ASSERT_TRUE((*timer)->start_timer(1ms, 1ms).has_value());
    EXPECT_TRUE((*timer)->started());
    EXPECT_TRUE(wait_until([&] { return calls.load() >= 5; }));
    (*timer)->stop();
    auto elapsed = std::chrono::steady_clock::now() - armed_at;

    EXPECT_FALSE((*timer)->started());
    EXPECT_EQ((*timer)->callbacks(), calls.load());
    EXPECT_EQ(empty_calls.load(), 0u);
    EXPECT_GE(expirations.load(), calls.load());
    // The first expiry is 1 ms after arming, then one per ms: never more than that.
    EXPECT_LE(expirations.load(), uint64_t(elapsed / 1ms));
}

// A callback that makes the loop late receives the expirations it missed, in one call.
TEST(EventLoopTest, Timer_ReportsMissedExpirations)
{
    auto loop = make_loop();
    std::atomic<uint64_t> calls { 0 };
    std::atomic<uint64_t> second_count { 0 };
    auto timer = loop->timer("late", [&](uint64_t count) {
        auto call = ++calls;
        // Not synchronization: the loop is made late on purpose. The timerfd
        // counts expirations from the clock, so at least 30 pass meanwhile.
        if (call == 1)
            std::this_thread::sleep_for(30ms);
        if (call == 2)
            second_count = count;
    });
    ASSERT_TRUE(timer.has_value());
    ASSERT_TRUE((*timer)->start_timer(1ms, 1ms).has_value());
    EXPECT_TRUE(wait_until([&] { return calls.load() >= 2; }));
    (*timer)->stop();
    EXPECT_GE(second_count.load(), 20u);
}

// A one-shot fires once, with one expiration, and is stopped afterwards; start() fires it once more.
TEST(EventLoopTest, Timer_OneShotFiresOnce)
{
    auto loop = make_loop();
    std::atomic<uint64_t> calls { 0 };
    std::atomic<uint64_t> last_count { 0 };
    auto timer = loop->timer("one-shot", [&](uint64_t count) {
        last_count = count;
        calls++;
    });
    ASSERT_TRUE(timer.has_value());
    auto& source = **timer;
    ASSERT_TRUE(source.start_timer(1ms, 0ns).has_value());
    EXPECT_TRUE(wait_until([&] { return source.callbacks() >= 1; }));
    EXPECT_FALSE(source.started());
    EXPECT_EQ(last_count.load(), 1u);
    // A timer that repeated (every 1 ms) would do so within this bound.
    EXPECT_FALSE(wait_until([&] { return calls.load() > 1; }, 20ms));
    EXPECT_EQ(calls.load(), 1u);

    ASSERT_TRUE(source.start().has_value());
    EXPECT_TRUE(wait_until([&] { return source.callbacks() >= 2; }));
    EXPECT_TRUE(let_loop_turn(*loop));
    EXPECT_EQ(calls.load(), 2u);
    EXPECT_FALSE(source.started());
}

// A one-shot re-arms itself from its callback (a device clocking itself), then lets itself stop.
TEST(EventLoopTest, Timer_OneShotRearmsItselfFromItsCallback)
{
    auto loop = make_loop();
    EventSource* self = nullptr;
    std::atomic<int> calls { 0 };
    std::atomic<int> rearm_failures { 0 };
    auto timer = loop->timer("self-clocked", [&](uint64_t) {
        if (++calls < 5 && !self->start_timer(100us, 0ns))
            rearm_failures++;
    });
    ASSERT_TRUE(timer.has_value());
    self = timer->get();
    ASSERT_TRUE(self->start_timer(100us, 0ns).has_value());
    EXPECT_TRUE(wait_until([&] { return self->callbacks() >= 5; }));
    EXPECT_TRUE(let_loop_turn(*loop));
    EXPECT_EQ(calls.load(), 5);
    EXPECT_EQ(rearm_failures.load(), 0);
    EXPECT_FALSE(self->started());
}

// start_timer on a started timer replaces its schedule.
TEST(EventLoopTest, Timer_StartTimerReplacesSchedule)
{
    auto loop = make_loop();
    std::atomic<int> calls { 0 };
    auto timer = loop->timer("rescheduled", [&](uint64_t) { calls++; });
    ASSERT_TRUE(timer.has_value());
    ASSERT_TRUE((*timer)->start_timer(1h, 0ns).has_value());
    ASSERT_TRUE((*timer)->start_timer(1ms, 0ns).has_value());
    EXPECT_TRUE(wait_until([&] { return calls.load() >= 1; }));
}

// ---- Descriptors ----

// An fd source does nothing while its descriptor is not readable, fires when it
// becomes readable, keeps firing while it stays readable, and stops when drained.
TEST(EventLoopTest, Fd_FiresWhileReadable)
{
    auto loop = make_loop();
    TestEventFd efd;
    std::atomic<int> calls { 0 };
    std::atomic<int> drain_at { 0 }; // the call that drains the eventfd (0: none)
    auto source = loop->watch_fd("eventfd", efd.fd(), [&] {
        int call = ++calls;
        if (call == drain_at.load())
            efd.drain();
    });
    ASSERT_TRUE(source.has_value()) << source.error().message();
    ASSERT_TRUE((*source)->start().has_value());
    EXPECT_TRUE(let_loop_turn(*loop));
    EXPECT_EQ(calls.load(), 0);

    // Level-triggered: the callback does not read, so it is called again and again.
    drain_at = 10;
    efd.signal();
    EXPECT_TRUE(wait_until([&] { return (*source)->callbacks() >= 10; }));
    EXPECT_TRUE(let_loop_turn(*loop));
    EXPECT_EQ(calls.load(), 10);

    // Readable again: fires again.
    drain_at = 11;
    efd.signal();
    EXPECT_TRUE(wait_until([&] { return (*source)->callbacks() >= 11; }));
    EXPECT_TRUE(let_loop_turn(*loop));
    EXPECT_EQ(calls.load(), 11);
}

// A pipe works the same; its hang-up counts as readable, and the callback that sees it stops the source.
TEST(EventLoopTest, Fd_PipeDataAndHangUp)
{
    auto loop = make_loop();
    int fds[2];
    ASSERT_EQ(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
    std::string received;
    std::atomic<bool> saw_eof { false };
    EventSource* self = nullptr;
    auto source = loop->watch_fd("pipe", fds[0], [&] {
        char buffer[64];
        auto n = read(fds[0], buffer, sizeof(buffer));
        if (n > 0)
            received.append(buffer, size_t(n));
        if (n == 0) {
            saw_eof = true;
            self->stop();
        }
    });
    ASSERT_TRUE(source.has_value());
    self = source->get();
    ASSERT_TRUE(self->start().has_value());
    ASSERT_EQ(write(fds[1], "frame", 5), 5);
    close(fds[1]);
    EXPECT_TRUE(wait_until([&] { return saw_eof.load(); }));
    EXPECT_FALSE(self->started());
    EXPECT_TRUE(let_loop_turn(*loop));
    EXPECT_EQ(received, "frame");
    auto calls = self->callbacks();
    EXPECT_GE(calls, 2u); // one call reads the data, a later one end-of-file
    EXPECT_TRUE(let_loop_turn(*loop));
    EXPECT_EQ(self->callbacks(), calls);
    source->reset();
    close(fds[0]);
}

// ---- stop() and start() ----

// stop() waits for a callback that is blocked inside, and nothing runs after it.
TEST(EventLoopTest, Stop_WaitsForBlockedCallback)
{
    auto loop = make_loop();
    TestEventFd efd;
    Event entered;
    Event release;
    std::atomic<bool> stopped { false };
    std::atomic<bool> stopped_while_running { false };
    auto source = loop->watch_fd("blocked", efd.fd(), [&] {
        entered.set();
        EXPECT_TRUE(release.wait());
        stopped_while_running = stopped.load();
    });
    ASSERT_TRUE(source.has_value());
    ASSERT_TRUE((*source)->start().has_value());
    efd.signal();
    ASSERT_TRUE(entered.wait());

    std::thread stopper([&] {
        (*source)->stop();
        stopped = true;
    });
    // stop() deregisters before it waits: once the source reads as stopped, stop() is inside.
    EXPECT_TRUE(wait_until([&] { return !(*source)->started(); }));
    // A stop() that did not wait would return within this bound.
    EXPECT_FALSE(wait_until([&] { return stopped.load(); }, 50ms));
    release.set();
    stopper.join();
    EXPECT_TRUE(stopped.load());
    EXPECT_FALSE(stopped_while_running.load());
    EXPECT_EQ((*source)->callbacks(), 1u);

    // Still readable, but stopped: not called again.
    EXPECT_TRUE(let_loop_turn(*loop));
    EXPECT_EQ((*source)->callbacks(), 1u);
}

// cancel() is what a register write uses: it returns while the callback is
// still blocked (the callback may be waiting for the canceller), and the
// source is not called again after that callback.
TEST(EventLoopTest, Cancel_DoesNotWaitForBlockedCallback)
{
    auto loop = make_loop();
    TestEventFd efd;
    Event entered;
    Event release;
    auto source = loop->watch_fd("blocked", efd.fd(), [&] {
        entered.set();
        EXPECT_TRUE(release.wait());
    });
    ASSERT_TRUE(source.has_value());
    ASSERT_TRUE((*source)->start().has_value());
    efd.signal();
    ASSERT_TRUE(entered.wait());
    (*source)->cancel(); // returns with the callback still inside
    EXPECT_FALSE((*source)->started());
    EXPECT_EQ((*source)->callbacks(), 0u);
    release.set();
    EXPECT_TRUE(wait_until([&] { return (*source)->callbacks() == 1u; }));
    // Still readable, but cancelled: not called again.
    EXPECT_TRUE(let_loop_turn(*loop));
    EXPECT_EQ((*source)->callbacks(), 1u);
    // And it starts again like a stopped one.
    ASSERT_TRUE((*source)->start().has_value());
    release.set();
    EXPECT_TRUE(wait_until([&] { return (*source)->callbacks() >= 2u; }));
    (*source)->stop();
}

// Race reproducer: stop() from another thread lands at every point of the
// callback and between calls. When it returns the callback is not running, and
// it does not run again until start().
TEST(EventLoopTest, Stop_RacesWithRunningCallback)
{
    auto loop = make_loop();
    TestEventFd efd;
    efd.signal(); // readable throughout: the callback runs back to back while started
    std::atomic<bool> inside { false };
    std::atomic<bool> stop_returned { false };
    std::atomic<int> ran_after_stop { 0 };
    std::atomic<int> spin { 0 };
    auto source = loop->watch_fd("race", efd.fd(), [&] {
        if (stop_returned.load())
            ran_after_stop++;
        inside = true;
        // Callbacks of varying length, so that stop() lands anywhere.
        for (int i = 0, n = spin.load(); i < n; ++i)
            asm volatile("" ::: "memory");
        inside = false;
        if (stop_returned.load())
            ran_after_stop++;
    });
    ASSERT_TRUE(source.has_value());
    auto& s = **source;

    int returned_while_inside = 0;
    int counted_after_stop = 0;
    for (int iteration = 0; iteration < 2000; ++iteration) {
        stop_returned = false;
        spin = (iteration % 5) * 400;
        auto before = s.callbacks();
        ASSERT_TRUE(s.start().has_value());
        // Odd iterations stop while a call is (most likely) inside, even ones as soon as one completed.
        if (iteration % 2) {
            ASSERT_TRUE(wait_until([&] { return inside.load(); }));
        } else {
            ASSERT_TRUE(wait_until([&] { return s.callbacks() > before; }));
        }
        s.stop();
        if (inside.load())
            returned_while_inside++;
        stop_returned = true;
        auto at_stop = s.callbacks();
        // A late call would show in the count by the next iteration.
        if (iteration % 10 == 0) {
            ASSERT_TRUE(let_loop_turn(*loop));
            if (s.callbacks() != at_stop)
                counted_after_stop++;
        }
    }
    EXPECT_TRUE(let_loop_turn(*loop));
    EXPECT_EQ(returned_while_inside, 0);
    EXPECT_EQ(counted_after_stop, 0);
    EXPECT_EQ(ran_after_stop.load(), 0);
}

// stop() from inside the source's own callback returns at once and the callback is not called again.
TEST(EventLoopTest, Stop_FromInsideItsOwnCallback)
{
    auto loop = make_loop();
    TestEventFd efd;
    efd.signal();
    EventSource* self = nullptr;
    std::atomic<int> calls { 0 };
    std::atomic<bool> started_after_stop { true };
    Event stopped;
    auto source = loop->watch_fd("self-stopping", efd.fd(), [&] {
        if (++calls == 3) {
            self->stop();
            started_after_stop = self->started();
            stopped.set();
        }
    });
    ASSERT_TRUE(source.has_value());
    self = source->get();
    ASSERT_TRUE(self->start().has_value());
    ASSERT_TRUE(stopped.wait());
    EXPECT_FALSE(started_after_stop.load());
    EXPECT_TRUE(let_loop_turn(*loop));
    EXPECT_EQ(calls.load(), 3);
    EXPECT_EQ(self->callbacks(), 3u);
}

// stop() of another source from inside a callback returns at once too (nothing else can be running).
TEST(EventLoopTest, Stop_OtherSourceFromInsideACallback)
{
    auto loop = make_loop();
    TestEventFd efd;
    efd.signal();
    std::atomic<int> victim_calls { 0 };
    auto victim = loop->watch_fd("victim", efd.fd(), [&] { victim_calls++; });
    ASSERT_TRUE(victim.has_value());
    ASSERT_TRUE((*victim)->start().has_value());
    ASSERT_TRUE(wait_until([&] { return victim_calls.load() >= 1; }));
    Event done;
    auto stopper = loop->timer("stopper", [&](uint64_t) {
        (*victim)->stop();
        done.set();
    });
    ASSERT_TRUE(stopper.has_value());
    ASSERT_TRUE((*stopper)->start_timer(0ns, 0ns).has_value());
    ASSERT_TRUE(done.wait());
    auto at_stop = (*victim)->callbacks();
    EXPECT_TRUE(let_loop_turn(*loop));
    EXPECT_EQ((*victim)->callbacks(), at_stop);
}

// stop(), start() cycles: a stopped source does not run, a restarted one runs again (both kinds).
TEST(EventLoopTest, Start_AfterStop)
{
    auto loop = make_loop();
    TestEventFd efd;
    efd.signal();
    auto fd_source = loop->watch_fd("fd", efd.fd(), [] { });
    auto timer = loop->timer("timer", [](uint64_t) { });
    ASSERT_TRUE(fd_source.has_value());
    ASSERT_TRUE(timer.has_value());
    ASSERT_TRUE((*timer)->start_timer(1ms, 1ms).has_value());
    for (auto* source : { fd_source->get(), timer->get() }) {
        for (int cycle = 0; cycle < 3; ++cycle) {
            auto before = source->callbacks();
            ASSERT_TRUE(source->start().has_value()) << source->name();
            ASSERT_TRUE(source->start().has_value()); // already started: nothing to do
            EXPECT_TRUE(source->started());
            EXPECT_TRUE(wait_until([&] { return source->callbacks() > before; })) << source->name();
            source->stop();
            source->stop(); // idempotent
            EXPECT_FALSE(source->started());
            auto at_stop = source->callbacks();
            EXPECT_TRUE(let_loop_turn(*loop));
            EXPECT_EQ(source->callbacks(), at_stop) << source->name();
        }
    }
}

// ---- Destruction ----

// Sources destroyed while the loop runs them, from another thread: no call after
// the destructor returns (the sanitizer build sees any use of freed memory).
TEST(EventLoopTest, Destroy_SourceWhileLoopRuns)
{
    auto loop = make_loop();
    TestEventFd efd;
    efd.signal();
    std::atomic<bool> destroyed { false };
    std::atomic<int> ran_after_destroy { 0 };
    for (int iteration = 0; iteration < 500; ++iteration) {
        destroyed = false;
        auto state = std::make_unique<uint64_t>(0);
        auto fd_source = loop->watch_fd("doomed-fd", efd.fd(), [&, state = state.get()] {
            if (destroyed.load())
                ran_after_destroy++;
            ++*state;
        });
        auto timer = loop->timer("doomed-timer", [&, state = state.get()](uint64_t) {
            if (destroyed.load())
                ran_after_destroy++;
            ++*state;
        });
        ASSERT_TRUE(fd_source.has_value());
        ASSERT_TRUE(timer.has_value());
        ASSERT_TRUE((*fd_source)->start().has_value());
        ASSERT_TRUE((*timer)->start_timer(0ns, 10us).has_value());
        // Half of them after a call completed, half maybe before the first.
        if (iteration % 2) {
            ASSERT_TRUE(wait_until([&] { return (*fd_source)->callbacks() > 0; }));
        }
        fd_source->reset();
        timer->reset();
        destroyed = true;
        state.reset();
    }
    EXPECT_TRUE(let_loop_turn(*loop));
    EXPECT_EQ(ran_after_destroy.load(), 0);
    EXPECT_EQ(loop->stats().sources, 0u);
}

// A callback destroys its own source: no crash, its captures live until it
// returns, it is not called again, and the loop carries on.
TEST(EventLoopTest, Destroy_SourceInsideItsOwnCallback)
{
    auto loop = make_loop();
    TestEventFd efd;
    efd.signal();
    std::unique_ptr<EventSource> source;
    std::atomic<int> calls { 0 };
    std::string seen;
    Event done;
    auto capture = std::make_shared<std::string>("still here");
    auto created = loop->watch_fd("self-destroying", efd.fd(), [&, capture] {
        calls++;
        source.reset();
        // The source is gone, its callable is not.
        seen = *capture;
        done.set();
    });
    ASSERT_TRUE(created.has_value());
    source = std::move(*created);
    capture.reset(); // the callable holds the last reference
    ASSERT_TRUE(source->start().has_value());
    ASSERT_TRUE(done.wait());
    EXPECT_TRUE(let_loop_turn(*loop));
    EXPECT_EQ(calls.load(), 1);
    EXPECT_EQ(seen, "still here");
    EXPECT_EQ(loop->stats().sources, 0u);

    // The loop still runs other sources.
    std::atomic<int> other_calls { 0 };
    auto other = loop->watch_fd("other", efd.fd(), [&] { other_calls++; });
    ASSERT_TRUE(other.has_value());
    ASSERT_TRUE((*other)->start().has_value());
    EXPECT_TRUE(wait_until([&] { return other_calls.load() >= 1; }));
}

// A periodic timer destroys itself from its callback too.
TEST(EventLoopTest, Destroy_TimerInsideItsOwnCallback)
{
    auto loop = make_loop();
    std::unique_ptr<EventSource> source;
    std::atomic<int> calls { 0 };
    Event done;
    auto created = loop->timer("self-destroying", [&](uint64_t) {
        if (++calls == 3) {
            source.reset();
            done.set();
        }
    });
    ASSERT_TRUE(created.has_value());
    source = std::move(*created);
    ASSERT_TRUE(source->start_timer(0ns, 100us).has_value());
    ASSERT_TRUE(done.wait());
    EXPECT_TRUE(let_loop_turn(*loop));
    EXPECT_EQ(calls.load(), 3);
}

// Destroying the loop before its sources: they become inert, their start() is
// Unavailable, and they can still be stopped, inspected and destroyed.
TEST(EventLoopTest, Destroy_LoopBeforeSources)
{
    auto loop = make_loop();
    TestEventFd efd;
    efd.signal();
    std::atomic<int> calls { 0 };
    auto fd_source = loop->watch_fd("orphan-fd", efd.fd(), [&] { calls++; });
    auto timer = loop->timer("orphan-timer", [&](uint64_t) { calls++; });
    auto never = loop->timer("orphan-never-started", [&](uint64_t) { calls++; });
    ASSERT_TRUE(fd_source.has_value());
    ASSERT_TRUE(timer.has_value());
    ASSERT_TRUE(never.has_value());
    ASSERT_TRUE((*fd_source)->start().has_value());
    ASSERT_TRUE((*timer)->start_timer(0ns, 100us).has_value());
    EXPECT_TRUE(wait_until([&] { return (*fd_source)->callbacks() > 0 && (*timer)->callbacks() > 0; }));

    loop.reset();
    auto calls_at_end = calls.load();
    for (auto* source : { fd_source->get(), timer->get(), never->get() }) {
        EXPECT_FALSE(source->started()) << source->name();
        auto restarted = source->start();
        ASSERT_FALSE(restarted.has_value()) << source->name();
        EXPECT_EQ(restarted.error().code(), ErrorCode::Unavailable);
        EXPECT_NE(restarted.error().message().find(source->name()), std::string::npos);
        source->stop();
    }
    auto rearmed = (*timer)->start_timer(1ms, 0ns);
    ASSERT_FALSE(rearmed.has_value());
    EXPECT_EQ(rearmed.error().code(), ErrorCode::Unavailable);
    EXPECT_EQ(calls.load(), calls_at_end);
    fd_source->reset();
    timer->reset();
    never->reset();
}

// Destroying the loop waits for a running callback.
TEST(EventLoopTest, Destroy_LoopWaitsForRunningCallback)
{
    auto loop = make_loop();
    TestEventFd efd;
    efd.signal();
    Event entered;
    Event release;
    std::atomic<bool> destroyed { false };
    std::atomic<bool> destroyed_while_running { false };
    auto source = loop->watch_fd("blocked", efd.fd(), [&] {
        entered.set();
        EXPECT_TRUE(release.wait());
        destroyed_while_running = destroyed.load();
    });
    ASSERT_TRUE(source.has_value());
    ASSERT_TRUE((*source)->start().has_value());
    ASSERT_TRUE(entered.wait());
    std::thread destroyer([&] {
        loop.reset();
        destroyed = true;
    });
    // A destructor that did not wait would return within this bound.
    EXPECT_FALSE(wait_until([&] { return destroyed.load(); }, 50ms));
    release.set();
    destroyer.join();
    EXPECT_FALSE(destroyed_while_running.load());
    EXPECT_FALSE((*source)->started());
}

// The loop may be destroyed from one of its own callbacks: its thread ends when the callback returns.
TEST(EventLoopTest, Destroy_LoopInsideACallback)
{
    auto loop = make_loop();
    TestEventFd efd;
    efd.signal();
    Event done;
    auto source = loop->watch_fd("loop-killer", efd.fd(), [&] {
        loop.reset();
        done.set();
    });
    ASSERT_TRUE(source.has_value());
    ASSERT_TRUE((*source)->start().has_value());
    ASSERT_TRUE(done.wait());
    EXPECT_TRUE(wait_until([&] { return !(*source)->started(); }));
    EXPECT_EQ((*source)->callbacks(), 1u);
    auto restarted = (*source)->start();
    ASSERT_FALSE(restarted.has_value());
    EXPECT_EQ(restarted.error().code(), ErrorCode::Unavailable);
}

// ---- Execution context ----

// Callbacks of different sources never overlap, and all run on the loop thread.
TEST(EventLoopTest, Callbacks_NeverOverlap)
{
    auto loop = make_loop();
    std::atomic<int> active { 0 };
    std::atomic<int> overlaps { 0 };
    std::atomic<int> off_loop_thread { 0 };
    auto body = [&] {
        if (active.fetch_add(1) != 0)
            overlaps++;
        if (!loop->on_loop_thread())
            off_loop_thread++;
        for (int i = 0; i < 200; ++i)
            asm volatile("" ::: "memory");
        active.fetch_sub(1);
    };
    TestEventFd fds[3];
    std::vector<std::unique_ptr<EventSource>> sources;
    for (auto& efd : fds) {
        efd.signal();
        auto source = loop->watch_fd("busy", efd.fd(), body);
        ASSERT_TRUE(source.has_value());
        ASSERT_TRUE((*source)->start().has_value());
        sources.push_back(std::move(*source));
    }
    for (int i = 0; i < 2; ++i) {
        auto timer = loop->timer("ticking", [&](uint64_t) { body(); });
        ASSERT_TRUE(timer.has_value());
        ASSERT_TRUE((*timer)->start_timer(0ns, 50us).has_value());
        sources.push_back(std::move(*timer));
    }
    EXPECT_TRUE(wait_until([&] {
        for (auto const& source : sources) {
            if (source->callbacks() < 200)
                return false;
        }
        return true;
    }));
    for (auto& source : sources)
        source->stop();
    EXPECT_EQ(overlaps.load(), 0);
    EXPECT_EQ(off_loop_thread.load(), 0);

    uint64_t sum = 0;
    for (auto const& source : sources)
        sum += source->callbacks();
    auto stats = loop->stats();
    EXPECT_EQ(stats.callbacks, sum);
    EXPECT_EQ(stats.sources, sources.size());
    EXPECT_EQ(stats.started, 0u);
    EXPECT_GT(stats.wakeups, 0u);
}

// The loop thread is "nk-events", known to on_loop_thread(), and outside every
// crossing into driver code; other threads are not the loop thread.
TEST(EventLoopTest, OnLoopThread)
{
    auto loop = make_loop();
    EXPECT_FALSE(loop->on_loop_thread());
    std::atomic<bool> on_loop { false };
    std::atomic<uint32_t> crossing_depth { 99 };
    std::atomic<uint32_t> atomic_depth { 99 };
    std::string thread_name;
    std::thread::id callback_thread;
    Event done;
    auto timer = loop->timer("where", [&](uint64_t) {
        on_loop = loop->on_loop_thread();
        crossing_depth = current_context().crossing_depth;
        atomic_depth = current_context().atomic_depth;
        char name[16] = {};
        pthread_getname_np(pthread_self(), name, sizeof(name));
        thread_name = name;
        callback_thread = std::this_thread::get_id();
        done.set();
    });
    ASSERT_TRUE(timer.has_value());
    ASSERT_TRUE((*timer)->start_timer(0ns, 0ns).has_value());
    ASSERT_TRUE(done.wait());
    EXPECT_TRUE(on_loop.load());
    EXPECT_EQ(thread_name, "nk-events");
    EXPECT_NE(callback_thread, std::this_thread::get_id());
    EXPECT_EQ(crossing_depth.load(), 0u);
    EXPECT_EQ(atomic_depth.load(), 0u);

    std::atomic<bool> other_thread_on_loop { true };
    std::thread([&] { other_thread_on_loop = loop->on_loop_thread(); }).join();
    EXPECT_FALSE(other_thread_on_loop.load());
}

// A device engine run by the loop raises an interrupt: its handler runs right
// there, on the loop thread, before raise() returns.
TEST(EventLoopTest, Callback_RaisedInterruptRunsOnLoopThread)
{
    class Handler final : public IrqAction {
    public:
        Handler(Module& owner, std::atomic<bool>& on_loop, EventLoop& loop)
            : IrqAction(owner, "engine-handler", nullptr)
            , m_on_loop(on_loop)
            , m_loop(loop)
        {
        }
        nk_irqreturn_t handle(uint32_t) override
        {
            m_on_loop = m_loop.on_loop_thread();
            m_handled++;
            return NK_IRQ_HANDLED;
        }
        std::atomic<int> m_handled { 0 };

    private:
        std::atomic<bool>& m_on_loop;
        EventLoop& m_loop;
    };

    test::ModuleHolder modules;
    auto loop = make_loop();
    IrqController irqs;
    auto irq = irqs.allocate_line("engine:0");
    std::atomic<bool> handler_on_loop { false };
    auto handler = std::make_unique<Handler>(modules.module(), handler_on_loop, *loop);
    auto* raw_handler = handler.get();
    ASSERT_TRUE(irqs.request(irq, std::move(handler)).has_value());
    std::atomic<int> handled_when_raise_returned { -1 };
    Event done;
    auto engine = loop->timer("engine", [&](uint64_t) {
        irqs.raise(irq);
        handled_when_raise_returned = raw_handler->m_handled.load();
        done.set();
    });
    ASSERT_TRUE(engine.has_value());
    ASSERT_TRUE((*engine)->start_timer(0ns, 0ns).has_value());
    ASSERT_TRUE(done.wait());
    EXPECT_EQ(handled_when_raise_returned.load(), 1);
    EXPECT_TRUE(handler_on_loop.load());
    ASSERT_TRUE(irqs.free(irq, nullptr).has_value());
}

// ---- Errors ----

// Bad arguments get errors that say what was wrong and name the source.
TEST(EventLoopTest, Errors_BadArguments)
{
    auto loop = make_loop();
    auto expect_error = [](auto const& result, ErrorCode code, std::string const& mention) {
        ASSERT_FALSE(result.has_value()) << mention;
        EXPECT_EQ(result.error().code(), code) << result.error().message();
        EXPECT_NE(result.error().message().find(mention), std::string::npos) << result.error().message();
    };

    expect_error(loop->watch_fd("negative", -1, [] { }), ErrorCode::InvalidArgument, "negative");

    int fds[2];
    ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
    close(fds[0]);
    close(fds[1]);
    expect_error(loop->watch_fd("closed", fds[0], [] { }), ErrorCode::InvalidArgument, "not open");

    FILE* file = tmpfile();
    ASSERT_NE(file, nullptr);
    expect_error(loop->watch_fd("regular-file", fileno(file), [] { }), ErrorCode::InvalidArgument, "regular-file");
    fclose(file);

    TestEventFd efd;
    expect_error(loop->watch_fd("no-callback", efd.fd(), {}), ErrorCode::InvalidArgument, "no-callback");
    expect_error(loop->timer("no-callback", {}), ErrorCode::InvalidArgument, "no-callback");

    auto fd_source = loop->watch_fd("fd", efd.fd(), [] { });
    ASSERT_TRUE(fd_source.has_value());
    expect_error((*fd_source)->start_timer(1ms, 1ms), ErrorCode::InvalidArgument, "start_timer");

    auto timer = loop->timer("unscheduled", [](uint64_t) { });
    ASSERT_TRUE(timer.has_value());
    expect_error((*timer)->start(), ErrorCode::FailedPrecondition, "unscheduled");
    EXPECT_FALSE((*timer)->started());
    expect_error((*timer)->start_timer(-1ms, 0ns), ErrorCode::InvalidArgument, "negative");
    expect_error((*timer)->start_timer(1ms, -1ns), ErrorCode::InvalidArgument, "negative");
    EXPECT_FALSE((*timer)->started());
    // Still never given a schedule: the failed start_timer calls did not count.
    expect_error((*timer)->start(), ErrorCode::FailedPrecondition, "unscheduled");

    // One descriptor, two sources: the second cannot start while the first is started.
    auto second = loop->watch_fd("second", efd.fd(), [] { });
    ASSERT_TRUE(second.has_value());
    ASSERT_TRUE((*fd_source)->start().has_value());
    expect_error((*second)->start(), ErrorCode::AlreadyExists, "second");
    (*fd_source)->stop();
    EXPECT_TRUE((*second)->start().has_value());
}

} // namespace
} // namespace nk
