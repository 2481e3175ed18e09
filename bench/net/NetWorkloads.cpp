// SPDX-License-Identifier: MIT
#include "NetWorkloads.h"

#include "base/Clock.h"
#include "base/Spawn.h"
#include "harness/Command.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <regex>
#include <spawn.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace nk::bench {

namespace {

constexpr int web_port = 8080;
constexpr size_t page_bytes = 1024;

std::vector<std::string> in_namespace(std::string const& ns, std::vector<std::string> argv)
{
    std::vector<std::string> full { "ip", "netns", "exec", ns };
    full.insert(full.end(), argv.begin(), argv.end());
    return full;
}

// The microseconds of a wrk latency ("812.00us", "1.20ms", "2.00s").
double wrk_time_us(std::string const& number, std::string const& unit)
{
    double value = std::stod(number);
    if (unit == "ms")
        return value * 1e3;
    if (unit == "s")
        return value * 1e6;
    return value;
}

} // namespace

char const* workload_id(NetWorkload workload)
{
    switch (workload) {
    case NetWorkload::Send: return "send";
    case NetWorkload::Receive: return "receive";
    case NetWorkload::Web: return "web";
    }
    return "?";
}

char const* workload_label(NetWorkload workload)
{
    switch (workload) {
    case NetWorkload::Send: return "Send-stream (iperf3, TCP)";
    case NetWorkload::Receive: return "Receive-stream (iperf3 -R, TCP)";
    case NetWorkload::Web: return "Serve-simple-web-page (nginx 1 KiB, wrk)";
    }
    return "?";
}

char const* workload_unit(NetWorkload workload) { return workload == NetWorkload::Web ? "req/s" : "Mbit/s"; }

Result<pid_t> spawn_in_namespace(std::string const& ns, std::vector<std::string> const& argv, std::string const& log)
{
    auto full = in_namespace(ns, argv);
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return std::unexpected(Error::from_errno(errno, fmt::format("open {}", log)));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, fd, STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, fd, STDERR_FILENO);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    set_clean_spawn_state(attributes, ProcessGroup::Own);
    std::vector<char*> args;
    for (auto const& arg : full)
        args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    pid_t pid = 0;
    int spawned = ::posix_spawnp(&pid, args[0], &actions, &attributes, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    ::close(fd);
    if (spawned != 0)
        return std::unexpected(Error::from_errno(spawned, fmt::format("start {}", argv[0])));
    return pid;
}

Result<std::unique_ptr<NetWorkloads>> NetWorkloads::start(NetSides sides, NetBenchOptions const& options, std::string dir)
{
    std::unique_ptr<NetWorkloads> workloads(new NetWorkloads(std::move(sides), options, std::move(dir)));
    TRY(workloads->start_servers());
    return workloads;
}

NetWorkloads::~NetWorkloads()
{
    for (auto* server : { &m_iperf3, &m_nginx }) {
        if (server->started())
            (void)server->stop(std::chrono::seconds(5));
    }
}

Result<void> NetWorkloads::start_servers()
{
    std::error_code error;
    auto www = m_dir + "/www";
    std::filesystem::create_directories(www, error);
    std::filesystem::create_directories(m_dir + "/nginx-temp", error);
    if (error)
        return make_error(ErrorCode::FailedPrecondition, "cannot create {}: {}", www, error.message());
    std::ofstream(www + "/1k.html") << std::string(page_bytes - 1, 'x') << '\n';
    auto config = m_dir + "/nginx.conf";
    std::ofstream(config) << fmt::format(
        "worker_processes 1;\n"
        "master_process off;\n"
        "daemon off;\n"
        "pid {0}/nginx.pid;\n"
        "error_log {0}/nginx-error.log;\n"
        "events {{ worker_connections 1024; }}\n"
        "http {{\n"
        "  access_log off;\n"
        "  client_body_temp_path {0}/nginx-temp;\n"
        "  keepalive_requests 100000000;\n"
        "  server {{ listen {1}:{2}; root {0}/www; }}\n"
        "}}\n",
        m_dir, m_sides.app_address, web_port);

    bool want_web = std::ranges::find(m_options.workloads, NetWorkload::Web) != m_options.workloads.end();
    bool want_streams = std::ranges::any_of(m_options.workloads, [](NetWorkload w) { return w != NetWorkload::Web; });
    if (want_streams)
        m_iperf3.adopt(TRY(spawn_in_namespace(m_sides.peer_namespace, { "iperf3", "-s", "-B", m_sides.peer_address }, m_dir + "/iperf3-server.log")));
    if (want_web)
        m_nginx.adopt(TRY(spawn_in_namespace(m_sides.app_namespace, { "nginx", "-c", config }, m_dir + "/nginx.log")));

    // Both answer within seconds, or something is wrong with the path.
    auto deadline = monotonic_ns() + 15'000'000'000ull;
    for (;;) {
        bool ready = true;
        if (want_web) {
            auto probe = harness::run_command(in_namespace(m_sides.peer_namespace,
                                                  { "curl", "-s", "-o", "/dev/null", "-m", "1", "-w", "%{http_code}",
                                                      fmt::format("http://{}:{}/1k.html", m_sides.app_address, web_port) }),
                { .timeout = std::chrono::seconds(3) });
            ready = probe && probe->output == "200";
        }
        if (ready && want_streams) {
            auto probe = harness::run_command(in_namespace(m_sides.app_namespace, { "iperf3", "-c", m_sides.peer_address, "-n", "64K" }),
                { .timeout = std::chrono::seconds(5) });
            ready = probe && probe->ok();
        }
        if (ready)
            return {};
        if (m_nginx.started() && !m_nginx.running())
            return make_error(ErrorCode::FailedPrecondition, "nginx exited ({}); see {}/nginx-error.log", m_nginx.exit_description(), m_dir);
        if (m_iperf3.started() && !m_iperf3.running())
            return make_error(ErrorCode::FailedPrecondition, "the iperf3 server exited ({}); see {}/iperf3-server.log", m_iperf3.exit_description(), m_dir);
        if (monotonic_ns() > deadline)
            return make_error(ErrorCode::DeadlineExceeded, "the servers did not answer within 15 s across {} -> {}", m_sides.app_address,
                m_sides.peer_address);
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
}

Result<NetSample> NetWorkloads::measure(NetWorkload workload, NetProbe const& probe)
{
    // Warm-up: TCP's window and the caches, unmeasured.
    if (workload == NetWorkload::Web)
        TRY(run_wrk(1));
    else
        TRY(run_iperf3(workload, 1, m_dir + "/warmup.json"));
    auto cpu_before = probe.cpu_seconds ? TRY(probe.cpu_seconds()) : 0.0;
    auto crossings_before = probe.crossings ? TRY(probe.crossings()) : 0.0;
    auto start = monotonic_ns();
    auto sample = workload == NetWorkload::Web ? TRY(run_wrk(m_options.seconds))
                                               : TRY(run_iperf3(workload, m_options.seconds, fmt::format("{}/{}.json", m_dir, workload_id(workload))));
    auto wall = static_cast<double>(monotonic_ns() - start) / 1e9;
    if (probe.cpu_seconds)
        sample.cpu_seconds = TRY(probe.cpu_seconds()) - cpu_before;
    if (probe.crossings)
        sample.crossings = TRY(probe.crossings()) - crossings_before;
    // CPU and crossings are read around the program, so their rates are per
    // second of that interval (the client's start-up costs the kernel next to nothing).
    sample.wall_seconds = wall;
    return sample;
}

Result<NetSample> NetWorkloads::run_iperf3(NetWorkload workload, double seconds, std::string const& report)
{
    std::vector<std::string> argv { "iperf3", "-c", m_sides.peer_address, "-t", fmt::format("{}", seconds), "-J" };
    if (workload == NetWorkload::Receive)
        argv.push_back("-R");
    auto result = TRY(harness::run_command(in_namespace(m_sides.app_namespace, argv),
        { .timeout = std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000) + 30'000) }));
    std::ofstream(report) << result.output;
    if (!result.ok())
        return make_error(ErrorCode::Internal, "iperf3 {}: {}", workload_id(workload), result.describe());
    auto json = nlohmann::json::parse(result.output, nullptr, false);
    if (json.is_discarded() || !json.contains("end") || !json["end"].contains("sum_received"))
        return make_error(ErrorCode::Internal, "iperf3 {}: no report in its output (see {})", workload_id(workload), report);
    auto const& received = json["end"]["sum_received"];
    NetSample sample;
    sample.workload = workload;
    sample.value = received.value("bits_per_second", 0.0) / 1e6;
    sample.units = received.value("bytes", 0.0) / 1e6;
    return sample;
}

Result<NetSample> NetWorkloads::run_wrk(double seconds)
{
    auto url = fmt::format("http://{}:{}/1k.html", m_sides.app_address, web_port);
    auto result = TRY(harness::run_command(in_namespace(m_sides.peer_namespace,
                                               { "wrk", "-t1", fmt::format("-c{}", m_options.connections), fmt::format("-d{}s", std::max(1.0, seconds)),
                                                   "--latency", url }),
        { .timeout = std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000) + 30'000) }));
    if (!result.ok())
        return make_error(ErrorCode::Internal, "wrk: {}", result.describe());
    NetSample sample;
    sample.workload = NetWorkload::Web;
    std::smatch match;
    auto const& out = result.output;
    static std::regex const requests(R"((\d+) requests in )");
    static std::regex const rate(R"(Requests/sec:\s+([0-9.]+))");
    static std::regex const p50(R"(\n\s+50%\s+([0-9.]+)(us|ms|s))");
    static std::regex const p99(R"(\n\s+99%\s+([0-9.]+)(us|ms|s))");
    static std::regex const errors(R"(Non-2xx or 3xx responses: (\d+)|Socket errors: .*)");
    if (!std::regex_search(out, match, requests))
        return make_error(ErrorCode::Internal, "wrk printed no request count: {}", result.describe());
    sample.units = std::stod(match[1].str());
    if (std::regex_search(out, match, rate))
        sample.value = std::stod(match[1].str());
    if (std::regex_search(out, match, p50))
        sample.latency_p50_us = wrk_time_us(match[1].str(), match[2].str());
    if (std::regex_search(out, match, p99))
        sample.latency_p99_us = wrk_time_us(match[1].str(), match[2].str());
    if (std::regex_search(out, match, errors))
        return make_error(ErrorCode::Internal, "wrk saw failed requests ({}): {}", match[0].str(), result.describe());
    return sample;
}

} // namespace nk::bench
