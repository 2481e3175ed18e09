// SPDX-License-Identifier: MIT
#pragma once

// Kernel timers (nk_timer): one-shot callbacks run on the kernel's timer
// thread, in atomic context, one at a time.
//
// Lifetime: a Timer is created by the kernel on a driver's behalf and lives
// until destroy(). Arming is "by meaning": a timer is pending from mod() until
// it fires or is deleted, which is what the object tracker records.
//
// Thread-safety: every method may be called from any thread, including from a
// timer callback (mod() of its own timer re-arms it; del_sync() of its own
// timer does not wait for itself).

#include "base/Clock.h"
#include "base/Mutex.h"
#include "base/ThreadAnnotations.h"

#include <cstdint>
#include <memory>
#include <set>
#include <thread>

namespace nk {

class Module;

// Where a timer's expiry goes: a driver callback, directly or across a domain.
class TimerCallback {
public:
    virtual ~TimerCallback() = default;
    virtual void fire() = 0;
};

class Timer;

class TimerService {
public:
    TimerService();
    ~TimerService();
    TimerService(TimerService const&) = delete;
    TimerService& operator=(TimerService const&) = delete;

    Timer* create(Module& owner, std::unique_ptr<TimerCallback> callback);
    // Arms `timer` to fire `delay_ms` from now. Returns true if it was already pending.
    bool mod(Timer& timer, uint32_t delay_ms);
    // Disarms and waits for a running callback. Returns true if it was pending.
    bool del_sync(Timer& timer);
    // Disarms, waits, frees.
    void destroy(Timer& timer);

    bool is_pending(Timer const& timer) const;
    size_t timer_count() const;

private:
    void run();

    struct Order {
        bool operator()(Timer const* a, Timer const* b) const;
    };

    mutable Mutex m_mutex;
    ConditionVariable m_changed;
    std::set<Timer*, Order> m_armed NK_GUARDED_BY(m_mutex);
    std::set<std::unique_ptr<Timer>> m_timers NK_GUARDED_BY(m_mutex);
    Timer* m_running NK_GUARDED_BY(m_mutex) { nullptr };
    uint64_t m_sequence NK_GUARDED_BY(m_mutex) { 0 };
    bool m_stopping NK_GUARDED_BY(m_mutex) { false };
    std::thread::id m_thread_id;
    std::jthread m_thread;
};

class Timer {
public:
    Module& owner() const { return m_owner; }

private:
    friend class TimerService;
    Timer(Module& owner, std::unique_ptr<TimerCallback> callback)
        : m_owner(owner)
        , m_callback(std::move(callback))
    {
    }
    Module& m_owner;
    std::unique_ptr<TimerCallback> m_callback;
    // Under the service's m_mutex (a Timer does not know its service, so no NK_GUARDED_BY).
    uint64_t m_expires_ns { 0 };
    uint64_t m_sequence { 0 }; // tie-break for equal expiry
    bool m_armed { false };
};

} // namespace nk
