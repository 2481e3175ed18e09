// SPDX-License-Identifier: MIT
#pragma once

// Turns the runs of the recovery benchmark into numbers: per recovery stage
// and mode, the median and longest duration over the injected faults; per
// mode, the longest I/O stall the application saw around each failure (an
// operation in flight at any moment between the injection and the driver
// being live again, or started in that span) and the errors it got, next to
// its latency in steady state. Rendered as Markdown and as JSON.

#include "recovery/FaultRun.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace nk::bench {

struct StageTimes {
    std::string stage;
    std::vector<double> ms; // one per failure that went through the stage
};

// One injected fault, matched with the failure the kernel recorded for it.
struct FaultRow {
    std::string fault;
    std::string cause;        // how the kernel detected it ("livelock": by the timeout)
    double recovery_ms { 0 }; // detection to live again
    double stall_ms { 0 };    // the longest operation around it, detection delay included
};

struct ModeSummary {
    std::string mode;
    unsigned faults { 0 };
    unsigned records { 0 };               // failures the kernel recorded
    std::vector<StageTimes> stages;       // in the order recovery runs them
    std::vector<double> recovery_ms;      // detection to the driver live again (the kernel's own timing)
    std::vector<double> stall_ms;         // the longest operation around each failure
    std::vector<FaultRow> rows;           // per fault, in injection order
    uint64_t errors_around_failures { 0 };
    uint64_t errors_elsewhere { 0 };
    uint64_t operations { 0 };
    double steady_p50_ms { 0 };
    double steady_p99_ms { 0 };
};

ModeSummary summarize(FaultRunResult const& run);

// `livelock_ms`: the kernel's livelock timeout, which bounds how late a hang is detected.
std::string markdown_report(std::vector<ModeSummary> const& modes, std::string const& command, std::string const& machine, unsigned livelock_ms);
nlohmann::json json_report(std::vector<ModeSummary> const& modes);

double median(std::vector<double> values);
double maximum(std::vector<double> const& values);

} // namespace nk::bench
