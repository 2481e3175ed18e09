// SPDX-License-Identifier: MIT
#pragma once

// What a benchmark reports besides time, read once before and once after its
// timed loop (never inside it) and reported per iteration:
//   migrations  the calling thread moved to another CPU (se.nr_migrations)
//   sleeps      the calling thread blocked (voluntary context switches)
//   crossings   XPC messages: kernel -> driver calls and driver -> kernel calls
//   xpc_wakeups futex wakes the kernel sent to a sleeping domain worker
//   xpc_waits   times the kernel slept waiting for the domain
// The XPC counters exist only for a driver in a domain. Per-thread scheduler
// counters come from /proc/thread-self/sched and are left out where the
// kernel does not provide them.

#include "nooks/module/IsolatedModule.h"

#include <benchmark/benchmark.h>

#include <optional>

namespace nk::bench {

struct ThreadSchedCounts {
    uint64_t migrations { 0 };
    uint64_t voluntary_switches { 0 };
};

// The calling thread's scheduler counters, if the kernel exposes them.
std::optional<ThreadSchedCounts> read_thread_sched();

class RunCounters {
public:
    // Snapshots now; `module` may be null (native backend).
    explicit RunCounters(IsolatedModule const* module);
    // Sets the counters of `state` from the difference to the snapshot.
    void report(benchmark::State& state) const;

private:
    IsolatedModule const* m_module;
    std::optional<ThreadSchedCounts> m_sched;
    XpcEndpoint::Stats m_xpc;
};

} // namespace nk::bench
