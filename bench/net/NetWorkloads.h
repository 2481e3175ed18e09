// SPDX-License-Identifier: MIT
#pragma once

// The programs a net measurement runs, in two network namespaces: the
// application's side ("app": the kernel's TAP interface, or one end of a veth
// pair) and the far side ("peer": a peer host on the NIC's wire, or the other
// end). Streams: iperf3 from the app side to an iperf3 server on the peer
// (send), and back (receive, iperf3 -R). Pages: nginx on the app side serving
// a 1 KiB file, loaded by wrk from the peer. Servers run as children of this
// process (never of the kernel: their CPU time is not the kernel's) and are
// stopped by the destructor.

#include "NetBench.h"
#include "base/Error.h"
#include "harness/ChildProcess.h"

#include <functional>
#include <memory>
#include <string>

namespace nk::bench {

struct NetSides {
    std::string app_namespace;
    std::string app_address; // without the prefix length
    std::string peer_namespace;
    std::string peer_address;
};

// What a measurement reads around itself: the CPU seconds and crossings so
// far of whatever carries the traffic (zero for the veth ceiling).
struct NetProbe {
    std::function<Result<double>()> cpu_seconds;
    std::function<Result<double>()> crossings;
};

class NetWorkloads {
public:
    // Starts the servers (iperf3 on the peer, nginx on the app side) and
    // waits until both answer. `dir` holds their configuration and logs.
    static Result<std::unique_ptr<NetWorkloads>> start(NetSides sides, NetBenchOptions const& options, std::string dir);
    ~NetWorkloads();
    NetWorkloads(NetWorkloads const&) = delete;
    NetWorkloads& operator=(NetWorkloads const&) = delete;

    // A warm-up of one second, then the measured run of options.seconds.
    Result<NetSample> measure(NetWorkload workload, NetProbe const& probe);

private:
    NetWorkloads(NetSides sides, NetBenchOptions const& options, std::string dir)
        : m_sides(std::move(sides))
        , m_options(options)
        , m_dir(std::move(dir))
    {
    }
    Result<void> start_servers();
    Result<NetSample> run_iperf3(NetWorkload workload, double seconds, std::string const& report);
    Result<NetSample> run_wrk(double seconds);

    NetSides m_sides;
    NetBenchOptions const& m_options;
    std::string m_dir;
    harness::ChildProcess m_iperf3 { "iperf3 server" };
    harness::ChildProcess m_nginx { "nginx" };
};

// Runs `argv` in network namespace `ns` (ip netns exec) and returns its pid;
// stdout and stderr go to `log`.
Result<pid_t> spawn_in_namespace(std::string const& ns, std::vector<std::string> const& argv, std::string const& log);

} // namespace nk::bench
