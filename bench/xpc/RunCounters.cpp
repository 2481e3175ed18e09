// SPDX-License-Identifier: MIT
// Scheduler and XPC counters around a benchmark's timed loop.

#include "RunCounters.h"

#include <cstdlib>
#include <fstream>
#include <string>

namespace nk::bench {

std::optional<ThreadSchedCounts> read_thread_sched()
{
    std::ifstream file("/proc/thread-self/sched");
    if (!file)
        return std::nullopt;
    ThreadSchedCounts counts;
    int found = 0;
    std::string line;
    while (std::getline(file, line)) {
        auto colon = line.find(':');
        if (colon == std::string::npos)
            continue;
        auto key = line.substr(0, line.find_first_of(" \t"));
        auto value = std::strtoull(line.c_str() + colon + 1, nullptr, 10);
        if (key == "se.nr_migrations") {
            counts.migrations = value;
            ++found;
        } else if (key == "nr_voluntary_switches") {
            counts.voluntary_switches = value;
            ++found;
        }
    }
    if (found != 2)
        return std::nullopt;
    return counts;
}

RunCounters::RunCounters(IsolatedModule const* module)
    : m_module(module)
    , m_sched(read_thread_sched())
    , m_xpc(module != nullptr ? module->xpc_stats() : XpcEndpoint::Stats {})
{
}

void RunCounters::report(benchmark::State& state) const
{
    using benchmark::Counter;
    auto per_iteration = [](uint64_t count) { return Counter(static_cast<double>(count), Counter::kAvgIterations); };
    if (auto sched = read_thread_sched(); sched && m_sched) {
        state.counters["migrations"] = per_iteration(sched->migrations - m_sched->migrations);
        state.counters["sleeps"] = per_iteration(sched->voluntary_switches - m_sched->voluntary_switches);
    }
    if (m_module == nullptr)
        return;
    auto xpc = m_module->xpc_stats();
    state.counters["crossings"] = per_iteration(xpc.calls - m_xpc.calls + xpc.kernel_calls - m_xpc.kernel_calls);
    state.counters["xpc_wakeups"] = per_iteration(xpc.wakeups - m_xpc.wakeups);
    state.counters["xpc_waits"] = per_iteration(xpc.waits - m_xpc.waits);
}

} // namespace nk::bench
