// SPDX-License-Identifier: MIT
#include "NetReport.h"

#include "../block/Summary.h"
#include "../block/Table.h"

#include <algorithm>
#include <fmt/format.h>
#include <functional>
#include <optional>

namespace nk::bench {

namespace {

// Every sample of `mode` for `workload`, through `field`.
std::vector<double> collect(std::vector<NetBoot> const& boots, std::string const& mode, NetWorkload workload,
    std::function<double(NetSample const&)> const& field)
{
    std::vector<double> values;
    for (auto const& boot : boots) {
        if (boot.mode != mode || !boot.ok)
            continue;
        for (auto const& sample : boot.samples) {
            if (sample.workload == workload)
                values.push_back(field(sample));
        }
    }
    return values;
}

std::vector<std::string> report_modes(NetBenchOptions const& options)
{
    auto modes = options.modes;
    if (options.ceiling) {
        modes.push_back("forwarder");
        modes.push_back("veth");
    }
    return modes;
}

} // namespace

std::string net_report_markdown(NetBenchOptions const& options, NetRunInfo const& info, std::vector<NetBoot> const& boots)
{
    std::string out = "# nooks-bench-net\n\n";
    out += fmt::format("Run {} on {} ({} CPUs, {}), {}; load average {:.2f} at the start. `nooks-bench-net {}`, {:.0f} s in all.\n\n", info.machine.date,
        info.machine.cpu_model, info.machine.cpus, info.machine.memory, info.machine.kernel, info.machine.load_average, info.command_line, info.seconds);
    out += fmt::format("Each repetition ({} in all) boots the kernel once per mode, in rotating order, with one NKNIC driven by nknet and one peer "
                       "host on its wire; each workload runs {} s after a 1 s warm-up. The application (the iperf3 client, nginx) runs on the "
                       "kernel's side of the NIC, its counterpart (the iperf3 server, wrk with {} connections) on the peer, so every frame "
                       "crosses the driver. CPU is the kernel process tree's user + system time during the measurement (the kernel, the "
                       "emulated NIC and wire, and the driver's protection domain); the applications' own CPU is not in it. Two ceilings: "
                       "`forwarder` is the same TAP-to-TAP path through a trivial forwarder (a thread per direction copying frames from "
                       "one TAP to the other; its CPU is charged like the kernel's), and `veth` a veth pair between two namespaces (Linux "
                       "alone).\n\n",
        options.repetitions, options.seconds, options.connections);
    auto modes = report_modes(options);
    for (auto workload : options.workloads) {
        bool web = workload == NetWorkload::Web;
        out += fmt::format("## {}\n\n", workload_label(workload));
        std::vector<std::string> header { "mode", workload_unit(workload), "vs native", "CPU % (kernel+domain)",
            web ? "CPU µs/request" : "CPU µs/MB", "CPU/unit vs native", "crossings/s" };
        if (web) {
            header.push_back("p50 µs");
            header.push_back("p99 µs");
        }
        Table table(header);
        auto native_value = summarize(collect(boots, "native", workload, [](NetSample const& s) { return s.value; }));
        auto native_cpu = summarize(collect(boots, "native", workload, [](NetSample const& s) { return s.cpu_us_per_unit(); }));
        for (auto const& mode : modes) {
            auto value = summarize(collect(boots, mode, workload, [](NetSample const& s) { return s.value; }));
            if (!value) {
                table.add_row({ mode, "did not run", "", "", "", "", "" });
                continue;
            }
            bool ceiling = mode == "veth"; // Linux alone: no CPU of ours to charge
            auto cpu = summarize(collect(boots, mode, workload, [](NetSample const& s) { return s.cpu_percent(); }));
            auto per_unit = summarize(collect(boots, mode, workload, [](NetSample const& s) { return s.cpu_us_per_unit(); }));
            auto crossings = summarize(collect(boots, mode, workload, [](NetSample const& s) { return s.crossings_per_second(); }));
            std::vector<std::string> row { mode, with_range(value, web ? "{:.0f}" : "{:.0f}"), ratio(value, native_value),
                ceiling ? "—" : with_range(cpu, "{:.0f}"), ceiling ? "—" : with_range(per_unit, "{:.0f}"), ceiling ? "—" : ratio(per_unit, native_cpu),
                mode == "native" || mode == "forwarder" || ceiling ? "—" : with_range(crossings, "{:.0f}") };
            if (web) {
                row.push_back(with_range(summarize(collect(boots, mode, workload, [](NetSample const& s) { return s.latency_p50_us; })), "{:.0f}"));
                row.push_back(with_range(summarize(collect(boots, mode, workload, [](NetSample const& s) { return s.latency_p99_us; })), "{:.0f}"));
            }
            table.add_row(std::move(row));
        }
        out += table.markdown() + "\n";
        // The shadow driver's passive taps, measured against nooks alone (same domain, same crossings).
        auto nooks_value = summarize(collect(boots, "nooks", workload, [](NetSample const& s) { return s.value; }));
        auto shadow_value = summarize(collect(boots, "shadow", workload, [](NetSample const& s) { return s.value; }));
        if (nooks_value && shadow_value && nooks_value->median > 0) {
            auto nooks_cpu = summarize(collect(boots, "nooks", workload, [](NetSample const& s) { return s.cpu_us_per_unit(); }));
            auto shadow_cpu = summarize(collect(boots, "shadow", workload, [](NetSample const& s) { return s.cpu_us_per_unit(); }));
            out += fmt::format("Shadow at {:.2f} of nooks (CPU per {} {} of nooks').\n\n", shadow_value->median / nooks_value->median,
                web ? "request" : "MB", ratio(shadow_cpu, nooks_cpu));
        }
        auto forwarder = summarize(collect(boots, "forwarder", workload, [](NetSample const& s) { return s.value; }));
        if (native_value && forwarder && forwarder->median > 0) {
            out += fmt::format("Native at {:.2f} of the forwarder's ceiling{}.\n\n", native_value->median / forwarder->median,
                std::ranges::find(options.modes, "nooks") != options.modes.end()
                    ? fmt::format(", nooks at {:.2f}", summarize(collect(boots, "nooks", workload, [](NetSample const& s) { return s.value; }))
                                                            .value_or(Summary {})
                                                            .median
                            / forwarder->median)
                    : std::string());
        }
    }
    // The stall of a stream around one driver failure, per isolated mode.
    if (std::ranges::any_of(boots, [](NetBoot const& boot) { return boot.stall.measured || !boot.stall.error.empty(); })) {
        out += "## A TCP stream around a driver failure\n\n";
        out += fmt::format("After the workloads, each isolated boot streams TCP from the peer to the application for 5 s and fails the driver "
               "once (null-deref in its receive poll) 1.5 s in. The receiver's longest wait between two reads is the stall the "
               "application saw; restart is the recovery manager's time from detection to the restarted instance; in shadow mode, "
               "replayed is the time from the failure until the new instance had the device's configuration, and link the time "
               "from then until the NIC's link was up again (the NIC renegotiates after the reset: `link_delay_ms`, here {}).\n\n", options.link_delay_ms >= 0 ? fmt::format("{} ms", options.link_delay_ms) : std::string("its default, 500 ms"));
        Table table({ "mode", "longest stall ms", "restart ms", "replayed ms", "link ms", "MB received" });
        for (auto const& mode : options.modes) {
            for (auto const& boot : boots) {
                if (boot.mode != mode || (!boot.stall.measured && boot.stall.error.empty()))
                    continue;
                if (!boot.stall.measured) {
                    table.add_row({ mode, "not measured: " + boot.stall.error, "", "", "", "" });
                    continue;
                }
                bool shadow = mode == "shadow";
                table.add_row({ mode, fmt::format("{:.0f}", boot.stall.longest_gap_ms), fmt::format("{:.1f}", boot.stall.restart_ms),
                    shadow ? fmt::format("{:.1f}", boot.stall.replay_ms) : "—", shadow ? fmt::format("{:.0f}", boot.stall.link_ms) : "—",
                    fmt::format("{:.0f}", boot.stall.megabytes) });
            }
        }
        out += table.markdown() + "\n";
    }
    std::string problems;
    for (auto const& boot : boots) {
        if (!boot.ok)
            problems += fmt::format("- repetition {} {}: {}\n", boot.repetition, boot.mode, boot.error);
        else if (boot.driver_failures > 0)
            problems += fmt::format("- repetition {} {}: the driver failed {} time(s) during the run; its numbers include the recovery\n",
                boot.repetition, boot.mode, boot.driver_failures);
    }
    if (!problems.empty())
        out += "## Problems\n\n" + problems + "\n";
    return out;
}

nlohmann::json net_report_json(NetBenchOptions const& options, NetRunInfo const& info, std::vector<NetBoot> const& boots)
{
    nlohmann::json json;
    json["machine"] = { { "date", info.machine.date }, { "cpu", info.machine.cpu_model }, { "cpus", info.machine.cpus },
        { "memory", info.machine.memory }, { "kernel", info.machine.kernel }, { "load_average", info.machine.load_average } };
    json["command"] = info.command_line;
    json["seconds_per_workload"] = options.seconds;
    json["repetitions"] = options.repetitions;
    json["boots"] = nlohmann::json::array();
    for (auto const& boot : boots) {
        nlohmann::json entry { { "mode", boot.mode }, { "repetition", boot.repetition }, { "ok", boot.ok }, { "error", boot.error },
            { "driver_failures", boot.driver_failures }, { "samples", nlohmann::json::array() } };
        for (auto const& sample : boot.samples) {
            entry["samples"].push_back({ { "workload", workload_id(sample.workload) }, { "value", sample.value }, { "unit", workload_unit(sample.workload) },
                { "wall_seconds", sample.wall_seconds }, { "cpu_seconds", sample.cpu_seconds }, { "units", sample.units },
                { "cpu_us_per_unit", sample.cpu_us_per_unit() }, { "cpu_percent", sample.cpu_percent() }, { "crossings", sample.crossings },
                { "crossings_per_second", sample.crossings_per_second() }, { "latency_p50_us", sample.latency_p50_us },
                { "latency_p99_us", sample.latency_p99_us } });
        }
        if (boot.stall.measured || !boot.stall.error.empty())
            entry["stall"] = { { "measured", boot.stall.measured }, { "error", boot.stall.error }, { "longest_gap_ms", boot.stall.longest_gap_ms },
                { "at_seconds", boot.stall.at_seconds }, { "megabytes", boot.stall.megabytes }, { "restart_ms", boot.stall.restart_ms },
                { "replay_ms", boot.stall.replay_ms }, { "link_ms", boot.stall.link_ms } };
        json["boots"].push_back(std::move(entry));
    }
    return json;
}

} // namespace nk::bench
