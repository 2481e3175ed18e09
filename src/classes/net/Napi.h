// SPDX-License-Identifier: MIT
#pragma once

// A NAPI context (nk_napi): an interrupt schedules it, a softirq polls the
// driver with a budget, and the driver completes it when it did less than
// its budget (then unmasks the NIC's interrupts). Semantics of Linux's
// napi_schedule / napi_complete_done:
//
//   - schedule() while disabled or already scheduled does nothing; a
//     schedule() while a poll runs is remembered ("missed") and makes the
//     poll run once more, so a frame that arrived as the driver completed is
//     never left waiting for an interrupt that will not come.
//   - The poll runs as a softirq of the thread that scheduled it (after its
//     outermost crossing into the driver returns, so never inside the
//     interrupt handler), in atomic context, never concurrently with itself.
//   - A poll that returns its whole budget is called again at once; after
//     256 such polls in a row it yields (the other softirqs of its thread
//     run) and is polled again, still scheduled: it never completes on the
//     driver's behalf, whose interrupts stay masked until it does.
//   - disable() waits for a running poll and keeps new ones from starting.
//
// Lifetime: owned by its net device, which lives (dead, once unregistered)
// until the net layer is destroyed; queued softirqs may name a context after
// its device died, and find it disabled. A deleted context (nk_napi_del) is
// retired, not freed (a softirq queued on another thread may still name it):
// the device's next nk_napi_add takes it again, so a driver that adds its
// context at open and deletes it at stop keeps one, however often it cycles.

#include "base/Error.h"
#include "base/Mutex.h"

#include <nooks/net.h>

#include <memory>
#include <string>

namespace nk {

class Napi;
class NetDevice;

// How a context reaches the driver's poll function (native: a call;
// isolated: a crossing). poll() returns the work done, or an error if the
// driver could not run.
class NapiPoller {
public:
    virtual ~NapiPoller() = default;
    virtual Result<int> poll(Napi& napi, int budget) = 0;
};

class Napi {
public:
    Napi(NetDevice& device, std::unique_ptr<NapiPoller> poller, int weight);
    Napi(Napi const&) = delete;
    Napi& operator=(Napi const&) = delete;

    NetDevice& device() const { return m_device; }
    int weight() const { return m_weight; }

    void enable();
    // With `wait`, waits for a running poll (then it must not be called from
    // the poll itself); without, a running poll finishes on its own.
    void disable(bool wait = true);
    void schedule();
    // nk_napi_del: disabled, a running poll waited for, then free to be taken again.
    void retire();
    // Its driver failed: disabled and free to be taken again by the device's
    // next driver (a shadow keeps the device), without waiting for a poll
    // that runs into the failed driver now (it ends on its own; until it
    // has, the context is not taken).
    void abandon();
    // Takes a retired, idle context for a new nk_napi_add (taking `poller`
    // from the caller); false, leaving `poller` alone, if it is not one.
    bool reuse(std::unique_ptr<NapiPoller>& poller, int weight);
    // From the poll: true if the driver should unmask its interrupts now.
    bool complete_done(int work_done);

    struct Stats {
        uint64_t schedules { 0 }; // schedule() calls that scheduled a poll
        uint64_t polls { 0 };
        uint64_t work { 0 };      // total work the polls reported
        uint64_t yields { 0 };    // a poll that kept using its whole budget let other softirqs run
    };
    Stats stats() const;
    // "enabled scheduled" and the like, for logs.
    std::string describe() const;

    nk_napi* handle() { return reinterpret_cast<nk_napi*>(this); }
    static Napi& from_handle(nk_napi* napi) { return *reinterpret_cast<Napi*>(napi); }

private:
    static void run_softirq(void* napi);
    void run();

    NetDevice& m_device;
    // Replaced only by reuse(), under m_mutex while retired and idle: a poll
    // reads them after it marked itself running.
    std::unique_ptr<NapiPoller> m_poller;
    int m_weight;
    bool m_retired NK_GUARDED_BY(m_mutex) { false };

    mutable Mutex m_mutex;
    ConditionVariable m_idle;
    bool m_enabled NK_GUARDED_BY(m_mutex) { false };
    bool m_scheduled NK_GUARDED_BY(m_mutex) { false };
    bool m_running NK_GUARDED_BY(m_mutex) { false };
    bool m_missed NK_GUARDED_BY(m_mutex) { false };
    bool m_completed NK_GUARDED_BY(m_mutex) { false };
    Stats m_stats NK_GUARDED_BY(m_mutex);
};

} // namespace nk
