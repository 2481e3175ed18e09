// SPDX-License-Identifier: MIT
// `nooks demo`: the main job. Boots a kernel with a disk in a temporary place,
// puts ext4 on it through a loop device, runs real applications on it, checks
// their results, tears everything down and reports what it did.

#include "base/Clock.h"
#include "base/ScopeGuard.h"
#include "base/Units.h"
#include "cli/Commands.h"
#include "harness/Command.h"
#include "harness/KernelProcess.h"
#include "harness/LoopDevice.h"
#include "harness/Mount.h"
#include "harness/Workloads.h"
#include "system/System.h"

#include <cstdio>
#include <filesystem>
#include <functional>
#include <unistd.h>

namespace nk::cli {

namespace {

struct DemoFlags {
    std::string mode { "nooks" };
    std::string size { "256MiB" };
    std::string workdir;
    bool keep { false };
};

// Runs one step, prints "[  1.23 s] <what> ... <summary>", returns its result.
class StepPrinter {
public:
    template<typename T>
    Result<T> step(std::string const& what, std::function<Result<T>()> const& action, std::function<std::string(T const&)> const& summary)
    {
        std::printf("  %-46s", (what + " ").c_str());
        std::fflush(stdout);
        auto start = monotonic_ns();
        auto result = action();
        auto elapsed = monotonic_ns() - start;
        m_total += elapsed;
        if (result)
            std::printf("%9s  %s\n", format_duration_ns(elapsed).c_str(), summary(*result).c_str());
        else
            std::printf("%9s  FAILED\n", format_duration_ns(elapsed).c_str());
        std::fflush(stdout);
        return result;
    }
    uint64_t total() const { return m_total; }

private:
    uint64_t m_total { 0 };
};

int run(DemoFlags const& flags)
{
    if (auto root = check_privileges(); !root)
        return fail("demo", "the demo needs root: it mounts FUSE and ext4 and attaches a loop device (run it with sudo)");
    if (auto fuse = check_fuse_device(); !fuse)
        return fail("demo", fuse.error().message());
    for (auto const* program : { "mkfs.ext4", "sqlite3", "make", "gcc" }) {
        if (!harness::have_program(program))
            return fail("demo", fmt::format("{} is not installed (run `make demo`, which installs what is missing)", program));
    }
    auto size = parse_size(flags.size);
    if (!size)
        return fail("demo", size.error().message());
    auto mode = parse_mode(flags.mode);
    if (!mode)
        return fail("demo", mode.error().message());

    std::string base = flags.workdir;
    if (base.empty()) {
        char pattern[] = "/tmp/nooks-demo-XXXXXX";
        if (::mkdtemp(pattern) == nullptr)
            return fail("demo", "cannot create a temporary directory");
        base = pattern;
    }
    auto const disks = base + "/disks";
    auto const ext4 = base + "/ext4";
    std::error_code error;
    std::filesystem::create_directories(disks, error);
    std::filesystem::create_directories(ext4, error);
    ScopeGuard remove_workdir([&] {
        if (!flags.keep && flags.workdir.empty())
            std::filesystem::remove_all(base, error);
    });

    std::printf("nooks demo: real applications on ext4, on a loop device, on the nkdisk driver (%s mode)\n", mode_name(*mode));
    std::printf("  work directory %s\n\n", base.c_str());
    StepPrinter steps;

    // Teardown runs in this order on every path: ext4, then the loop device, then the kernel.
    std::unique_ptr<harness::KernelProcess> kernel;
    std::unique_ptr<harness::LoopDevice> loop;
    std::unique_ptr<harness::Mount> mount;
    ScopeGuard teardown([&] {
        mount.reset();
        loop.reset();
        kernel.reset();
    });

    auto booted = steps.step<std::unique_ptr<harness::KernelProcess>>(
        fmt::format("boot the kernel ({} mode)", mode_name(*mode)),
        [&]() {
            return harness::KernelProcess::start({ .nooks_binary = harness::find_nooks_binary(),
                .args = { "--mode", mode_name(*mode), "--mount", disks, "--control", base + "/control.sock", "--disk", base + "/disk0.img", "--disk-size", flags.size },
                .log_path = base + "/kernel.log" });
        },
        [&](auto const&) { return fmt::format("{} disk at {}/disk0", format_size(*size), disks); });
    if (!booted)
        return fail("demo", booted.error().message());
    kernel = std::move(*booted);

    auto attached = steps.step<std::unique_ptr<harness::LoopDevice>>(
        "attach a loop device (direct I/O)", [&]() { return harness::LoopDevice::attach(disks + "/disk0", true); },
        [](auto const& device) { return device->path(); });
    if (!attached)
        return fail("demo", attached.error().message());
    loop = std::move(*attached);

    auto formatted = steps.step<harness::CommandResult>(
        "mkfs.ext4", [&]() { return harness::run_checked({ "mkfs.ext4", "-q", "-F", loop->path() }); },
        [](auto const&) { return std::string("ext4 created"); });
    if (!formatted)
        return fail("demo", formatted.error().message());

    auto mounted = steps.step<std::unique_ptr<harness::Mount>>(
        "mount ext4", [&]() { return harness::Mount::mount(loop->path(), ext4, "ext4"); },
        [&](auto const&) { return ext4; });
    if (!mounted)
        return fail("demo", mounted.error().message());
    mount = std::move(*mounted);

    auto show = [](harness::WorkloadReport const& report) { return report.summary; };
    auto sqlite = steps.step<harness::WorkloadReport>("sqlite3 database with transactions", [&]() { return harness::run_sqlite(ext4); }, show);
    if (!sqlite)
        return fail("demo", sqlite.error().message());
    auto build = steps.step<harness::WorkloadReport>("make + gcc build of a C program", [&]() { return harness::run_build(ext4); }, show);
    if (!build)
        return fail("demo", build.error().message());

    auto remounted = steps.step<std::unique_ptr<harness::Mount>>(
        "unmount, drop caches, mount again",
        [&]() -> Result<std::unique_ptr<harness::Mount>> {
            TRY(mount->unmount());
            mount.reset();
            TRY(harness::drop_caches());
            return harness::Mount::mount(loop->path(), ext4, "ext4");
        },
        [](auto const&) { return std::string("everything below is read back from the disk"); });
    if (!remounted)
        return fail("demo", remounted.error().message());
    mount = std::move(*remounted);

    auto verified_db = steps.step<harness::WorkloadReport>("verify the database", [&]() { return harness::verify_sqlite(ext4); }, show);
    if (!verified_db)
        return fail("demo", verified_db.error().message());
    auto verified_build = steps.step<harness::WorkloadReport>("run the built program again", [&]() { return harness::verify_build(ext4); }, show);
    if (!verified_build)
        return fail("demo", verified_build.error().message());

    auto fsck = steps.step<harness::CommandResult>(
        "unmount and e2fsck",
        [&]() -> Result<harness::CommandResult> {
            TRY(mount->unmount());
            mount.reset();
            return harness::run_checked({ "e2fsck", "-f", "-n", loop->path() });
        },
        [](auto const&) { return std::string("file system clean"); });
    if (!fsck)
        return fail("demo", fsck.error().message());

    auto stopped = steps.step<bool>(
        "detach the loop device, stop the kernel",
        [&]() -> Result<bool> {
            TRY(loop->detach());
            loop.reset();
            TRY(kernel->stop());
            bool clean = kernel->exit_description() == "exit 0";
            kernel.reset();
            if (!clean)
                return make_error(ErrorCode::Internal, "kernel did not exit cleanly");
            return true;
        },
        [](auto const&) { return std::string("clean shutdown"); });
    if (!stopped)
        return fail("demo", stopped.error().message());

    std::printf("\nnooks demo: all steps passed in %s\n", format_duration_ns(steps.total()).c_str());
    if (flags.keep)
        std::printf("  kept %s (kernel log: %s/kernel.log)\n", base.c_str(), base.c_str());
    return 0;
}

} // namespace

void add_demo_command(CLI::App& app, int& result)
{
    auto flags = std::make_shared<DemoFlags>();
    auto* command = app.add_subcommand("demo", "Run real applications (sqlite3, make+gcc) on ext4 over a nooks disk and verify them");
    command->add_option("--mode", flags->mode, "native | nooks (default: nooks: the driver runs in a protection domain)");
    command->add_option("--size", flags->size, "Size of the demo disk (default: 256MiB)");
    command->add_option("--workdir", flags->workdir, "Directory to work in (default: a new one under /tmp, removed afterwards)");
    command->add_flag("--keep", flags->keep, "Keep the work directory and the kernel log");
    command->callback([flags, &result] { result = run(*flags); });
}

} // namespace nk::cli
