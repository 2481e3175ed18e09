// SPDX-License-Identifier: MIT
#pragma once

// One mode of the recovery benchmark: boots `nooks run` in that mode, starts
// the I/O probe on its disk file, then injects the faults one after another
// (each on the driver's next queue_rq, through the control socket, as an
// operator would), waiting for the driver to be live again and the I/O to be
// steady before the next. Returns what the application saw and the kernel's
// own recovery records.

#include "base/Error.h"
#include "recovery/IoProbe.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

namespace nk::bench {

struct FaultRunOptions {
    std::string nooks_binary;
    std::string driver;    // the disk driver .so every mode loads
    std::string mode;      // nooks or shadow
    std::string work_dir;  // created and removed by the caller
    std::string image_dir; // where the disk image goes
    std::vector<std::string> faults; // one injection each, in this order
    unsigned threads { 2 };
    unsigned settle_ms { 300 }; // steady I/O before the first fault and after each recovery
    unsigned livelock_ms { 1000 };
};

struct InjectedFault {
    std::string fault;
    uint64_t armed_ns { 0 };     // the control socket accepted the injection
    uint64_t recovered_ns { 0 }; // the benchmark saw the driver live again (0: it did not)
};

struct FaultRunResult {
    std::string mode;
    std::vector<InjectedFault> faults;
    std::vector<IoOperation> operations;
    nlohmann::json failures; // the kernel's `failures` reply: records with stages
    std::string kernel_log;
};

using ProgressFn = std::function<void(std::string const&)>;

Result<FaultRunResult> run_faults(FaultRunOptions const& options, ProgressFn const& progress);

} // namespace nk::bench
