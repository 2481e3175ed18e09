// SPDX-License-Identifier: MIT
#include "tools/eval/AppEval.h"

#include "base/ScopeGuard.h"
#include "harness/Command.h"
#include "harness/Interrupt.h"
#include "tools/eval/CellRun.h"

#include <fmt/ranges.h>

#include <filesystem>

namespace nk::eval {

std::vector<ClassEvaluation const*> class_evaluations()
{
    // Adding a class adds its evaluation here, in table order.
    static std::vector<std::unique_ptr<ClassEvaluation const>> const all = [] {
        std::vector<std::unique_ptr<ClassEvaluation const>> list;
        list.push_back(make_block_evaluation());
        list.push_back(make_net_evaluation());
        return list;
    }();
    std::vector<ClassEvaluation const*> result;
    for (auto const& evaluation : all)
        result.push_back(evaluation.get());
    return result;
}

ClassEvaluation const* class_evaluation(std::string_view name)
{
    for (auto const* evaluation : class_evaluations()) {
        if (evaluation->name() == name)
            return evaluation;
    }
    return nullptr;
}

namespace {

std::vector<ClassEvaluation const*> chosen_classes(Options const& options)
{
    if (options.classes.empty())
        return class_evaluations();
    std::vector<ClassEvaluation const*> chosen;
    for (auto const& name : options.classes) {
        if (auto const* evaluation = class_evaluation(name))
            chosen.push_back(evaluation);
    }
    return chosen;
}

bool wanted(Options const& options, std::string const& app) { return options.apps.empty() || std::ranges::find(options.apps, app) != options.apps.end(); }

} // namespace

Result<void> validate(Options const& options)
{
    std::vector<std::string> known;
    for (auto const* evaluation : class_evaluations())
        known.emplace_back(evaluation->name());
    for (auto const& name : options.classes) {
        if (class_evaluation(name) == nullptr)
            return make_error(ErrorCode::InvalidArgument, "eval: class '{}' has no evaluation (known: {})", name, fmt::join(known, ", "));
    }
    for (auto const& mode : options.modes) {
        if (mode != "native" && mode != "nooks" && mode != "shadow")
            return make_error(ErrorCode::InvalidArgument, "eval: unknown mode '{}' (native, nooks, shadow)", mode);
    }
    // Every program the chosen classes need, and every application named.
    std::vector<std::string> apps;
    for (auto const* evaluation : chosen_classes(options)) {
        auto listed = TRY(evaluation->applications(options.work_root));
        for (auto const& program : evaluation->stack_programs()) {
            if (!harness::have_program(program))
                return make_error(ErrorCode::FailedPrecondition, "eval: {} is not installed", program);
        }
        for (auto const& app : listed) {
            apps.push_back(app.name);
            if (!wanted(options, app.name))
                continue;
            for (auto const& program : app.programs) {
                if (!harness::have_program(program))
                    return make_error(ErrorCode::FailedPrecondition, "eval: {} is not installed (needed by the {})", program, app.label);
            }
        }
    }
    for (auto const& app : options.apps) {
        if (std::ranges::find(apps, app) == apps.end())
            return make_error(ErrorCode::InvalidArgument, "eval: unknown application '{}' (known: {})", app, fmt::join(apps, ", "));
    }
    return {};
}

Result<std::vector<Cell>> evaluate(Options const& options, std::function<void(std::string const&)> const& progress)
{
    EvalContext context { .nooks_binary = options.nooks_binary, .work_root = options.work_root };
    std::vector<Cell> cells;
    for (auto const* evaluation : chosen_classes(options)) {
        // References (what the applications must produce) are made once per class, outside nooks.
        std::string reference_dir = options.work_root + "/nooks-eval-reference-XXXXXX";
        if (::mkdtemp(reference_dir.data()) == nullptr)
            return errno_error("mkdtemp");
        ScopeGuard remove_reference([&] {
            std::error_code error;
            std::filesystem::remove_all(reference_dir, error);
        });
        auto apps = TRY(evaluation->applications(reference_dir));
        std::vector<Application const*> selected;
        for (auto const& app : apps) {
            if (wanted(options, app.name))
                selected.push_back(&app);
        }
        for (auto const& mode : options.modes) {
            auto groups = options.concurrent ? std::vector<std::vector<Application const*>> { selected } : std::vector<std::vector<Application const*>> {};
            if (!options.concurrent) {
                for (auto const* app : selected)
                    groups.push_back({ app });
            }
            for (auto const& group : groups) {
                std::vector<std::string> labels;
                for (auto const* app : group)
                    labels.push_back(app->label);
                progress(fmt::format("  {} {}: {}", evaluation->name(), mode, fmt::join(labels, ", ")));
                auto some = run_cells(*evaluation, context, options, mode, group, progress);
                if (harness::interrupted())
                    return make_error(ErrorCode::Aborted, "interrupted (everything it set up was torn down)");
                for (auto const& cell : some)
                    progress(fmt::format("    => {} {}: {} ({})", cell.label, cell.mode, verdict_name(cell.verdict), cell.why));
                cells.insert(cells.end(), some.begin(), some.end());
            }
        }
    }
    return cells;
}

std::string format_table(std::vector<Cell> const& cells, Options const& options)
{
    std::string text = fmt::format("Fault tolerance: up to {} faults injected into the driver while each application runs\n\n", options.faults);
    std::vector<std::pair<std::string, std::string>> rows;
    size_t label_width = std::string_view("application").size();
    for (auto const& cell : cells) {
        if (std::ranges::find(rows, std::pair(cell.driver_class, cell.label)) == rows.end())
            rows.emplace_back(cell.driver_class, cell.label);
        label_width = std::max(label_width, cell.label.size());
    }
    label_width += 2;
    text += fmt::format("{:<8}{:<{}}", "class", "application", label_width);
    for (auto const& mode : options.modes)
        text += fmt::format("{:<14}", mode);
    text += "\n";
    for (auto const& [driver_class, label] : rows) {
        text += fmt::format("{:<8}{:<{}}", driver_class, label, label_width);
        for (auto const& mode : options.modes) {
            auto it = std::ranges::find_if(cells, [&](Cell const& c) { return c.driver_class == driver_class && c.label == label && c.mode == mode; });
            std::string verdict = it != cells.end() ? verdict_name(it->verdict) : "-";
            // "✓" is one column wide but three bytes: pad by hand.
            text += verdict + std::string(14 - std::min<size_t>(13, verdict == "✓" ? 1 : verdict.size()), ' ');
        }
        text += "\n";
    }
    text += "\nwhy:\n";
    for (auto const& cell : cells)
        text += fmt::format("  {:<8} {:<{}} {}\n", cell.mode, cell.label, label_width, cell.why);
    return text;
}

nlohmann::json to_json(std::vector<Cell> const& cells, Options const& options)
{
    nlohmann::json rows = nlohmann::json::array();
    for (auto const& cell : cells) {
        auto const* evaluation = class_evaluation(cell.driver_class);
        rows.push_back({ { "class", cell.driver_class }, { "driver", evaluation != nullptr ? std::string(evaluation->driver()) : "" },
            { "app", cell.app }, { "label", cell.label }, { "mode", cell.mode }, { "verdict", verdict_name(cell.verdict) }, { "why", cell.why },
            { "faults_injected", cell.faults_injected }, { "faults_fired", cell.faults_fired }, { "recoveries", cell.recoveries },
            { "failed_requests", cell.failed_requests }, { "seconds", static_cast<double>(cell.app_ns) / 1e9 } });
    }
    return { { "classes", options.classes.empty() ? nlohmann::json("all") : nlohmann::json(options.classes) }, { "faults_per_run", options.faults },
        { "concurrent", options.concurrent }, { "cells", rows } };
}

} // namespace nk::eval
