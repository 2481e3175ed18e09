// SPDX-License-Identifier: MIT
// `nooks demo`: the main job. Boots a kernel with a disk in a temporary place,
// puts ext4 on it through a loop device, runs real applications on it, checks
// their results, tears everything down and reports what it did.

#include "base/Clock.h"
#include "base/ScopeGuard.h"
#include "base/Units.h"
#include "cli/Commands.h"
#include "control/ControlServer.h"
#include "harness/Command.h"
#include "harness/Interrupt.h"
#include "harness/KernelProcess.h"
#include "harness/LoopDevice.h"
#include "harness/Mount.h"
#include "harness/Workloads.h"
#include "system/System.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <thread>
#include <unistd.h>

namespace nk::cli {

namespace {

struct DemoFlags {
    std::string mode { "shadow" };
    unsigned faults { 4 };
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

struct DemoRun {
    unsigned failures { 0 };
    unsigned recoveries { 0 };
    bool ok { true };
    std::vector<std::string> reports;
};

nlohmann::json driver_view(std::string const& control)
{
    auto reply = control_request(control, { { "command", "list" } }, std::chrono::seconds(5));
    if (!reply || !(*reply).value("ok", false) || (*reply)["modules"].empty())
        return nlohmann::json::object();
    return (*reply)["modules"][0];
}

// The three applications together, while the driver is crashed `faults` times.
Result<DemoRun> run_under_faults(std::string const& base, std::string const& ext4, std::string const& reference, unsigned faults)
{
    auto control = base + "/control.sock";
    using AppResult = Result<harness::WorkloadReport>;
    std::vector<std::pair<std::string, std::future<AppResult>>> apps;
    apps.emplace_back("sqlite3", std::async(std::launch::async, [&] { return harness::run_sqlite(ext4 + "/database", { .transactions = 400, .rows = 20 }); }));
    apps.emplace_back("make+gcc", std::async(std::launch::async, [&]() -> AppResult {
        auto built = harness::run_build(ext4 + "/compiler");
        if (built)
            TRY(harness::run_checked({ "sync", "-f", ext4 + "/compiler" }));
        return built;
    }));
    apps.emplace_back("flac", std::async(std::launch::async, [&]() -> AppResult {
        auto encoded = harness::run_encoder(ext4 + "/encoder", reference);
        if (encoded)
            TRY(harness::run_checked({ "sync", "-f", ext4 + "/encoder" }));
        return encoded;
    }));
    struct Fault {
        char const* kind;
        char const* entry;
    };
    constexpr Fault schedule[] = { { "null-deref", "blk_queue_rq" }, { "panic", "irq_handler" }, { "wild-write-own", "irq_handler" },
        { "hang", "blk_queue_rq" }, { "stack-corrupt", "blk_queue_rq" }, { "bad-param", "irq_handler" } };
    auto done = [&] { return std::ranges::all_of(apps, [](auto& app) { return app.second.wait_for(std::chrono::seconds(0)) == std::future_status::ready; }); };
    for (unsigned k = 0; k < faults && !done() && !harness::interrupted(); ++k) {
        std::this_thread::sleep_for(std::chrono::milliseconds(40));
        auto before = driver_view(control).value("failures", 0u);
        auto const& fault = schedule[k % std::size(schedule)];
        TRY(control_request(control, { { "command", "inject" }, { "driver", "nkdisk" }, { "fault", fault.kind }, { "entry", fault.entry } }));
        for (int i = 0; i < 2000 && !done() && !harness::interrupted() && driver_view(control).value("failures", 0u) <= before; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        for (int i = 0; i < 2000 && !harness::interrupted(); ++i) {
            auto view = driver_view(control);
            if (view.value("state", std::string()) == "live" && view.value("restarts", 0u) >= view.value("failures", 0u))
                break;
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }
    (void)control_request(control, { { "command", "inject" }, { "driver", "nkdisk" }, { "fault", "none" } });
    DemoRun run;
    for (auto& [name, future] : apps) {
        auto result = future.get();
        run.ok = run.ok && result.has_value();
        run.reports.push_back(result ? fmt::format("{}: {}", name, result->summary) : fmt::format("{}: FAILED: {}", name, result.error().message()));
    }
    auto view = driver_view(control);
    run.failures = view.value("failures", 0u);
    run.recoveries = view.value("restarts", 0u);
    return run;
}

void print_failures(std::string const& control)
{
    auto reply = control_request(control, { { "command", "failures" } });
    if (!reply || !(*reply).value("ok", false))
        return;
    unsigned index = 0;
    for (auto const& failure : (*reply)["failures"]) {
        std::printf("\n      failure %u: %s: %s\n", ++index, failure["cause"].get<std::string>().c_str(), failure["message"].get<std::string>().c_str());
        if (!failure["injected"].get<std::string>().empty())
            std::printf("        injected: %s\n", failure["injected"].get<std::string>().c_str());
        std::string stages;
        for (auto const& stage : failure["stages"])
            stages += fmt::format("{} {:.2f}  ", stage["stage"].get<std::string>(), stage["duration_us"].get<double>() / 1000.0);
        std::printf("        stages (ms): %s\n", stages.c_str());
        std::printf("        => %s %.2f ms after detection\n", failure["outcome"].get<std::string>().c_str(),
            failure["recovery_us"].get<double>() / 1000.0);
    }
    std::printf("\n");
}

int run(DemoFlags const& flags)
{
    harness::install_interrupt_handler();
    if (auto root = check_privileges(); !root)
        return fail("demo", "the demo needs root: it mounts FUSE and ext4 and attaches a loop device (run it with sudo)");
    if (auto fuse = check_fuse_device(); !fuse)
        return fail("demo", fuse.error().message());
    for (auto const* program : { "mkfs.ext4", "sqlite3", "make", "gcc", "flac" }) {
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
    if (*mode != Mode::Native)
        std::printf("  the driver runs in a protection domain and is crashed %u times while sqlite3, make+gcc and flac run\n", flags.faults);
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
            // A hung driver is declared failed after 1 s here (3 s by default), and no agent is asked.
            auto config = base + "/nooks.toml";
            std::ofstream(config) << "[isolation]\nlivelock_ms = 1000\nagent = \"\"\n";
            return harness::KernelProcess::start({ .nooks_binary = harness::find_nooks_binary(),
                .args = { "--config", config, "--mode", mode_name(*mode), "--mount", disks, "--control", base + "/control.sock", "--disk",
                    base + "/disk0.img", "--disk-size", flags.size },
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
    auto reference = harness::make_encoder_reference(base);
    if (!reference)
        return fail("demo", reference.error().message());
    for (auto const* app : { "database", "compiler", "encoder" })
        std::filesystem::create_directories(ext4 + "/" + app, error);

    if (*mode == Mode::Native) {
        // No faults here: in native mode the first one would take the kernel down.
        for (auto [what, run] : { std::pair<char const*, std::function<Result<harness::WorkloadReport>()>> {
                                      "sqlite3 database with transactions", [&] { return harness::run_sqlite(ext4 + "/database"); } },
                 { "make + gcc build of a C program", [&] { return harness::run_build(ext4 + "/compiler"); } },
                 { "flac encode of 20 s of audio", [&] { return harness::run_encoder(ext4 + "/encoder", *reference); } } }) {
            auto report = steps.step<harness::WorkloadReport>(what, run, show);
            if (!report)
                return fail("demo", report.error().message());
        }
    } else {
        auto ran = steps.step<DemoRun>(fmt::format("3 applications, {} driver faults injected", flags.faults),
            [&]() { return run_under_faults(base, ext4, *reference, flags.faults); },
            [](DemoRun const& run) { return fmt::format("{} failures, {} recoveries", run.failures, run.recoveries); });
        if (!ran)
            return fail("demo", ran.error().message());
        for (auto const& line : ran->reports)
            std::printf("      %s\n", line.c_str());
        print_failures(base + "/control.sock");
        if (!ran->ok)
            return fail("demo", fmt::format("an application did not get through the faults ({} mode)", mode_name(*mode)));
    }

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

    auto verified_db = steps.step<harness::WorkloadReport>("verify the database", [&]() {
            return harness::verify_sqlite(ext4 + "/database", *mode == Mode::Native ? harness::SqliteOptions {} : harness::SqliteOptions { .transactions = 400, .rows = 20 });
        }, show);
    if (!verified_db)
        return fail("demo", verified_db.error().message());
    auto verified_build = steps.step<harness::WorkloadReport>("run the built program again", [&]() { return harness::verify_build(ext4 + "/compiler"); }, show);
    if (!verified_build)
        return fail("demo", verified_build.error().message());
    auto verified_flac = steps.step<uint64_t>(
        "compare the encoded file with the reference",
        [&]() -> Result<uint64_t> {
            auto encoded = TRY(harness::checksum_file(ext4 + "/encoder/music.flac"));
            if (encoded != TRY(harness::checksum_file(*reference)))
                return make_error(ErrorCode::IoError, "music.flac differs from the reference encode");
            return encoded;
        },
        [](uint64_t) { return std::string("identical"); });
    if (!verified_flac)
        return fail("demo", verified_flac.error().message());

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
    auto* command = app.add_subcommand("demo",
        "Run real applications (sqlite3, make+gcc, flac) on ext4 over a nooks disk through driver crashes, and verify them");
    command->add_option("--mode", flags->mode, "native | nooks | shadow (default: shadow: faults are injected and the applications carry on)");
    command->add_option("--faults", flags->faults, "Driver faults injected while the applications run (default: 4)")->check(CLI::Range(1, 20));
    command->add_option("--size", flags->size, "Size of the demo disk (default: 256MiB)");
    command->add_option("--workdir", flags->workdir, "Directory to work in (default: a new one under /tmp, removed afterwards)");
    command->add_flag("--keep", flags->keep, "Keep the work directory and the kernel log");
    command->callback([flags, &result] { result = run(*flags); });
}

} // namespace nk::cli
