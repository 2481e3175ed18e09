// SPDX-License-Identifier: MIT
#include "tools/eval/CellRun.h"

#include "base/Clock.h"
#include "base/ScopeGuard.h"
#include "control/ControlServer.h"
#include "harness/Interrupt.h"
#include "tools/eval/Verdict.h"

#include <fmt/ranges.h>

#include <filesystem>
#include <future>
#include <thread>

namespace nk::eval {

KernelView look(ClassEvaluation const& evaluation, EvalStack& stack)
{
    KernelView view;
    view.alive = stack.kernel().running();
    if (!view.alive)
        return view;
    auto reply = control_request(stack.control(), { { "command", "list" } }, std::chrono::seconds(5));
    if (!reply || !(*reply).value("ok", false))
        return view;
    for (auto const& module : (*reply)["modules"]) {
        view.failures = std::max<unsigned>(view.failures, module.value("failures", 0u));
        view.restarts = std::max<unsigned>(view.restarts, module.value("restarts", 0u));
    }
    view.failed_requests = evaluation.failed_requests(*reply);
    return view;
}

void settle(ClassEvaluation const& evaluation, EvalStack& stack)
{
    for (int i = 0; i < 1000 && !harness::interrupted(); ++i) {
        auto now = look(evaluation, stack);
        if (!now.alive || now.restarts >= now.failures)
            return;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

unsigned inject_faults(ClassEvaluation const& evaluation, EvalStack& stack, unsigned count, std::string const& what,
    std::function<bool()> const& finished, std::function<void(std::string const&)> const& progress)
{
    auto schedule = evaluation.fault_schedule();
    unsigned injected = 0;
    for (unsigned k = 0; k < count && !finished() && !harness::interrupted(); ++k) {
        std::this_thread::sleep_for(std::chrono::milliseconds(k == 0 ? 50 : 30));
        auto before = look(evaluation, stack);
        if (!before.alive || finished())
            break;
        auto const& fault = schedule[k % schedule.size()];
        auto armed = control_request(stack.control(), { { "command", "inject" }, { "driver", std::string(evaluation.driver()) },
                                                          { "fault", fault.fault }, { "entry", fault.entry }, { "after", 1 } });
        if (!armed || !(*armed).value("ok", false))
            break;
        ++injected;
        progress(fmt::format("    {}: fault {} ({} at {})", what, injected, fault.fault, fault.entry));
        // Wait until it fired (a failure was recorded, or the kernel died) or the apps are done.
        for (int i = 0; i < 3000 && !finished() && !harness::interrupted(); ++i) {
            auto now = look(evaluation, stack);
            if (!now.alive || now.failures > before.failures)
                break;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        // And until it was recovered, so the next fault meets a live driver.
        settle(evaluation, stack);
    }
    return injected;
}

std::vector<Cell> run_cells(ClassEvaluation const& evaluation, EvalContext const& context, Options const& options, std::string const& mode,
    std::vector<Application const*> const& apps, std::function<void(std::string const&)> const& progress)
{
    std::vector<Cell> cells;
    std::vector<std::string> names;
    for (auto const* app : apps) {
        cells.push_back({ .driver_class = std::string(evaluation.name()), .app = app->name, .label = app->label, .mode = mode });
        names.push_back(app->name);
    }
    auto joined = fmt::format("{}", fmt::join(names, "+"));
    std::string dir = context.work_root + "/nooks-eval-XXXXXX";
    if (::mkdtemp(dir.data()) == nullptr) {
        for (auto& cell : cells)
            cell.why = "could not set up: mkdtemp failed";
        return cells;
    }
    ScopeGuard remove_dir([&] {
        std::error_code error;
        std::filesystem::remove_all(dir, error);
    });
    auto built = evaluation.build(context, mode, dir);
    if (!built) {
        for (auto& cell : cells)
            cell.why = fmt::format("could not set up: {}", built.error().message());
        return cells;
    }
    auto& stack = **built;

    using AppResult = Result<harness::WorkloadReport>;
    std::vector<std::future<AppResult>> running;
    std::vector<std::string> workspaces;
    auto start = monotonic_ns();
    for (auto const* app : apps) {
        auto workspace = stack.workspace(app->name);
        workspaces.push_back(workspace.value_or(""));
        running.push_back(std::async(std::launch::async, [app, workspace]() -> AppResult {
            if (!workspace)
                return std::unexpected(workspace.error());
            return app->run(*workspace);
        }));
    }
    auto finished = [&] {
        return std::ranges::all_of(running, [](auto& f) { return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready; });
    };
    auto injected = inject_faults(evaluation, stack, options.faults, fmt::format("{} / {}", mode, joined), finished, progress);
    for (auto& future : running)
        future.wait();
    // A fault armed too late for the apps must not fire while their output is read
    // back: disarm it, and let a recovery under way finish, so the counts are final.
    if (stack.kernel().running())
        (void)control_request(stack.control(), { { "command", "inject" }, { "driver", std::string(evaluation.driver()) }, { "fault", "none" } });
    settle(evaluation, stack);
    auto elapsed = monotonic_ns() - start;
    std::vector<AppResult> results;
    for (auto& future : running)
        results.push_back(future.get());

    // Read everything back from the device.
    Result<void> reread = make_error(ErrorCode::Unavailable, "not tried");
    if (harness::interrupted())
        reread = make_error(ErrorCode::Aborted, "interrupted");
    else if (stack.kernel().running())
        reread = stack.reread();
    auto view = look(evaluation, stack);
    for (size_t i = 0; i < apps.size(); ++i) {
        Observed observed { .kernel_died = !view.alive, .death = stack.kernel().exit_description(), .failures = view.failures,
            .recoveries = view.restarts, .failed_requests = view.failed_requests };
        if (!results[i]) {
            observed.result = std::unexpected(results[i].error());
        } else if (!reread) {
            observed.result = make_error(ErrorCode::FailedPrecondition, "its file system could not be read back: {}", reread.error().message());
        } else if (auto verified = apps[i]->verify(workspaces[i]); !verified) {
            observed.result = std::unexpected(std::move(verified.error()).with_context(std::string(evaluation.verified_how())));
        } else {
            observed.result = fmt::format("{}; {}", results[i]->summary, verified->summary);
        }
        cells[i].faults_injected = injected;
        cells[i].app_ns = elapsed;
        judge(cells[i], observed);
    }
    return cells;
}

} // namespace nk::eval
