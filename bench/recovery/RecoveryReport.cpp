// SPDX-License-Identifier: MIT
#include "recovery/RecoveryReport.h"

#include "block/Table.h"

#include <fmt/format.h>

#include <algorithm>

namespace nk::bench {

namespace {

// The targets the benchmark is judged against.
constexpr double recovery_target_ms = 50.0;
constexpr double stall_target_ms = 100.0;

double percentile(std::vector<double> values, double fraction)
{
    if (values.empty())
        return 0;
    std::ranges::sort(values);
    auto index = static_cast<size_t>(fraction * static_cast<double>(values.size() - 1) + 0.5);
    return values[std::min(index, values.size() - 1)];
}

std::string ms(double value) { return fmt::format("{:.2f}", value); }

nlohmann::json rows_json(std::vector<FaultRow> const& rows)
{
    nlohmann::json out = nlohmann::json::array();
    for (auto const& row : rows)
        out.push_back({ { "fault", row.fault }, { "cause", row.cause }, { "recovery_ms", row.recovery_ms }, { "stall_ms", row.stall_ms } });
    return out;
}

StageTimes& stage_times(ModeSummary& summary, std::string const& name)
{
    for (auto& stage : summary.stages) {
        if (stage.stage == name)
            return stage;
    }
    summary.stages.push_back({ name, {} });
    return summary.stages.back();
}

} // namespace

double median(std::vector<double> values) { return percentile(std::move(values), 0.5); }

double maximum(std::vector<double> const& values) { return values.empty() ? 0 : *std::ranges::max_element(values); }

ModeSummary summarize(FaultRunResult const& run)
{
    ModeSummary summary;
    summary.mode = run.mode;
    summary.faults = static_cast<unsigned>(run.faults.size());
    summary.operations = run.operations.size();
    for (auto const& record : run.failures) {
        ++summary.records;
        for (auto const& stage : record["stages"])
            stage_times(summary, stage.value("stage", std::string("?"))).ms.push_back(stage.value("duration_us", 0.0) / 1000.0);
        summary.recovery_ms.push_back(record.value("recovery_us", 0.0) / 1000.0);
    }

    std::vector<double> steady;
    std::vector<double> stall(run.faults.size(), 0.0);
    for (auto const& op : run.operations) {
        bool around = false;
        for (size_t i = 0; i < run.faults.size(); ++i) {
            auto const& fault = run.faults[i];
            // In flight at some moment of [armed, recovered], or started in it.
            if (op.end_ns >= fault.armed_ns && op.start_ns <= fault.recovered_ns) {
                around = true;
                stall[i] = std::max(stall[i], static_cast<double>(op.latency_ns()) / 1e6);
            }
        }
        if (op.error != 0)
            ++(around ? summary.errors_around_failures : summary.errors_elsewhere);
        else if (!around)
            steady.push_back(static_cast<double>(op.latency_ns()) / 1e6);
    }
    for (size_t i = 0; i < run.faults.size(); ++i) {
        FaultRow row { run.faults[i].fault, "?", 0, stall[i] };
        if (i < run.failures.size()) {
            row.cause = run.failures[i].value("cause", std::string("?"));
            row.recovery_ms = run.failures[i].value("recovery_us", 0.0) / 1000.0;
        }
        summary.rows.push_back(row);
    }
    summary.stall_ms = std::move(stall);
    summary.steady_p50_ms = percentile(steady, 0.5);
    summary.steady_p99_ms = percentile(std::move(steady), 0.99);
    return summary;
}

std::string markdown_report(std::vector<ModeSummary> const& modes, std::string const& command, std::string const& machine, unsigned livelock_ms)
{
    std::string out = "# Recovery benchmark\n\n";
    out += fmt::format("Measured with `{}` on {}.\n\n", command, machine);
    out += "An application (2 threads, 4 KiB O_DIRECT reads and writes at random offsets of the FUSE disk file, "
           "one at a time each) runs while faults are injected into the unchanged disk driver, one after another, each "
           "on the driver's next `queue_rq`. Times are milliseconds.\n\n";

    out += "## Recovery time per stage\n\nMedian / longest over the faults; the kernel's own timing of each stage.\n\n";
    std::vector<std::string> header { "stage" };
    for (auto const& mode : modes) {
        header.push_back(mode.mode + " median");
        header.push_back(mode.mode + " max");
    }
    Table stages(header);
    std::vector<std::string> order;
    for (auto const& mode : modes) {
        for (auto const& stage : mode.stages) {
            if (std::ranges::find(order, stage.stage) == order.end())
                order.push_back(stage.stage);
        }
    }
    for (auto const& name : order) {
        std::vector<std::string> row { name };
        for (auto const& mode : modes) {
            auto it = std::ranges::find(mode.stages, name, &StageTimes::stage);
            row.push_back(it == mode.stages.end() ? "-" : ms(median(it->ms)));
            row.push_back(it == mode.stages.end() ? "-" : ms(maximum(it->ms)));
        }
        stages.add_row(row);
    }
    std::vector<std::string> total { "**detection to live again**" };
    for (auto const& mode : modes) {
        total.push_back("**" + ms(median(mode.recovery_ms)) + "**");
        total.push_back("**" + ms(maximum(mode.recovery_ms)) + "**");
    }
    stages.add_row(total);
    out += stages.markdown() + "\n";
    for (auto const& mode : modes) {
        out += fmt::format("- {}: {} faults injected, {} failures recorded; longest recovery {} ms, target < {:.0f} ms: {}.\n", mode.mode,
            mode.faults, mode.records, ms(maximum(mode.recovery_ms)), recovery_target_ms,
            maximum(mode.recovery_ms) < recovery_target_ms ? "met" : "**missed**");
    }

    out += "\n## What the application saw\n\n";
    Table app({ "mode", "operations", "steady p50", "steady p99", "stall median", "stall max", "errors around failures", "errors elsewhere" });
    for (auto const& mode : modes) {
        app.add_row({ mode.mode, std::to_string(mode.operations), ms(mode.steady_p50_ms), ms(mode.steady_p99_ms), ms(median(mode.stall_ms)),
            ms(maximum(mode.stall_ms)), std::to_string(mode.errors_around_failures), std::to_string(mode.errors_elsewhere) });
    }
    out += app.markdown() + "\n";
    out += "A stall is the longest operation in flight between a fault's injection and the driver being live again. "
           "In nooks mode the disk is replaced under the application, so the operations that hit the failure end in errors; "
           "in shadow mode the shadow driver holds them and re-issues them to the recovered driver.\n\n";

    out += "### Per fault\n\n";
    std::vector<std::string> per_header { "fault" };
    for (auto const& mode : modes) {
        per_header.push_back(mode.mode + ": detected as");
        per_header.push_back(mode.mode + ": recovery");
        per_header.push_back(mode.mode + ": stall");
    }
    Table per_fault(per_header, 1);
    for (size_t i = 0; !modes.empty() && i < modes.front().rows.size(); ++i) {
        std::vector<std::string> row { modes.front().rows[i].fault };
        for (auto const& mode : modes) {
            bool have = i < mode.rows.size();
            row.push_back(have ? mode.rows[i].cause : "-");
            row.push_back(have ? ms(mode.rows[i].recovery_ms) : "-");
            row.push_back(have ? ms(mode.rows[i].stall_ms) : "-");
        }
        per_fault.add_row(row);
    }
    out += per_fault.markdown() + "\n";
    out += fmt::format("A fault that makes the driver crash, call what it may not or pass a bad parameter is detected at once; one that makes "
                       "it hang (a corrupted heap can) is detected by the livelock timeout ({} ms here, `isolation.livelock_ms`), which then "
                       "bounds the stall.\n\n",
        livelock_ms);
    for (auto const& mode : modes) {
        if (mode.mode != "shadow")
            continue;
        std::vector<double> immediate;
        std::vector<double> by_timeout;
        for (auto const& row : mode.rows)
            (row.cause == "livelock" ? by_timeout : immediate).push_back(row.stall_ms);
        out += fmt::format("- shadow, faults detected at once: longest stall {} ms, target < {:.0f} ms: {}.\n", ms(maximum(immediate)), stall_target_ms,
            maximum(immediate) < stall_target_ms ? "met" : "**missed**");
        if (!by_timeout.empty())
            out += fmt::format("- shadow, hangs detected by the timeout: longest stall {} ms (the {} ms timeout plus recovery).\n", ms(maximum(by_timeout)),
                livelock_ms);
        out += fmt::format("- shadow: {} I/O errors reached the application.\n", mode.errors_around_failures + mode.errors_elsewhere);
    }
    return out;
}

nlohmann::json json_report(std::vector<ModeSummary> const& modes)
{
    nlohmann::json out = nlohmann::json::array();
    for (auto const& mode : modes) {
        nlohmann::json stages = nlohmann::json::object();
        for (auto const& stage : mode.stages)
            stages[stage.stage] = stage.ms;
        out.push_back({ { "mode", mode.mode }, { "faults", mode.faults }, { "records", mode.records }, { "stages_ms", stages },
            { "recovery_ms", mode.recovery_ms }, { "stall_ms", mode.stall_ms }, { "errors_around_failures", mode.errors_around_failures },
            { "errors_elsewhere", mode.errors_elsewhere }, { "operations", mode.operations }, { "steady_p50_ms", mode.steady_p50_ms },
            { "steady_p99_ms", mode.steady_p99_ms }, { "per_fault", rows_json(mode.rows) } });
    }
    return out;
}

} // namespace nk::bench
