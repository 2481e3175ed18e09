// SPDX-License-Identifier: MIT
#include "NetSession.h"

#include "../block/CpuTime.h"
#include "../block/KernelControl.h"
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
#include <future>
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

// The stream's two ends. The sender writes as fast as it can; the receiver
// reads for `seconds` and reports its longest wait between two reads.
constexpr char const* stall_sender = R"(import socket, sys
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((sys.argv[1], 7781))
l.listen(1)
c, _ = l.accept()
buf = b'\0' * 65536
try:
    while True:
        c.sendall(buf)
except OSError:
    pass
)";

constexpr char const* stall_receiver = R"(import json, socket, sys, time
deadline = time.monotonic() + 10
while True:
    try:
        s = socket.create_connection((sys.argv[1], 7781), timeout=2)
        break
    except OSError:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.1)
s.settimeout(30)
start = last = time.monotonic()
gap = gap_at = 0.0
total = 0
while last - start < float(sys.argv[2]):
    n = len(s.recv(65536))
    now = time.monotonic()
    if n == 0:
        break
    if now - last > gap:
        gap, gap_at = now - last, last - start
    last = now
    total += n
print(json.dumps({'bytes': total, 'gap_ms': gap * 1000, 'at_s': gap_at}))
)";

// One failure under a TCP stream: injected 1.5 s into a 5 s stream.
NetStall measure_stall(NetBenchOptions const& options, NetSides const& sides, std::string const& socket, std::string const& dir)
{
    NetStall stall;
    auto measured = [&]() -> Result<void> {
        harness::ChildProcess sender("stall sender");
        sender.adopt(TRY(spawn_in_namespace(sides.peer_namespace, { "/usr/bin/python3", "-c", stall_sender, sides.peer_address }, dir + "/stall-sender.log")));
        ScopeGuard stop_sender([&] { (void)sender.stop(std::chrono::seconds(2)); });
        auto receiver = std::async(std::launch::async, [&] {
            return harness::run_command({ "ip", "netns", "exec", sides.app_namespace, "/usr/bin/python3", "-c", stall_receiver, sides.peer_address, "5" },
                { .timeout = std::chrono::seconds(60) });
        });
        std::this_thread::sleep_for(std::chrono::milliseconds(1500));
        auto injected = harness::run_command({ options.nooks_binary, "ctl", "--control", socket, "inject", "nknet", "null-deref", "--entry", "napi_poll" },
            { .timeout = std::chrono::seconds(10) });
        auto result = TRY(receiver.get());
        if (!injected || !injected->ok())
            return make_error(ErrorCode::Internal, "injecting the fault failed: {}", injected ? injected->output : injected.error().message());
        if (!result.ok())
            return make_error(ErrorCode::Unavailable, "the stream broke: {}", result.output);
        auto json = nlohmann::json::parse(result.output, nullptr, false);
        if (json.is_discarded())
            return make_error(ErrorCode::Internal, "the receiver printed no JSON: {}", result.output);
        stall.longest_gap_ms = json.value("gap_ms", 0.0);
        stall.at_seconds = json.value("at_s", 0.0);
        stall.megabytes = json.value("bytes", 0.0) / 1e6;
        // Where the time went: the recovery manager's record, and the shadow's.
        auto failures = TRY(kernel_control(options.nooks_binary, socket, "failures")).value("failures", nlohmann::json::array());
        if (failures.empty())
            return make_error(ErrorCode::Internal, "the fault did not fire");
        stall.restart_ms = failures.back().value("recovery_us", 0.0) / 1000;
        auto list = TRY(kernel_control(options.nooks_binary, socket, "list"));
        auto shadowed = list.value("/classes/net/shadow/net_devices"_json_pointer, nlohmann::json::array());
        if (!shadowed.empty()) {
            stall.replay_ms = shadowed[0].value("last_stall_us", 0.0) / 1000;
            stall.link_ms = shadowed[0].value("last_link_wait_us", 0.0) / 1000;
        }
        return {};
    }();
    if (!measured)
        stall.error = measured.error().message();
    stall.measured = measured.has_value();
    return stall;
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
                                         "peers = \"{}.2/24\"\npeer_namespace = \"{}\"\n{}",
        options.driver.empty() ? std::string() : fmt::format("driver = \"{}\"\n", options.driver), sides.app_namespace, interface, kernel_subnet,
        kernel_subnet, namespace_name("peer"),
        options.link_delay_ms >= 0 ? fmt::format("link_delay_ms = {}\n", options.link_delay_ms) : std::string());
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
        auto failures = TRY(kernel_control(options.nooks_binary, socket, "failures"));
        boot.driver_failures = static_cast<unsigned>(failures.value("failures", nlohmann::json::array()).size());
        if (options.stall && mode != "native") {
            boot.stall = measure_stall(options, sides, socket, dir);
            if (boot.stall.measured)
                progress.line("{} stall    {:>7.1f} ms longest wait of a TCP stream around a driver failure (restart {:.1f} ms{})", prefix,
                    boot.stall.longest_gap_ms, boot.stall.restart_ms,
                    mode == "shadow" ? fmt::format(", replayed after {:.1f} ms, link up {:.1f} ms later", boot.stall.replay_ms, boot.stall.link_ms)
                                     : std::string());
            else
                progress.line("{} stall    not measured: {}", prefix, boot.stall.error);
        }
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
