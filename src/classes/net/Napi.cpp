// SPDX-License-Identifier: MIT
#include "classes/net/Napi.h"

#include "base/Log.h"
#include "classes/net/NetDevice.h"
#include "kernel/exec/Context.h"

namespace nk {

namespace {

// Polls in a row that used their whole budget before the context is
// completed anyway: a driver that always claims a full budget must not keep
// the thread forever.
constexpr unsigned max_polls_in_a_row = 256;

} // namespace

Napi::Napi(NetDevice& device, std::unique_ptr<NapiPoller> poller, int weight)
    : m_device(device)
    , m_poller(std::move(poller))
    , m_weight(weight)
{
}

void Napi::enable()
{
    MutexLocker lock(m_mutex);
    m_enabled = true;
}

void Napi::disable(bool wait)
{
    MutexLocker lock(m_mutex);
    m_enabled = false;
    m_scheduled = false;
    m_missed = false;
    if (wait)
        m_idle.wait(lock, [this]() NK_REQUIRES(m_mutex) { return !m_running; });
}

void Napi::retire()
{
    MutexLocker lock(m_mutex);
    m_enabled = false;
    m_scheduled = false;
    m_missed = false;
    m_idle.wait(lock, [this]() NK_REQUIRES(m_mutex) { return !m_running; });
    m_retired = true;
}

void Napi::abandon()
{
    MutexLocker lock(m_mutex);
    m_enabled = false;
    m_scheduled = false;
    m_missed = false;
    m_retired = true;
}

bool Napi::reuse(std::unique_ptr<NapiPoller>& poller, int weight)
{
    MutexLocker lock(m_mutex);
    if (!m_retired || m_running)
        return false;
    m_retired = false;
    m_poller = std::move(poller);
    m_weight = weight;
    m_stats = {};
    return true;
}

void Napi::schedule()
{
    {
        MutexLocker lock(m_mutex);
        if (!m_enabled)
            return;
        if (m_scheduled) {
            if (m_running)
                m_missed = true; // the running poll goes round once more
            return;
        }
        m_scheduled = true;
        m_stats.schedules++;
        if (m_running)
            return; // it completed already: the running poll sees it and polls again
    }
    raise_softirq(&Napi::run_softirq, this);
}

bool Napi::complete_done(int)
{
    MutexLocker lock(m_mutex);
    m_completed = true;
    if (m_missed) {
        m_missed = false;
        return false; // stays scheduled: polled again before anything is unmasked
    }
    m_scheduled = false;
    return true;
}

void Napi::run_softirq(void* napi) { static_cast<Napi*>(napi)->run(); }

void Napi::run()
{
    MutexLocker lock(m_mutex);
    if (!m_enabled || !m_scheduled || m_running)
        return;
    m_running = true;
    bool yield = false;
    for (unsigned polls = 1;; ++polls) {
        m_completed = false;
        lock.unlock();
        auto work = m_poller->poll(*this, m_weight);
        lock.lock();
        m_stats.polls++;
        if (!work || !m_enabled) {
            // The driver failed (its recovery takes over) or stop() disabled the context.
            m_scheduled = false;
            m_missed = false;
            break;
        }
        m_stats.work += static_cast<uint64_t>(*work);
        if (*work >= m_weight) {
            if (polls < max_polls_in_a_row)
                continue;
            // Under a steady flood the poll never completes: let the other
            // softirqs of this thread run, then poll again. It stays
            // scheduled (the driver keeps its interrupts masked until it
            // completes, so nothing else would ever poll it).
            m_stats.yields++;
            yield = true;
            break;
        }
        if (!m_completed) {
            // Less than the budget without nk_napi_complete_done: complete it
            // here, or it would never run again.
            m_scheduled = false;
            break;
        }
        if (!m_scheduled)
            break;
        // Completed, then scheduled again (or a schedule was missed): once more.
    }
    m_running = false;
    m_idle.notify_all();
    if (yield && m_enabled && m_scheduled) {
        lock.unlock();
        raise_softirq(&Napi::run_softirq, this); // after what this thread has queued already
    }
}

std::string Napi::describe() const
{
    MutexLocker lock(m_mutex);
    return fmt::format("napi {}{}{}{}, {} polls, {} schedules", m_retired ? "deleted" : m_enabled ? "enabled" : "disabled",
        m_scheduled ? " scheduled" : "", m_running ? " running" : "", m_missed ? " missed" : "", m_stats.polls, m_stats.schedules);
}

Napi::Stats Napi::stats() const
{
    MutexLocker lock(m_mutex);
    return m_stats;
}

} // namespace nk
