// SPDX-License-Identifier: MIT
// nooks-bench-recovery: how long recovery takes and what an application sees
// of it. For each mode (nooks, shadow) in one run, boots `nooks run` with the
// same disk driver, keeps a small application doing I/O on the disk file, and
// injects faults into the driver one after another. Reports the kernel's
// timing of every recovery stage and the longest stall the application saw.

#include "block/Machine.h"
#include "block/Progress.h"
#include "harness/Interrupt.h"
#include "harness/KernelProcess.h"
#include "recovery/FaultRun.h"
#include "recovery/RecoveryReport.h"
#include "inject/Injector.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace nk::bench {

namespace {

int fail(std::string const& message)
{
    std::fprintf(stderr, "nooks-bench-recovery: error: %s\n", message.c_str());
    return 1;
}

std::vector<std::string> split(std::string const& list)
{
    std::vector<std::string> items;
    std::stringstream stream(list);
    for (std::string item; std::getline(stream, item, ',');) {
        if (!item.empty())
            items.push_back(item);
    }
    return items;
}

std::string default_driver(std::string const& nooks_binary)
{
    return (std::filesystem::path(nooks_binary).parent_path().parent_path() / "lib/nooks/drivers/nkdisk.so").string();
}

} // namespace

int main(int argc, char** argv)
{
    CLI::App app { "nooks-bench-recovery: recovery time per stage and the application's longest I/O stall, nooks and shadow mode in one run" };
    std::string modes_flag = "nooks,shadow";
    std::string faults_flag = "null-deref,panic,wild-write-kernel,forbidden-syscall,double-free,bad-param,stack-corrupt,wild-write-own,hang";
    unsigned threads = 2;
    unsigned settle_ms = 300;
    unsigned livelock_ms = 1000;
    std::string driver;
    std::string image_dir = "/dev/shm";
    std::string output;
    std::string json_output;
    bool keep = false;
    app.add_option("--modes", modes_flag, "Comma-separated modes with recovery: nooks, shadow (default: both)");
    app.add_option("--faults", faults_flag, "Comma-separated faults injected in turn, each at the driver's next queue_rq (at most 9: the built-in policy gives up on the 10th failure within a minute)");
    app.add_option("--threads", threads, "Application threads doing I/O (default: 2)")->check(CLI::Range(1u, 16u));
    app.add_option("--settle-ms", settle_ms, "Steady I/O before the first fault and after each recovery (default: 300)")->check(CLI::Range(50u, 10000u));
    app.add_option("--livelock-ms", livelock_ms, "The kernel's livelock timeout: how late a hanging driver is detected (default: 1000)")
        ->check(CLI::Range(10u, 60000u));
    app.add_option("--driver", driver, "Disk driver every mode loads (default: nkdisk.so built with nooks)");
    app.add_option("--image-dir", image_dir, "Directory for the disk images (default: /dev/shm; empty: the work directory)");
    app.add_option("--output", output, "Write a Markdown report to this file");
    app.add_option("--json", json_output, "Write the numbers as JSON to this file");
    app.add_flag("--keep", keep, "Keep the work directory (kernel logs)");
    CLI11_PARSE(app, argc, argv);

    if (::geteuid() != 0)
        return fail("needs root: the kernel mounts its disk file with FUSE");
    auto modes = split(modes_flag);
    for (auto const& mode : modes) {
        if (mode != "nooks" && mode != "shadow")
            return fail(fmt::format("--modes: '{}' has no recovery (nooks or shadow)", mode));
    }
    auto faults = split(faults_flag);
    if (faults.empty() || faults.size() > 9)
        return fail("--faults: give 1 to 9 faults");
    for (auto const& fault : faults) {
        if (auto parsed = inject::parse_fault(fault); !parsed)
            return fail(fmt::format("--faults: {}", parsed.error().message()));
    }
    auto nooks_binary = harness::find_nooks_binary();
    if (driver.empty())
        driver = default_driver(nooks_binary);
    if (!std::filesystem::exists(driver))
        return fail(fmt::format("no driver at {} (build it, or give --driver)", driver));
    if (!image_dir.empty() && !std::filesystem::is_directory(image_dir))
        return fail(fmt::format("--image-dir {} is not a directory", image_dir));
    harness::install_interrupt_handler();

    auto machine = describe_machine();
    Progress progress;
    progress.line("{} modes, {} faults each, {} I/O threads; {} CPUs, load {:.2f}", modes.size(), faults.size(), threads, machine.cpus,
        machine.load_average);
    std::vector<ModeSummary> summaries;
    for (auto const& mode : modes) {
        std::string pattern = std::filesystem::temp_directory_path().string() + "/nooks-bench-recovery-XXXXXX";
        if (::mkdtemp(pattern.data()) == nullptr)
            return fail("mkdtemp failed");
        FaultRunOptions options { .nooks_binary = nooks_binary, .driver = driver, .mode = mode, .work_dir = pattern, .image_dir = image_dir,
            .faults = faults, .threads = threads, .settle_ms = settle_ms, .livelock_ms = livelock_ms };
        auto run = run_faults(options, [&](std::string const& line) { progress.line("{}", line); });
        if (!keep) {
            std::error_code ignored;
            std::filesystem::remove_all(pattern, ignored);
        } else {
            progress.line("kept {}", pattern);
        }
        if (!run)
            return harness::interrupted() ? (std::fprintf(stderr, "interrupted\n"), 130) : fail(run.error().message());
        auto summary = summarize(*run);
        progress.line("{:<6} recovery median {:.2f} ms, max {:.2f} ms; application stall median {:.2f} ms, max {:.2f} ms; {} errors", mode,
            median(summary.recovery_ms), maximum(summary.recovery_ms), median(summary.stall_ms), maximum(summary.stall_ms),
            summary.errors_around_failures + summary.errors_elsewhere);
        summaries.push_back(std::move(summary));
    }

    std::string command = "nooks-bench-recovery";
    for (int i = 1; i < argc; ++i)
        command += std::string(" ") + argv[i];
    auto where = fmt::format("{} ({} CPUs, {}, {}), {}", machine.cpu_model, machine.cpus, machine.memory, machine.kernel, machine.date);
    auto report = markdown_report(summaries, command, where, livelock_ms);
    std::printf("\n%s", report.c_str());
    if (!output.empty())
        std::ofstream(output) << report;
    if (!json_output.empty())
        std::ofstream(json_output) << json_report(summaries).dump(2) << "\n";
    return 0;
}

} // namespace nk::bench

int main(int argc, char** argv) { return nk::bench::main(argc, argv); }
