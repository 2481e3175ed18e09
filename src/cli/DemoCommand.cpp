// SPDX-License-Identifier: MIT
// `nooks demo`: the main job. For each class in turn (the disk, then the
// network): boots a kernel in a temporary place, builds the class's stack on
// it (block: ext4 on a loop device on a disk file; net: a NIC whose TAP
// interface and peer hosts are real Linux stacks), runs the class's real
// applications on it together while the driver is crashed, checks their
// results (read back cold from the disk; against what was sent on the
// network), tears everything down and reports what it did. The applications
// and faults are the class's rows of the evaluation
// (tools/eval/ClassEvaluation.h).

#include "base/Clock.h"
#include "base/ScopeGuard.h"
#include "base/Units.h"
#include "cli/Commands.h"
#include "control/ControlServer.h"
#include "harness/Command.h"
#include "harness/Interrupt.h"
#include "system/System.h"
#include "tools/eval/CellRun.h"
#include "tools/eval/ClassEvaluation.h"

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
    std::string driver_class; // empty: every class that has applications
    std::string mode { "shadow" };
    unsigned faults { 4 };
    std::string size { "256MiB" };
    std::string workdir;
    bool keep { false };
};

// Runs one step, prints "<what> ... <time> <summary>", returns its result.
class StepPrinter {
public:
    // A step done elsewhere (the stack's own steps), timed from the previous one.
    void done(std::string const& what, std::string const& summary)
    {
        auto now = monotonic_ns();
        auto elapsed = now - std::exchange(m_last, now);
        m_total += elapsed;
        std::printf("  %-46s%9s  %s\n", (what + " ").c_str(), format_duration_ns(elapsed).c_str(), summary.c_str());
        std::fflush(stdout);
    }
    void restart_clock() { m_last = monotonic_ns(); }

    template<typename T>
    Result<T> step(std::string const& what, std::function<Result<T>()> const& action, std::function<std::string(T const&)> const& summary)
    {
        std::printf("  %-46s", (what + " ").c_str());
        std::fflush(stdout);
        auto start = monotonic_ns();
        auto result = action();
        auto elapsed = monotonic_ns() - start;
        m_last = monotonic_ns();
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
    uint64_t m_last { monotonic_ns() };
};

struct DemoRun {
    unsigned failures { 0 };
    unsigned recoveries { 0 };
    bool ok { true };
    std::vector<std::string> reports;
};

// The applications together, while the driver is crashed `faults` times (none
// in native mode: the first would take the kernel down).
Result<DemoRun> run_applications(eval::ClassEvaluation const& evaluation, eval::EvalStack& stack, std::vector<eval::Application> const& apps,
    unsigned faults)
{
    using AppResult = Result<harness::WorkloadReport>;
    std::vector<std::future<AppResult>> running;
    for (auto const& app : apps) {
        auto dir = TRY(stack.workspace(app.name));
        running.push_back(std::async(std::launch::async, [&app, dir] { return app.run(dir); }));
    }
    auto done = [&] { return std::ranges::all_of(running, [](auto& app) { return app.wait_for(std::chrono::seconds(0)) == std::future_status::ready; }); };
    auto progress = [](std::string const&) { };
    eval::inject_faults(evaluation, stack, faults, "demo", done, progress);
    if (faults > 0)
        (void)control_request(stack.control(), { { "command", "inject" }, { "driver", std::string(evaluation.driver()) }, { "fault", "none" } });
    eval::settle(evaluation, stack);
    DemoRun run;
    for (size_t i = 0; i < apps.size(); ++i) {
        auto result = running[i].get();
        run.ok = run.ok && result.has_value();
        run.reports.push_back(result ? fmt::format("{}: {}", apps[i].label, result->summary)
                                     : fmt::format("{}: FAILED: {}", apps[i].label, result.error().message()));
    }
    auto view = eval::look(evaluation, stack);
    run.failures = view.failures;
    run.recoveries = view.restarts;
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

// One class's part of the demo, in `base`; 0 if every step passed.
int run_class(eval::ClassEvaluation const& evaluation, DemoFlags const& flags, Mode mode, std::string const& base, StepPrinter& steps)
{
    auto apps = evaluation.applications(base);
    if (!apps)
        return fail("demo", apps.error().message());
    auto programs = evaluation.stack_programs();
    for (auto const& app : *apps)
        programs.insert(programs.end(), app.programs.begin(), app.programs.end());
    for (auto const& program : programs) {
        if (!harness::have_program(program))
            return fail("demo", fmt::format("{} is not installed (run `make demo`, which installs what is missing)", program));
    }

    std::vector<std::string> labels;
    for (auto const& app : *apps)
        labels.push_back(app.label);
    std::printf("nooks demo, %s class: %s on the %s driver (%s mode)\n", std::string(evaluation.name()).c_str(),
        fmt::format("{}", fmt::join(labels, ", ")).c_str(), std::string(evaluation.driver()).c_str(), mode_name(mode));
    if (mode != Mode::Native)
        std::printf("  the driver runs in a protection domain and is crashed %u times while they run together\n", flags.faults);
    std::printf("  work directory %s\n\n", base.c_str());

    eval::EvalContext context { .nooks_binary = harness::find_nooks_binary(), .work_root = base, .device_size = flags.size,
        .on_step = [&](std::string const& what, std::string const& detail) { steps.done(what, detail); } };
    steps.restart_clock();
    auto built = evaluation.build(context, mode_name(mode), base);
    if (!built)
        return fail("demo", built.error().message());
    auto& stack = **built;

    auto ran = steps.step<DemoRun>(fmt::format("{} applications, {} driver faults", apps->size(), mode == Mode::Native ? 0 : flags.faults),
        [&]() { return run_applications(evaluation, stack, *apps, mode == Mode::Native ? 0 : flags.faults); },
        [](DemoRun const& run) { return fmt::format("{} failures, {} recoveries", run.failures, run.recoveries); });
    if (!ran)
        return fail("demo", ran.error().message());
    for (auto const& line : ran->reports)
        std::printf("      %s\n", line.c_str());
    if (mode != Mode::Native)
        print_failures(stack.control());
    if (!ran->ok)
        return fail("demo", fmt::format("an application did not get through the faults ({} mode)", mode_name(mode)));

    auto reread = steps.step<bool>(
        "read the stack back cold", [&]() -> Result<bool> {
            TRY(stack.reread());
            return true;
        },
        [&](bool) { return fmt::format("what follows is {}", evaluation.verified_how()); });
    if (!reread)
        return fail("demo", reread.error().message());
    for (auto const& app : *apps) {
        auto dir = stack.workspace(app.name);
        auto verified = steps.step<harness::WorkloadReport>(fmt::format("verify the {}", app.label),
            [&]() -> Result<harness::WorkloadReport> { return app.verify(TRY(std::move(dir))); },
            [](harness::WorkloadReport const& report) { return report.summary; });
        if (!verified)
            return fail("demo", verified.error().message());
    }
    auto checked = steps.step<std::string>("check the stack", [&]() { return stack.check(); }, [](std::string const& what) { return what; });
    if (!checked)
        return fail("demo", checked.error().message());
    auto stopped = steps.step<bool>(
        "tear down, stop the kernel", [&]() -> Result<bool> {
            TRY(stack.stop());
            return true;
        },
        [](bool) { return std::string("clean shutdown"); });
    if (!stopped)
        return fail("demo", stopped.error().message());
    std::printf("\n");
    return 0;
}

int run(DemoFlags const& flags)
{
    harness::install_interrupt_handler();
    std::vector<eval::ClassEvaluation const*> classes;
    if (flags.driver_class.empty()) {
        classes = eval::class_evaluations();
    } else {
        auto const* evaluation = eval::class_evaluation(flags.driver_class);
        if (evaluation == nullptr)
            return fail("demo", fmt::format("class '{}' has no demo (block, net)", flags.driver_class));
        classes.push_back(evaluation);
    }
    if (auto root = check_privileges(); !root)
        return fail("demo", "the demo needs root: it mounts FUSE and ext4, attaches a loop device and makes network namespaces (run it with sudo)");
    if (auto fuse = check_fuse_device(); !fuse)
        return fail("demo", fuse.error().message());
    if (::access("/dev/net/tun", R_OK | W_OK) != 0 && std::ranges::any_of(classes, [](auto const* c) { return c->name() == "net"; }))
        return fail("demo", "the network demo needs /dev/net/tun (TUN/TAP in the kernel)");
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
    std::error_code error;
    std::filesystem::create_directories(base, error);
    ScopeGuard remove_workdir([&] {
        if (!flags.keep && flags.workdir.empty())
            std::filesystem::remove_all(base, error);
    });
    StepPrinter steps;
    for (auto const* evaluation : classes) {
        auto dir = fmt::format("{}/{}", base, evaluation->name());
        std::filesystem::create_directories(dir, error);
        if (auto failed = run_class(*evaluation, flags, *mode, dir, steps); failed != 0)
            return failed;
        if (harness::interrupted())
            return fail("demo", "interrupted (everything it set up was torn down)");
    }
    std::printf("nooks demo: all steps passed in %s\n", format_duration_ns(steps.total()).c_str());
    if (flags.keep)
        std::printf("  kept %s (kernel logs: %s/<class>/kernel.log)\n", base.c_str(), base.c_str());
    return 0;
}

} // namespace

void add_demo_command(CLI::App& app, int& result)
{
    auto flags = std::make_shared<DemoFlags>();
    auto* command = app.add_subcommand("demo",
        "Run real applications through driver crashes and verify them: sqlite3, make+gcc and flac on ext4 over a nooks disk, then curl, ssh "
        "and tcpdump over a nooks NIC");
    command->add_option("--class", flags->driver_class, "Only this driver class's applications (block or net; default: both, one after the other)");
    command->add_option("--mode", flags->mode, "native | nooks | shadow (default: shadow: faults are injected and the applications carry on)");
    command->add_option("--faults", flags->faults, "Driver faults injected while the applications run (default: 4)")->check(CLI::Range(1, 20));
    command->add_option("--size", flags->size, "Size of the demo disk (default: 256MiB)");
    command->add_option("--workdir", flags->workdir, "Directory to work in (default: a new one under /tmp, removed afterwards)");
    command->add_flag("--keep", flags->keep, "Keep the work directory and the kernel log");
    command->callback([flags, &result] { result = run(*flags); });
}

} // namespace nk::cli
