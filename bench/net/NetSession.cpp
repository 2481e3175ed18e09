// SPDX-License-Identifier: MIT
#include "NetSession.h"

#include "../block/CpuTime.h"
#include "../block/KernelLauncher.h"
#include "NetWorkloads.h"
#include "TapForwarder.h"
#include "base/Clock.h"
#include "base/ScopeGuard.h"
#include "harness/Command.h"
#include "harness/KernelProcess.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <fstream>
#include <thread>
#include <unistd.h>

namespace nk::bench {

namespace {

// Names of this run's own: two runs on one machine never share a namespace.
std::string namespace_name(char const* role) { return fmt::format("nkb{}-{}", ::getpid(), role); }

constexpr char const* kernel_subnet = "10.81.0";
constexpr char const* veth_subnet = "10.82.0";
constexpr char const* forwarder_subnet = "10.83.0";

Result<nlohmann::json> control(std::string const& nooks, std::string const& socket, std::string const& command)
{
    auto result = TRY(harness::run_checked({ nooks, "ctl", "--control", socket, "--json", command }, { .timeout = std::chrono::seconds(10) }));
    auto json = nlohmann::json::parse(result.output, nullptr, false);
    if (json.is_discarded())
        return make_error(ErrorCode::Internal, "nooks ctl {} printed no JSON: {}", command, result.output);
    return json;
}

// XPC crossings both ways so far, over every isolated driver.
Result<double> crossings_so_far(std::string const& nooks, std::string const& socket)
{
    auto list = TRY(control(nooks, socket, "list"));
    double crossings = 0;
    for (auto const& module : list.value("modules", nlohmann::json::array())) {
        if (!module.contains("xpc"))
            continue;
        crossings += module["xpc"].value("calls", 0.0) + module["xpc"].value("kernel_calls", 0.0);
    }
    return crossings;
}

// Until the interface has carrier and the peer answers a ping.
Result<void> wait_for_path(NetSides const& sides, std::string const& interface, harness::KernelProcess* kernel)
{
    auto deadline = monotonic_ns() + 30'000'000'000ull;
    for (;;) {
        auto link = harness::run_command({ "ip", "-n", sides.app_namespace, "link", "show", interface }, { .timeout = std::chrono::seconds(3) });
        if (link && link->ok() && link->output.find("LOWER_UP") != std::string::npos) {
            auto ping = harness::run_command({ "ip", "netns", "exec", sides.app_namespace, "ping", "-c", "1", "-W", "1", sides.peer_address },
                { .timeout = std::chrono::seconds(3) });
            if (ping && ping->ok())
                return {};
        }
        if (kernel != nullptr && !kernel->running())
            return make_error(ErrorCode::Unavailable, "the kernel died ({}); end of its log:\n{}", kernel->exit_description(), kernel->log_tail(15));
        if (monotonic_ns() > deadline)
            return make_error(ErrorCode::DeadlineExceeded, "{} in {} never reached {} (carrier and ping) within 30 s", interface, sides.app_namespace,
                sides.peer_address);
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
}

Result<void> run_workloads(NetBenchOptions const& options, NetSides const& sides, NetProbe const& probe, std::string const& dir,
    std::string const& prefix, NetBoot& boot, Progress& progress)
{
    auto workloads = TRY(NetWorkloads::start(sides, options, dir));
    for (auto workload : options.workloads) {
        auto sample = TRY(workloads->measure(workload, probe));
        bool web = workload == NetWorkload::Web;
        auto cost = probe.cpu_seconds ? fmt::format("  CPU {:>5.1f}%  {:>7.1f} µs/{}", sample.cpu_percent(), sample.cpu_us_per_unit(), web ? "req" : "MB")
                                      : std::string("  (no kernel: Linux alone)");
        auto crossings = probe.crossings ? fmt::format("  {:>8.0f} crossings/s", sample.crossings_per_second()) : std::string();
        progress.line("{} {:<8} {:>9.1f} {:<6}{}{}{}", prefix, workload_id(workload), sample.value, workload_unit(workload), cost, crossings,
            web ? fmt::format("  p50 {:.0f} µs p99 {:.0f} µs", sample.latency_p50_us, sample.latency_p99_us) : "");
        boot.samples.push_back(sample);
    }
    return {};
}

} // namespace

NetBoot run_net_boot(NetBenchOptions const& options, std::string const& mode, unsigned repetition, Interrupts& interrupts, Progress& progress)
{
    NetBoot boot { .mode = mode, .repetition = repetition };
    auto prefix = fmt::format("rep {}/{} {:<7}", repetition, options.repetitions, mode);
    auto dir = fmt::format("{}/{}-{}", options.work_dir, repetition, mode);
    std::error_code error;
    std::filesystem::create_directories(dir, error);
    NetSides sides { namespace_name("app"), fmt::format("{}.1", kernel_subnet), namespace_name("peer") + "0", fmt::format("{}.2", kernel_subnet) };
    std::string const interface = "nkb0";
    auto config = dir + "/machine.toml";
    std::ofstream(config) << fmt::format("disk = []\n\n[[nic]]\nname = \"nic0\"\n{}namespace = \"{}\"\ninterface = \"{}\"\naddress = \"{}.1/24\"\n"
                                         "peers = \"{}.2/24\"\npeer_namespace = \"{}\"\nlink_delay_ms = 100\n",
        options.driver.empty() ? std::string() : fmt::format("driver = \"{}\"\n", options.driver), sides.app_namespace, interface, kernel_subnet,
        kernel_subnet, namespace_name("peer"));
    auto socket = dir + "/control.sock";
    auto kernel = harness::KernelProcess::start({ .nooks_binary = options.nooks_binary,
        .args = { "--config", config, "--mode", mode, "--mount", dir + "/disks", "--control", socket },
        .log_path = dir + "/kernel.log" });
    if (!kernel) {
        auto line = kernel_error_line(dir + "/kernel.log");
        boot.error = line.empty() ? kernel.error().message() : line;
        progress.line("{} did not boot: {}", prefix, boot.error);
        return boot;
    }
    interrupts.protect((*kernel)->pid());
    ScopeGuard stop([&] {
        auto pid = (*kernel)->pid();
        if (auto stopped = (*kernel)->stop(); !stopped)
            progress.line("{} warning: {}", prefix, stopped.error().message());
        interrupts.unprotect(pid);
    });
    progress.line("{} kernel up (pid {}), {} in {}", prefix, (*kernel)->pid(), interface, sides.app_namespace);

    auto pid = (*kernel)->pid();
    NetProbe probe { [pid] { return process_tree_cpu_seconds(pid); },
        mode == "native" ? std::function<Result<double>()>() : [&] { return crossings_so_far(options.nooks_binary, socket); } };
    auto ran = [&]() -> Result<void> {
        TRY(wait_for_path(sides, interface, kernel->get()));
        TRY(run_workloads(options, sides, probe, dir, prefix, boot, progress));
        auto failures = TRY(control(options.nooks_binary, socket, "failures"));
        boot.driver_failures = static_cast<unsigned>(failures.value("failures", nlohmann::json::array()).size());
        return {};
    }();
    if (!ran) {
        boot.error = interrupts.requested() ? "interrupted" : ran.error().message();
        progress.line("{} failed: {}", prefix, boot.error);
        return boot;
    }
    if (boot.driver_failures > 0)
        progress.line("{} warning: the driver failed {} time(s) during the run (see {}/kernel.log)", prefix, boot.driver_failures, dir);
    boot.ok = true;
    return boot;
}

namespace {

// A ceiling's run: `body` sets its path up (owning what it made until it
// returns) and runs the workloads through it.
NetBoot run_ceiling(NetBenchOptions const& options, char const* mode, unsigned repetition, Progress& progress,
    std::function<Result<void>(std::string const& dir, std::string const& prefix, NetBoot& boot)> const& body)
{
    NetBoot boot { .mode = mode, .repetition = repetition };
    auto prefix = fmt::format("rep {}/{} {:<7}", repetition, options.repetitions, mode);
    auto dir = fmt::format("{}/{}-{}", options.work_dir, repetition, mode);
    std::error_code error;
    std::filesystem::create_directories(dir, error);
    if (auto ran = body(dir, prefix, boot); !ran) {
        boot.error = ran.error().message();
        progress.line("{} failed: {}", prefix, boot.error);
        return boot;
    }
    boot.ok = true;
    return boot;
}

} // namespace

NetBoot run_veth_ceiling(NetBenchOptions const& options, unsigned repetition, Progress& progress)
{
    return run_ceiling(options, "veth", repetition, progress, [&](std::string const& dir, std::string const& prefix, NetBoot& boot) -> Result<void> {
        NetSides sides { namespace_name("va"), fmt::format("{}.1", veth_subnet), namespace_name("vb"), fmt::format("{}.2", veth_subnet) };
        ScopeGuard remove([&] {
            for (auto const& ns : { sides.app_namespace, sides.peer_namespace })
                (void)harness::run_command({ "ip", "netns", "delete", ns });
        });
        for (auto const& ns : { sides.app_namespace, sides.peer_namespace }) {
            TRY(harness::run_checked({ "ip", "netns", "add", ns }));
            TRY(harness::run_checked({ "ip", "-n", ns, "link", "set", "lo", "up" }));
        }
        TRY(harness::run_checked({ "ip", "-n", sides.app_namespace, "link", "add", "vb0", "type", "veth", "peer", "name", "vb1", "netns", sides.peer_namespace }));
        TRY(harness::run_checked({ "ip", "-n", sides.app_namespace, "address", "add", sides.app_address + "/24", "dev", "vb0" }));
        TRY(harness::run_checked({ "ip", "-n", sides.peer_namespace, "address", "add", sides.peer_address + "/24", "dev", "vb1" }));
        TRY(harness::run_checked({ "ip", "-n", sides.app_namespace, "link", "set", "vb0", "up" }));
        TRY(harness::run_checked({ "ip", "-n", sides.peer_namespace, "link", "set", "vb1", "up" }));
        TRY(wait_for_path(sides, "vb0", nullptr));
        return run_workloads(options, sides, NetProbe {}, dir, prefix, boot, progress);
    });
}

NetBoot run_forwarder_ceiling(NetBenchOptions const& options, unsigned repetition, Progress& progress)
{
    return run_ceiling(options, "forwarder", repetition, progress, [&](std::string const& dir, std::string const& prefix, NetBoot& boot) -> Result<void> {
        NetSides sides { namespace_name("fa"), fmt::format("{}.1", forwarder_subnet), namespace_name("fb"), fmt::format("{}.2", forwarder_subnet) };
        auto forwarder = TRY(TapForwarder::start({ sides.app_namespace, sides.app_address + "/24", sides.peer_namespace, sides.peer_address + "/24" }));
        TRY(wait_for_path(sides, "nkf0", nullptr));
        NetProbe probe { [&forwarder] { return forwarder->cpu_seconds(); }, {} };
        return run_workloads(options, sides, probe, dir, prefix, boot, progress);
    });
}

} // namespace nk::bench
