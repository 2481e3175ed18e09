// SPDX-License-Identifier: MIT
// nooks-bench-net: the net path under real network programs, for every
// requested isolation mode in one run. Each repetition boots a kernel
// (`nooks run`, one NIC, no disk) once per mode, in rotating order, and runs
// the same workloads through it (iperf3 both ways, nginx under wrk); the
// report compares the modes by their ratios, with the CPU the kernel and the
// driver's domain spent beside them, and a veth pair as the ceiling.

#include "../block/BenchOptions.h"
#include "../block/Interrupts.h"
#include "../block/Machine.h"
#include "../block/Progress.h"
#include "NetBench.h"
#include "NetReport.h"
#include "NetSession.h"
#include "base/Clock.h"
#include "base/ScopeGuard.h"
#include "harness/Command.h"
#include "harness/KernelProcess.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace nk::bench {

namespace {

int fail(std::string const& message) { return report_failure("nooks-bench-net", message); }


// What the run cannot do without, checked before anything starts.
std::string missing_prerequisite()
{
    if (::geteuid() != 0)
        return "needs root (network namespaces and TAP devices); run it with sudo";
    if (::access("/dev/net/tun", R_OK | W_OK) != 0)
        return "needs /dev/net/tun (TUN/TAP in the kernel)";
    for (auto const* program : { "ip", "ping", "curl", "iperf3", "nginx", "wrk" }) {
        if (!harness::have_program(program))
            return fmt::format("needs {} (scripts/install-deps.sh installs it)", program);
    }
    return {};
}

} // namespace

int run(int argc, char** argv)
{
    CLI::App app { "nooks-bench-net: iperf3 and nginx through the net driver, native vs isolated, with CPU per MB and per request" };
    NetBenchOptions options;
    std::string modes = "native,nooks,shadow";
    std::string workloads = "send,receive,web";
    std::string json_path;
    bool no_ceiling = false;
    bool no_stall = false;
    bool keep = false;
    bool quick = false;
    app.add_option("--modes", modes, "Comma-separated modes to compare: native, nooks, shadow (default: native,nooks,shadow)");
    app.add_option("--workloads", workloads, "Comma-separated: send, receive, web (default: all)");
    app.add_option("--repetitions", options.repetitions, "Boots per mode (default: 3)")->check(CLI::Range(1, 100));
    app.add_option("--seconds", options.seconds, "Seconds per measurement (default: 5)")->check(CLI::Range(1.0, 600.0));
    app.add_option("--connections", options.connections, "wrk's open connections (default: 16)")->check(CLI::Range(1, 1024));
    app.add_flag("--no-ceiling", no_ceiling, "Do not measure the ceilings (the TAP-to-TAP forwarder, the veth pair)");
    app.add_flag("--no-stall", no_stall, "Do not measure a TCP stream's stall around a driver failure (isolated modes)");
    app.add_option("--link-delay-ms", options.link_delay_ms, "The NIC's link negotiation time after a reset (default: the NIC's own, 500)")
        ->check(CLI::Range(0, 10'000));
    app.add_flag("--quick", quick, "The short form for CI: 1 repetition of 2 s per workload (unless --repetitions or --seconds say otherwise)");
    app.add_option("--driver", options.driver, "Net driver file (default: nknet.so next to nooks)");
    app.add_option("--work-dir", options.work_dir, "Where logs and the programs' reports go (default: a new directory in /tmp)");
    app.add_flag("--keep", keep, "Keep the work directory");
    app.add_option("--output", options.output, "Write the Markdown report here (it is printed too)");
    app.add_option("--json", json_path, "Write every sample as JSON here");
    CLI11_PARSE(app, argc, argv);

    options.modes = split_list(modes);
    if (options.modes.empty())
        return fail("--modes: no mode given");
    for (auto const& mode : options.modes) {
        if (mode != "native" && mode != "nooks" && mode != "shadow")
            return fail(fmt::format("--modes: unknown mode '{}' (native, nooks, shadow)", mode));
    }
    options.workloads.clear();
    for (auto const& name : split_list(workloads)) {
        if (name == "send")
            options.workloads.push_back(NetWorkload::Send);
        else if (name == "receive")
            options.workloads.push_back(NetWorkload::Receive);
        else if (name == "web")
            options.workloads.push_back(NetWorkload::Web);
        else
            return fail(fmt::format("--workloads: unknown workload '{}' (send, receive, web)", name));
    }
    if (options.workloads.empty())
        return fail("--workloads: no workload given");
    if (quick) {
        // The short form's defaults; what was given explicitly stays.
        if (app.count("--repetitions") == 0)
            options.repetitions = 1;
        if (app.count("--seconds") == 0)
            options.seconds = 2;
    }
    options.ceiling = !no_ceiling;
    options.stall = !no_stall;
    if (!options.driver.empty()) {
        if (::access(options.driver.c_str(), R_OK) != 0)
            return fail(fmt::format("--driver {}: no such readable file", options.driver));
        options.driver = std::filesystem::absolute(options.driver).lexically_normal().string();
    }
    if (auto missing = missing_prerequisite(); !missing.empty())
        return fail(missing);
    options.nooks_binary = harness::find_nooks_binary();
    if (::access(options.nooks_binary.c_str(), X_OK) != 0)
        return fail(fmt::format("cannot find the nooks binary (looked for {})", options.nooks_binary));

    bool made_work_dir = false;
    if (options.work_dir.empty()) {
        char pattern[] = "/tmp/nooks-bench-net-XXXXXX";
        if (::mkdtemp(pattern) == nullptr)
            return fail("cannot create a work directory in /tmp");
        options.work_dir = pattern;
        made_work_dir = true;
    }
    ScopeGuard cleanup([&] {
        if (made_work_dir && !keep) {
            std::error_code error;
            std::filesystem::remove_all(options.work_dir, error);
        }
    });

    Interrupts interrupts;
    Progress progress;
    NetRunInfo info { .machine = describe_machine(), .command_line = quoted_arguments(argc, argv) };
    progress.line("nooks-bench-net: {} x {} s per workload, modes {}, work directory {}", options.repetitions, options.seconds, modes, options.work_dir);
    auto start = monotonic_ns();
    std::vector<NetBoot> boots;
    for (unsigned repetition = 1; repetition <= options.repetitions && !interrupts.requested(); ++repetition) {
        // Rotating order: no mode always runs first (or right after another).
        auto order = options.modes;
        std::rotate(order.begin(), order.begin() + static_cast<long>((repetition - 1) % order.size()), order.end());
        for (auto const& mode : order) {
            if (interrupts.requested())
                break;
            boots.push_back(run_net_boot(options, mode, repetition, interrupts, progress));
        }
        if (options.ceiling && !interrupts.requested())
            boots.push_back(run_forwarder_ceiling(options, repetition, progress));
        if (options.ceiling && !interrupts.requested())
            boots.push_back(run_veth_ceiling(options, repetition, progress));
    }
    info.seconds = static_cast<double>(monotonic_ns() - start) / 1e9;

    auto markdown = net_report_markdown(options, info, boots);
    std::printf("\n%s", markdown.c_str());
    if (!options.output.empty())
        std::ofstream(options.output) << markdown;
    if (!json_path.empty())
        std::ofstream(json_path) << net_report_json(options, info, boots).dump(2) << '\n';
    if (interrupts.requested())
        return fail("interrupted");
    bool all_ok = std::ranges::all_of(boots, [](NetBoot const& boot) { return boot.ok; });
    return all_ok ? 0 : fail("some boots failed (see the report's Problems)");
}

} // namespace nk::bench

int main(int argc, char** argv) { return nk::bench::run(argc, argv); }
