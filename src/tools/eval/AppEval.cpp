// SPDX-License-Identifier: MIT
#include "tools/eval/AppEval.h"

#include "harness/Interrupt.h"

#include "base/Clock.h"
#include "base/ScopeGuard.h"
#include "control/ControlServer.h"
#include "harness/Command.h"
#include "harness/KernelProcess.h"
#include "harness/LoopDevice.h"
#include "harness/Mount.h"
#include "harness/Workloads.h"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <sys/mount.h>
#include <thread>

namespace nk::eval {

char const* verdict_name(Verdict verdict)
{
    switch (verdict) {
    case Verdict::Ok: return "✓";
    case Verdict::Malfunction: return "MALFUNCTION";
    case Verdict::Crash: return "CRASH";
    case Verdict::Invalid: return "INVALID";
    }
    return "?";
}

namespace {

std::string app_label(std::string const& app)
{
    if (app == "compiler")
        return "compiler (make+gcc)";
    if (app == "encoder")
        return "encoder (flac)";
    if (app == "database")
        return "database (sqlite3)";
    return app;
}

// The faults injected one after another while the application runs: crashes
// in submission and in the interrupt handler, a hang, a corrupted heap.
struct Fault {
    char const* kind;
    char const* entry;
};
constexpr Fault schedule[] = {
    { "null-deref", "blk_queue_rq" }, { "panic", "irq_handler" }, { "wild-write-own", "irq_handler" },
    { "hang", "blk_queue_rq" }, { "stack-corrupt", "blk_queue_rq" }, { "bad-param", "irq_handler" },
};

struct Stack {
    std::string dir;
    std::unique_ptr<harness::KernelProcess> kernel;
    std::unique_ptr<harness::LoopDevice> loop;
    std::unique_ptr<harness::Mount> mount;

    std::string control() const { return dir + "/control.sock"; }
    std::string ext4() const { return dir + "/ext4"; }

    // Teardown in the only safe order; tolerant of a dead kernel.
    ~Stack()
    {
        mount.reset();
        loop.reset();
        if (kernel) {
            (void)kernel->stop(std::chrono::seconds(20));
            kernel.reset();
        }
        ::umount2((dir + "/disks").c_str(), MNT_DETACH); // a dead kernel's mount
        std::error_code error;
        std::filesystem::remove_all(dir, error);
    }
};

Result<std::unique_ptr<Stack>> build_stack(Options const& options, std::string const& mode)
{
    auto stack = std::make_unique<Stack>();
    std::string pattern = options.work_root + "/nooks-eval-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr)
        return errno_error("mkdtemp");
    stack->dir = pattern;
    std::filesystem::create_directories(stack->dir + "/ext4");
    auto config = stack->dir + "/nooks.toml";
    std::ofstream(config) << fmt::format("mode = \"{}\"\nmount = \"{}/disks\"\ncontrol = \"{}\"\n[disk]\nimage = \"{}/disk0.img\"\nsize = \"256MiB\"\n"
                                         "[isolation]\nlivelock_ms = 1000\nagent = \"\"\n",
        mode, stack->dir, stack->control(), stack->dir);
    stack->kernel = TRY(harness::KernelProcess::start({ .nooks_binary = options.nooks_binary, .args = { "--config", config },
        .log_path = stack->dir + "/kernel.log" }));
    stack->loop = TRY(harness::LoopDevice::attach(stack->dir + "/disks/disk0", true));
    TRY(harness::run_checked({ "mkfs.ext4", "-q", "-F", stack->loop->path() }));
    stack->mount = TRY(harness::Mount::mount(stack->loop->path(), stack->ext4(), "ext4"));
    return stack;
}

struct KernelView {
    bool alive { false };
    unsigned failures { 0 };
    unsigned restarts { 0 };
    uint64_t failed_requests { 0 };
};

KernelView look(Stack& stack)
{
    KernelView view;
    view.alive = stack.kernel->running();
    if (!view.alive)
        return view;
    auto reply = control_request(stack.control(), { { "command", "list" } }, std::chrono::seconds(5));
    if (!reply || !(*reply).value("ok", false))
        return view;
    for (auto const& module : (*reply)["modules"]) {
        view.failures = std::max<unsigned>(view.failures, module.value("failures", 0u));
        view.restarts = std::max<unsigned>(view.restarts, module.value("restarts", 0u));
    }
    view.failed_requests = (*reply).value("failed_requests_total", uint64_t(0));
    return view;
}

// Waits (up to 10 s) until every failure the kernel counted has been recovered,
// or the kernel is gone.
void settle(Stack& stack)
{
    for (int i = 0; i < 1000 && !harness::interrupted(); ++i) {
        auto now = look(stack);
        if (!now.alive || now.restarts >= now.failures)
            return;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

using AppResult = Result<harness::WorkloadReport>;

// An application's job is done when its output is on the disk: it ends with a
// sync of its file system (sqlite3 syncs every commit by itself).
AppResult run_app(std::string const& app, std::string const& dir, std::string const& reference)
{
    auto synced = [&](AppResult result) -> AppResult {
        if (!result)
            return result;
        TRY(harness::run_checked({ "sync", "-f", dir }));
        return result;
    };
    if (app == "database")
        return harness::run_sqlite(dir, { .transactions = 300, .rows = 20 });
    if (app == "compiler")
        return synced(harness::run_build(dir));
    if (app == "encoder")
        return synced(harness::run_encoder(dir, reference, 30));
    return make_error(ErrorCode::InvalidArgument, "unknown application '{}' (compiler, encoder, database)", app);
}

// Checks an application's output again, as read back from the disk.
AppResult verify_app(std::string const& app, std::string const& dir, std::string const& reference)
{
    if (app == "database")
        return harness::verify_sqlite(dir, { .transactions = 300, .rows = 20 });
    if (app == "compiler")
        return harness::verify_build(dir);
    auto encoded = harness::checksum_file(dir + "/music.flac");
    auto expected = harness::checksum_file(reference);
    if (!encoded)
        return std::unexpected(std::move(encoded.error()));
    if (!expected || *encoded != *expected)
        return make_error(ErrorCode::IoError, "music.flac read back differs from the reference encode");
    return harness::WorkloadReport { "music.flac read back identical", 0 };
}

// Runs `apps` together on one fresh stack in `mode`, injecting faults; one cell per app.
std::vector<Cell> run_cells(Options const& options, std::string const& mode, std::vector<std::string> const& apps,
    std::string const& reference, std::function<void(std::string const&)> const& progress)
{
    std::vector<Cell> cells;
    for (auto const& app : apps)
        cells.push_back({ .app = app, .mode = mode });
    auto built = build_stack(options, mode);
    if (!built) {
        for (auto& cell : cells)
            cell.why = fmt::format("could not set up: {}", built.error().message());
        return cells;
    }
    auto& stack = **built;

    std::vector<std::future<AppResult>> running;
    auto start = monotonic_ns();
    for (size_t i = 0; i < apps.size(); ++i) {
        auto dir = fmt::format("{}/{}", stack.ext4(), apps[i]);
        std::filesystem::create_directories(dir);
        running.push_back(std::async(std::launch::async, [app = apps[i], dir, &reference] { return run_app(app, dir, reference); }));
    }
    auto finished = [&] {
        return std::ranges::all_of(running, [](auto& f) { return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready; });
    };

    // Faults, one after another, each after the previous one was handled.
    unsigned injected = 0;
    for (unsigned k = 0; k < options.faults && !finished() && !harness::interrupted(); ++k) {
        std::this_thread::sleep_for(std::chrono::milliseconds(k == 0 ? 50 : 30));
        auto before = look(stack);
        if (!before.alive || finished())
            break;
        auto const& fault = schedule[k % std::size(schedule)];
        auto armed = control_request(stack.control(), { { "command", "inject" }, { "driver", "nkdisk" }, { "fault", fault.kind },
                                                          { "entry", fault.entry }, { "after", 1 } });
        if (!armed || !(*armed).value("ok", false))
            break;
        ++injected;
        progress(fmt::format("    {} / {}: fault {} ({} at {})", mode, fmt::join(apps, "+"), injected, fault.kind, fault.entry));
        // Wait until it fired (a failure was recorded, or the kernel died) or the apps are done.
        for (int i = 0; i < 3000 && !finished() && !harness::interrupted(); ++i) {
            auto now = look(stack);
            if (!now.alive || now.failures > before.failures)
                break;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        // And until it was recovered, so the next fault meets a live driver.
        settle(stack);
    }
    for (auto& future : running)
        future.wait();
    // A fault armed too late for the apps must not fire while their output is read
    // back: disarm it, and let a recovery under way finish, so the counts are final.
    if (stack.kernel->running())
        (void)control_request(stack.control(), { { "command", "inject" }, { "driver", "nkdisk" }, { "fault", "none" } });
    settle(stack);
    auto elapsed = monotonic_ns() - start;
    std::vector<AppResult> results;
    for (auto& future : running)
        results.push_back(future.get());
    // Read everything back from the disk: unmount, drop the caches, mount again.
    Result<void> remounted = make_error(ErrorCode::Unavailable, "not tried");
    if (harness::interrupted())
        remounted = make_error(ErrorCode::Aborted, "interrupted");
    else if (stack.kernel->running()) {
        remounted = [&]() -> Result<void> {
            TRY(stack.mount->unmount());
            stack.mount.reset();
            TRY(harness::drop_caches());
            stack.mount = TRY(harness::Mount::mount(stack.loop->path(), stack.ext4(), "ext4"));
            return {};
        }();
    }
    for (size_t i = 0; i < apps.size(); ++i) {
        if (!results[i])
            continue;
        if (!remounted)
            results[i] = make_error(ErrorCode::FailedPrecondition, "its file system could not be mounted again: {}", remounted.error().message());
        else if (auto verified = verify_app(apps[i], fmt::format("{}/{}", stack.ext4(), apps[i]), reference); !verified)
            results[i] = std::unexpected(std::move(verified.error()).with_context("read back from the disk"));
    }
    auto view = look(stack);
    bool kernel_died = !view.alive;
    auto death = stack.kernel->exit_description();

    for (size_t i = 0; i < apps.size(); ++i) {
        auto& cell = cells[i];
        auto& result = results[i];
        cell.faults_injected = injected;
        cell.faults_fired = kernel_died ? 1 : view.failures;
        cell.recoveries = view.restarts;
        cell.failed_requests = view.failed_requests;
        cell.app_ns = elapsed;
        if (cell.faults_fired == 0) {
            cell.verdict = Verdict::Invalid;
            cell.why = result ? "no fault fired before the application finished" : fmt::format("failed with no fault: {}", result.error().message());
        } else if (kernel_died) {
            cell.verdict = Verdict::Crash;
            cell.why = fmt::format("the kernel died ({}) at the first fault; the application's file system went with it", death);
        } else if (!result) {
            // A wrong result is a malfunction; a failed program is a crash.
            bool wrong_output = result.error().code() == ErrorCode::IoError;
            cell.verdict = wrong_output ? Verdict::Malfunction : Verdict::Crash;
            auto message = result.error().message();
            if (message.size() > 160)
                message = message.substr(0, 160) + "...";
            cell.why = fmt::format("{} driver failures, {} recovered; {} failed requests reached ext4; the application {}: {}", view.failures,
                view.restarts, view.failed_requests, wrong_output ? "finished with wrong output" : "failed", message);
        } else {
            cell.verdict = Verdict::Ok;
            cell.why = fmt::format("{} driver failures, {} recovered, {} failed requests; {}", view.failures, view.restarts,
                view.failed_requests, result->summary);
            if (view.failed_requests > 0) {
                cell.verdict = Verdict::Malfunction;
                cell.why += " (but I/O errors reached the file system)";
            }
        }
    }
    return cells;
}

} // namespace

Result<std::vector<Cell>> evaluate_block(Options const& options, std::function<void(std::string const&)> const& progress)
{
    for (auto const& mode : options.modes) {
        if (mode != "native" && mode != "nooks" && mode != "shadow")
            return make_error(ErrorCode::InvalidArgument, "eval: unknown mode '{}' (native, nooks, shadow)", mode);
    }
    for (auto const& app : options.apps) {
        if (app != "compiler" && app != "encoder" && app != "database")
            return make_error(ErrorCode::InvalidArgument, "eval: unknown application '{}' (compiler, encoder, database)", app);
    }
    for (auto const* program : { "mkfs.ext4", "sqlite3", "make", "gcc", "flac" }) {
        if (!harness::have_program(program))
            return make_error(ErrorCode::FailedPrecondition, "eval: {} is not installed", program);
    }
    // The encoder's expected output: the same input encoded outside nooks.
    std::string reference_dir = options.work_root + "/nooks-eval-reference-XXXXXX";
    if (::mkdtemp(reference_dir.data()) == nullptr)
        return errno_error("mkdtemp");
    ScopeGuard remove_reference([&] {
        std::error_code error;
        std::filesystem::remove_all(reference_dir, error);
    });
    auto reference = TRY(harness::make_encoder_reference(reference_dir, 30));

    std::vector<Cell> cells;
    for (auto const& mode : options.modes) {
        if (options.concurrent) {
            progress(fmt::format("  {}: {} together", mode, fmt::join(options.apps, ", ")));
            auto some = run_cells(options, mode, options.apps, reference, progress);
            if (harness::interrupted())
                return make_error(ErrorCode::Aborted, "interrupted (everything it set up was torn down)");
            cells.insert(cells.end(), some.begin(), some.end());
            continue;
        }
        for (auto const& app : options.apps) {
            progress(fmt::format("  {}: {}", mode, app_label(app)));
            auto some = run_cells(options, mode, { app }, reference, progress);
            if (harness::interrupted())
                return make_error(ErrorCode::Aborted, "interrupted (everything it set up was torn down)");
            for (auto const& cell : some)
                progress(fmt::format("    => {} ({})", verdict_name(cell.verdict), cell.why));
            cells.insert(cells.end(), some.begin(), some.end());
        }
    }
    return cells;
}

std::string format_table(std::vector<Cell> const& cells, Options const& options)
{
    std::string text = fmt::format("Fault tolerance, block class (nkdisk driver): up to {} faults injected while each application runs\n\n",
        options.faults);
    text += fmt::format("{:<24}", "application");
    for (auto const& mode : options.modes)
        text += fmt::format("{:<14}", mode);
    text += "\n";
    for (auto const& app : options.apps) {
        text += fmt::format("{:<24}", app_label(app));
        for (auto const& mode : options.modes) {
            auto it = std::ranges::find_if(cells, [&](Cell const& c) { return c.app == app && c.mode == mode; });
            std::string verdict = it != cells.end() ? verdict_name(it->verdict) : "-";
            // "✓" is one column wide but three bytes: pad by hand.
            text += verdict + std::string(14 - std::min<size_t>(13, verdict == "✓" ? 1 : verdict.size()), ' ');
        }
        text += "\n";
    }
    text += "\nwhy:\n";
    for (auto const& cell : cells)
        text += fmt::format("  {:<8} {:<22} {}\n", cell.mode, app_label(cell.app), cell.why);
    return text;
}

nlohmann::json to_json(std::vector<Cell> const& cells, Options const& options)
{
    nlohmann::json rows = nlohmann::json::array();
    for (auto const& cell : cells)
        rows.push_back({ { "app", cell.app }, { "mode", cell.mode }, { "verdict", verdict_name(cell.verdict) }, { "why", cell.why },
            { "faults_injected", cell.faults_injected }, { "faults_fired", cell.faults_fired }, { "recoveries", cell.recoveries },
            { "failed_requests", cell.failed_requests }, { "seconds", static_cast<double>(cell.app_ns) / 1e9 } });
    return { { "class", "block" }, { "driver", "nkdisk" }, { "faults_per_run", options.faults }, { "concurrent", options.concurrent },
        { "cells", rows } };
}

} // namespace nk::eval
