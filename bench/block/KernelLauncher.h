// SPDX-License-Identifier: MIT
#pragma once

// Boots `nooks run` for one mode. KernelProcess starts it in its own process
// group, so a Ctrl-C typed on the terminal reaches only the benchmark, which
// keeps the teardown order (loop device before the kernel's FUSE mount).

#include "base/Error.h"
#include "harness/KernelProcess.h"

#include <cstdint>
#include <memory>
#include <string>

namespace nk::bench {

struct KernelBoot {
    std::string nooks_binary;
    std::string mode;
    std::string mount_dir;
    std::string image;
    uint64_t disk_size { 0 };
    std::string driver;
    unsigned fuse_threads { 0 };
    std::string config; // `nooks run --config`; empty: none (the flags above override it)
    std::string log_path;
    std::string control; // the kernel's control socket (in the run's own directory)
};

// Why a kernel did not come up.
struct BootFailure {
    bool rejected { false }; // `nooks run` exited before ready: it refused this configuration
    std::string message;     // the kernel's own error line when it printed one
};

// Starts the kernel and waits for its `ready` line.
std::expected<std::unique_ptr<harness::KernelProcess>, BootFailure> start_kernel(KernelBoot const& boot);

// The last "error:" line `nooks run` wrote to its log, without its prefix, or empty.
std::string kernel_error_line(std::string const& log_path);

} // namespace nk::bench
