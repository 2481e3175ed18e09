// SPDX-License-Identifier: MIT
#pragma once

// The report of a nooks-bench-net run: per workload, each mode's median over
// the repetitions (with its range), its ratio to native, the CPU the kernel
// and the domain spent (percent of a CPU, and per MB or per request, with
// its ratio to native), the crossing rate, and the veth ceiling. Markdown for
// people, JSON with every sample for tools.

#include "../block/Machine.h"
#include "NetBench.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace nk::bench {

struct NetRunInfo {
    MachineInfo machine;
    std::string command_line;
    double seconds { 0 }; // the whole run
};

std::string net_report_markdown(NetBenchOptions const& options, NetRunInfo const& info, std::vector<NetBoot> const& boots);
nlohmann::json net_report_json(NetBenchOptions const& options, NetRunInfo const& info, std::vector<NetBoot> const& boots);

} // namespace nk::bench
