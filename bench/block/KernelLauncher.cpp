// SPDX-License-Identifier: MIT
#include "KernelLauncher.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace nk::bench {

std::expected<std::unique_ptr<harness::KernelProcess>, BootFailure> start_kernel(KernelBoot const& boot)
{
    std::vector<std::string> args { "--mode", boot.mode, "--mount", boot.mount_dir, "--control", boot.control, "--disk", boot.image,
        "--disk-size", std::to_string(boot.disk_size), "--driver", boot.driver };
    if (!boot.config.empty()) {
        args.push_back("--config");
        args.push_back(boot.config);
    }
    if (boot.fuse_threads != 0) {
        args.push_back("--fuse-threads");
        args.push_back(std::to_string(boot.fuse_threads));
    }
    auto started = harness::KernelProcess::start({ .nooks_binary = boot.nooks_binary, .args = args, .log_path = boot.log_path });
    if (started)
        return std::move(*started);

    // start() reports "exited before it was ready" as FailedPrecondition; a
    // timeout or a failure to spawn is not the kernel refusing the mode.
    BootFailure failure;
    failure.rejected = started.error().code() == ErrorCode::FailedPrecondition;
    failure.message = kernel_error_line(boot.log_path);
    if (failure.message.empty())
        failure.message = started.error().message();
    return std::unexpected(std::move(failure));
}

std::string kernel_error_line(std::string const& log_path)
{
    std::ifstream log(log_path);
    std::string line;
    std::string found;
    static constexpr std::string_view marker = "error: ";
    while (std::getline(log, line)) {
        if (auto at = line.find(marker); at != std::string::npos)
            found = line.substr(at + marker.size());
    }
    return found;
}

} // namespace nk::bench
