// SPDX-License-Identifier: MIT
#include "kernel/time/TimerService.h"

#include <ctime>
#include <pthread.h>

namespace nk {

bool TimerService::Order::operator()(Timer const* a, Timer const* b) const
{
    if (a->m_expires_ns != b->m_expires_ns)
        return a->m_expires_ns < b->m_expires_ns;
    return a->m_sequence < b->m_sequence;
}

TimerService::TimerService()
{
    m_thread = std::jthread([this] { run(); });
    m_thread_id = m_thread.get_id();
}

TimerService::~TimerService()
{
    {
        MutexLocker lock(m_mutex);
        m_stopping = true;
    }
    m_changed.notify_all();
    m_thread.join();
}

Timer* TimerService::create(Module& owner, std::unique_ptr<TimerCallback> callback)
{
    MutexLocker lock(m_mutex);
    auto timer = std::unique_ptr<Timer>(new Timer(owner, std::move(callback)));
    auto* raw = timer.get();
    m_timers.insert(std::move(timer));
    return raw;
}

bool TimerService::mod(Timer& timer, uint32_t delay_ms)
{
    MutexLocker lock(m_mutex);
    bool was_pending = timer.m_armed;
    if (was_pending)
        m_armed.erase(&timer);
    timer.m_expires_ns = monotonic_ns() + uint64_t(delay_ms) * 1'000'000ull;
    timer.m_sequence = ++m_sequence;
    timer.m_armed = true;
    m_armed.insert(&timer);
    m_changed.notify_all();
    return was_pending;
}

bool TimerService::del_sync(Timer& timer)
{
    MutexLocker lock(m_mutex);
    bool was_pending = timer.m_armed;
    // A running callback may re-arm its own timer: disarm until it is neither
    // pending nor running (as Linux's del_timer_sync does).
    for (;;) {
        if (timer.m_armed) {
            m_armed.erase(&timer);
            timer.m_armed = false;
        }
        if (std::this_thread::get_id() == m_thread_id || m_running != &timer)
            break;
        m_changed.wait(lock, [&]() NK_REQUIRES(m_mutex) { return m_running != &timer; });
    }
    return was_pending;
}

void TimerService::destroy(Timer& timer)
{
    del_sync(timer);
    MutexLocker lock(m_mutex);
    if (timer.m_armed) {
        m_armed.erase(&timer);
        timer.m_armed = false;
    }
    for (auto it = m_timers.begin(); it != m_timers.end(); ++it) {
        if (it->get() == &timer) {
            m_timers.erase(it);
            return;
        }
    }
}

bool TimerService::is_pending(Timer const& timer) const
{
    MutexLocker lock(m_mutex);
    return timer.m_armed;
}

size_t TimerService::timer_count() const
{
    MutexLocker lock(m_mutex);
    return m_timers.size();
}

void TimerService::run()
{
    pthread_setname_np(pthread_self(), "nk-timer");
    MutexLocker lock(m_mutex);
    while (!m_stopping) {
        if (m_armed.empty()) {
            m_changed.wait(lock);
            continue;
        }
        auto* next = *m_armed.begin();
        auto now = monotonic_ns();
        if (next->m_expires_ns > now) {
            m_changed.wait_for(lock, std::chrono::nanoseconds(next->m_expires_ns - now));
            continue;
        }
        m_armed.erase(m_armed.begin());
        next->m_armed = false;
        m_running = next;
        lock.unlock();
        next->m_callback->fire();
        lock.lock();
        m_running = nullptr;
        m_changed.notify_all();
    }
}

} // namespace nk
