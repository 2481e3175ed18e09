// SPDX-License-Identifier: MIT
// nooks-bench-block: the block path under fio, for every requested isolation
// mode in one run. Each repetition boots a kernel (`nooks run`) once per mode,
// in rotating order, and runs the same fio jobs on the FUSE disk file and on
// ext4 over a loop device; the report compares the modes by their ratios.

#include "BenchOptions.h"
#include "Fio.h"
#include "Interrupts.h"
#include "KernelLauncher.h"
#include "Machine.h"
#include "Progress.h"
#include "Report.h"
#include "Results.h"
#include "Session.h"
#include "base/ScopeGuard.h"
#include "base/Units.h"
#include "harness/Command.h"
#include "harness/KernelProcess.h"
#include "system/Config.h"
#include "system/System.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace nk::bench {

namespace {

int fail(std::string const& message) { return report_failure("nooks-bench-block", message); }


// Raw flag values, turned into BenchOptions by build_options().
struct Flags {
    std::string modes { "native" };
    std::string targets { "fuse,ext4" };
    std::string workloads;
    std::string size { "256MiB" };
    std::string disk_size { "1GiB" };
};

Result<void> build_options(Flags const& flags, BenchOptions& options)
{
    options.modes = split_list(flags.modes);
    options.targets.clear();
    for (auto const& name : split_list(flags.targets))
        options.targets.push_back(TRY(parse_target(name)));
    options.workloads = split_list(flags.workloads);
    options.size = TRY(parse_size(flags.size));
    options.disk_size = TRY(parse_size(flags.disk_size));
    if (options.driver.empty())
        options.driver = resolve_driver_path("nkdisk.so");
    std::error_code error;
    options.driver = std::filesystem::absolute(options.driver, error).lexically_normal().string();
    return validate(options);
}

// Everything that can be checked before touching the system.
Result<std::string> check_environment(BenchOptions const& options)
{
    for (auto const* program : { "fio", "mkfs.ext4" }) {
        if (!harness::have_program(program))
            return make_error(ErrorCode::FailedPrecondition, "{} is not installed (scripts/install-deps.sh installs it)", program);
    }
    TRY(check_fuse_device());
    auto nooks = harness::find_nooks_binary();
    if (::access(nooks.c_str(), X_OK) != 0)
        return make_error(ErrorCode::NotFound, "no nooks binary at {} (build it: cmake --build --preset release)", nooks);
    TRY(check_driver_file(options.driver));
    if (!options.image_dir.empty()) {
        struct statvfs space { };
        if (::statvfs(options.image_dir.c_str(), &space) != 0)
            return errno_error(fmt::format("--image-dir {}", options.image_dir));
        auto available = static_cast<uint64_t>(space.f_bavail) * space.f_frsize;
        if (available < options.disk_size + (64ull << 20))
            return make_error(ErrorCode::ResourceExhausted, "--image-dir {} has {} free, the disk image needs {}", options.image_dir,
                format_size(available), format_size(options.disk_size));
    }
    return nooks;
}

Result<std::string> make_temp_dir(std::string const& parent)
{
    auto pattern = parent + "/nooks-bench-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr)
        return errno_error(fmt::format("create a temporary directory in {}", parent));
    return pattern;
}

// Removes a temporary directory, but never through a mount point: anything
// still mounted below it (only after a failure) is detached first.
void remove_temp_dir(std::string const& dir)
{
    std::vector<std::string> mounted;
    std::ifstream mounts("/proc/mounts");
    std::string device, target, rest;
    while (mounts >> device >> target && std::getline(mounts, rest)) {
        if (target.rfind(dir + "/", 0) == 0)
            mounted.push_back(target);
    }
    // Deepest first: ext4 inside a work directory before anything above it.
    std::ranges::sort(mounted, [](auto const& a, auto const& b) { return a.size() > b.size(); });
    for (auto const& path : mounted) {
        std::fprintf(stderr, "nooks-bench-block: warning: %s was still mounted; detaching it\n", path.c_str());
        ::umount2(path.c_str(), MNT_DETACH);
    }
    std::error_code error;
    std::filesystem::remove_all(dir, error);
    if (error)
        std::fprintf(stderr, "nooks-bench-block: warning: cannot remove %s: %s\n", dir.c_str(), error.message().c_str());
}

Result<void> write_file(std::string const& path, std::string const& text)
{
    std::error_code error;
    auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty())
        std::filesystem::create_directories(parent, error);
    std::ofstream file(path, std::ios::trunc);
    file << text;
    file.close();
    if (!file)
        return make_error(ErrorCode::FailedPrecondition, "cannot write {}", path);
    return {};
}

// The modes of one repetition: those still in play, rotated by one position
// per repetition so that no mode always runs first (or right after another).
std::vector<std::string> repetition_order(BenchResults const& results, unsigned repetition)
{
    std::vector<std::string> order;
    for (auto const& status : results.modes) {
        if (status.available)
            order.push_back(status.mode);
    }
    if (!order.empty())
        std::ranges::rotate(order, order.begin() + static_cast<long>((repetition - 1) % order.size()));
    return order;
}

int run(BenchOptions const& options)
{
    if (::geteuid() != 0)
        return fail("must run as root: it mounts FUSE and ext4 and attaches loop devices (run it with sudo)");
    auto nooks = check_environment(options);
    if (!nooks)
        return fail(nooks.error().message());

    // Before any thread exists, so that every thread inherits the blocked signals.
    Interrupts interrupts;
    Progress progress;

    auto work_dir = make_temp_dir("/tmp");
    if (!work_dir)
        return fail(work_dir.error().message());
    auto image_dir = options.image_dir.empty() ? work_dir : make_temp_dir(options.image_dir);
    if (!image_dir) {
        remove_temp_dir(*work_dir);
        return fail(image_dir.error().message());
    }
    ScopeGuard cleanup([&] {
        if (*image_dir != *work_dir)
            remove_temp_dir(*image_dir);
        if (options.keep)
            std::printf("kept %s (kernel logs and fio reports)\n", work_dir->c_str());
        else
            remove_temp_dir(*work_dir);
    });

    BenchResults results;
    results.machine = describe_machine();
    for (auto const& mode : options.modes)
        results.modes.push_back({ .mode = mode });

    SessionContext context { .options = options, .workloads = {}, .work_dir = *work_dir, .image_dir = *image_dir,
        .nooks_binary = *nooks, .interrupts = interrupts, .progress = progress };
    for (auto const& workload : all_workloads()) {
        if (options.workloads.empty() || std::ranges::find(options.workloads, workload.id) != options.workloads.end())
            context.workloads.push_back(&workload);
    }

    auto jobs = options.targets.size() * context.workloads.size();
    auto per_boot = static_cast<double>(jobs) * (options.runtime_s + options.warmup_s + 0.3) + 2.0 * static_cast<double>(options.targets.size());
    std::printf("nooks-bench-block: %zu mode(s) x %u repetition(s) x %zu job(s); about %.0f s if every mode boots\n", options.modes.size(),
        options.repetitions, jobs, per_boot * static_cast<double>(options.modes.size() * options.repetitions));
    std::printf("  fio %s, engine %s, iodepth %u, numjobs %u, %u s per job after %u s warm-up, working set %s\n",
        results.machine.fio_version.c_str(), options.ioengine.c_str(), options.iodepth, options.numjobs, options.runtime_s,
        options.warmup_s, format_size(options.size).c_str());
    std::printf("  work directory %s, disk images in %s\n", work_dir->c_str(), image_dir->c_str());
    // Lags a minute behind; the report measures the other load during the run exactly.
    if (results.machine.load_average >= 1.0)
        std::printf("  warning: load average %.2f: other work on this machine will distort the numbers\n", results.machine.load_average);
    std::fflush(stdout);

    auto cpu_at_start = cpu_snapshot();
    std::set<std::string> booted;
    bool failures = false;
    for (unsigned repetition = 1; repetition <= options.repetitions && !interrupts.requested(); ++repetition) {
        for (auto const& mode : repetition_order(results, repetition)) {
            if (interrupts.requested())
                break;
            auto run = run_session(context, mode, repetition);
            if (run.status == RunStatus::Ok)
                booted.insert(mode);
            if (run.status == RunStatus::Rejected && !booted.contains(mode)) {
                // `nooks run` does not support this mode: say so once and go on with the others.
                for (auto& status : results.modes) {
                    if (status.mode == mode) {
                        status.available = false;
                        status.error = run.error;
                    }
                }
                progress.line("mode {} not available: {}", mode, run.error);
            } else if (run.status != RunStatus::Ok) {
                failures = failures || run.status != RunStatus::Interrupted;
                progress.line("rep {}/{} {}: {}: {}", repetition, options.repetitions, mode, run_status_name(run.status), run.error);
            }
            results.runs.push_back(std::move(run));
        }
    }
    results.total_seconds = progress.elapsed_seconds();
    results.other_load = other_load(cpu_at_start, cpu_snapshot(), results.total_seconds);

    if (interrupts.requested()) {
        std::printf("interrupted after %.0f s: no report written\n", results.total_seconds);
        return 130;
    }
    std::fputs(text_report(results, options).c_str(), stdout);
    std::fflush(stdout);

    int status = failures || results.available_modes().empty() ? 1 : 0;
    if (!options.output_markdown.empty()) {
        if (auto written = write_file(options.output_markdown, markdown_report(results, options)); !written)
            status = fail(written.error().message());
        else
            std::printf("wrote %s\n", options.output_markdown.c_str());
    }
    if (!options.output_json.empty()) {
        if (auto written = write_file(options.output_json, results_json(results, options).dump(2) + "\n"); !written)
            status = fail(written.error().message());
        else
            std::printf("wrote %s\n", options.output_json.c_str());
    }
    return status;
}

} // namespace

} // namespace nk::bench

int main(int argc, char** argv)
{
    using namespace nk::bench;
    BenchOptions options;
    Flags flags;
    CLI::App app { "nooks-bench-block: fio on the nooks block path (FUSE disk file, and ext4 on a loop device), per isolation mode" };
    app.add_option("--modes", flags.modes, "Comma-separated modes to compare in one run: native, nooks, shadow (default: native)");
    app.add_option("-r,--repetitions", options.repetitions, "Boots per mode; modes alternate between repetitions (default: 3)");
    app.add_option("--runtime", options.runtime_s, "Seconds of each measured fio run (default: 3)");
    app.add_option("--ramp", options.warmup_s, "Seconds of unmeasured warm-up before each measured run, 0 for none (default: 1)");
    app.add_option("--targets", flags.targets, "Comma-separated: fuse (the disk file), ext4 (file system on a loop device) (default: both)");
    app.add_option("--workloads", flags.workloads, "Comma-separated subset of: " + workload_ids() + " (default: all)");
    app.add_option("--size", flags.size, "Working set of each job (default: 256MiB)");
    app.add_option("--disk-size", flags.disk_size, "Size of the emulated disk, at least twice --size (default: 1GiB)");
    app.add_option("--ioengine", options.ioengine, "fio engine (default: psync)")->check(CLI::IsMember({ "psync", "sync", "pvsync", "libaio", "io_uring" }));
    app.add_option("--iodepth", options.iodepth, "fio iodepth, for libaio or io_uring (default: 1)");
    app.add_option("--numjobs", options.numjobs, "fio processes per job, reported together (default: 1)");
    app.add_option("--driver", options.driver, "Disk driver every mode loads (default: nkdisk.so built with nooks)");
    app.add_option("--fuse-threads", options.fuse_threads, "FUSE worker threads of the kernel (default: the kernel's default)");
    app.add_option("--kernel-config", options.kernel_config, "A config file every kernel boots with (e.g. an [isolation] table); the bench's own flags override it")
        ->check(CLI::ExistingFile);
    app.add_option("--image-dir", options.image_dir,
        "Directory for the disk images; a RAM file system keeps the host disk out of the numbers (default: /dev/shm; empty: the work directory)");
    app.add_option("--output", options.output_markdown, "Write a Markdown report to this file");
    app.add_option("--json", options.output_json, "Write the raw numbers as JSON to this file");
    app.add_flag("--keep", options.keep, "Keep the work directory (kernel logs, fio JSON reports)");
    try {
        app.parse(argc, argv);
    } catch (CLI::ParseError const& error) {
        return app.exit(error);
    }
    options.command_line = quoted_arguments(argc, argv);
    if (auto built = build_options(flags, options); !built)
        return fail(built.error().message());
    return run(options);
}
