// SPDX-License-Identifier: MIT
#pragma once

// How one cell of the fault-tolerance table is judged, from what was observed:
// a pure function, so the rules are tested on their own.

#include "base/Error.h"
#include "tools/eval/AppEval.h"

namespace nk::eval {

struct Observed {
    bool kernel_died { false };
    std::string death;             // how the kernel ended ("killed by signal 11")
    unsigned failures { 0 };       // driver failures the kernel counted
    unsigned recoveries { 0 };
    uint64_t failed_requests { 0 };
    // The application's result, after it ran and was verified from the device.
    Result<std::string> result { std::string() };
};

// Sets cell.verdict and cell.why (and the counts) from `observed`.
void judge(Cell& cell, Observed const& observed);

} // namespace nk::eval
