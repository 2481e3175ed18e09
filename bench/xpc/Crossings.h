// SPDX-License-Identifier: MIT
#pragma once

// The crossing benchmarks: each runs the same nktest operation on every
// target (native, process, process with the caller pinned), so the native
// numbers are the direct-call baseline of the process ones.

#include "XpcMachine.h"

#include <span>
#include <string>

namespace nk::bench {

struct CrossingTarget {
    std::string label;        // last part of the benchmark names: "native", "process", "process_pinned"
    XpcMachine* machine;      // outlives the benchmark run
    bool pin_caller { false };
};

// Register accesses the driver makes per call in the kernel_reads and posted_writes benchmarks.
constexpr uint64_t register_accesses_per_call = 64;

// One plain indirect function call: the absolute floor.
void register_floor_benchmark();

// Every crossing benchmark for every target, grouped by benchmark.
void register_crossing_benchmarks(std::span<CrossingTarget const> targets);

} // namespace nk::bench
