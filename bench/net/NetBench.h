// SPDX-License-Identifier: MIT
#pragma once

// nooks-bench-net: what one run measures and keeps. Each workload runs real
// programs through the net driver (iperf3 for streams, nginx under wrk for
// small pages), with the application on the kernel's side of the NIC and its
// counterpart on a peer host of the NIC's wire, so every frame crosses the
// driver; the kernel process tree's CPU time (kernel + protection domain) is
// read around each measurement. A ceiling measured the same way on a veth
// pair (Linux alone, no nooks) says how far the emulated path is from what
// this machine can do at all.

#include <string>
#include <vector>

namespace nk::bench {

enum class NetWorkload { Send, Receive, Web };

char const* workload_id(NetWorkload workload);    // "send", "receive", "web"
char const* workload_label(NetWorkload workload); // "iperf3 send (TCP)"...
char const* workload_unit(NetWorkload workload);  // "Mbit/s", "req/s"

struct NetBenchOptions {
    std::vector<std::string> modes { "native", "nooks", "shadow" };
    std::vector<NetWorkload> workloads { NetWorkload::Send, NetWorkload::Receive, NetWorkload::Web };
    unsigned repetitions { 3 };
    double seconds { 5 };       // each measurement
    unsigned connections { 16 }; // wrk's open connections
    bool ceiling { true };       // also measure the veth pair
    bool stall { true };         // in isolated modes, also a stream's stall around a driver failure
    int link_delay_ms { -1 };    // the NIC's link negotiation time (-1: its default, 500 ms)
    std::string nooks_binary;
    std::string driver;          // the net driver file (nknet.so next to the binary)
    std::string work_dir;        // logs, configs, reports of the programs
    std::string output;          // report (Markdown); the JSON goes next to it
};

// One measurement of one workload in one boot.
struct NetSample {
    NetWorkload workload { NetWorkload::Send };
    double value { 0 };          // in workload_unit()
    double wall_seconds { 0 };
    double cpu_seconds { 0 };    // kernel + domain (the kernel process tree)
    double units { 0 };          // MB moved (streams) or requests served (web)
    double crossings { 0 };      // XPC crossings both ways (0 native)
    double latency_p50_us { 0 }; // web only
    double latency_p99_us { 0 };
    // CPU per unit: µs per MB (streams) or per request (web).
    double cpu_us_per_unit() const { return units > 0 ? cpu_seconds * 1e6 / units : 0; }
    double cpu_percent() const { return wall_seconds > 0 ? 100 * cpu_seconds / wall_seconds : 0; }
    double crossings_per_second() const { return wall_seconds > 0 ? crossings / wall_seconds : 0; }
};

// A TCP stream (peer -> application) while the driver fails once
// (null-deref in its receive poll): the longest time the receiver got
// nothing, and where that time went.
struct NetStall {
    bool measured { false };
    std::string error;
    double longest_gap_ms { 0 }; // the receiver's longest wait between two reads
    double at_seconds { 0 };     // when that wait began, into the stream
    double megabytes { 0 };
    double restart_ms { 0 };     // failure detected -> driver instance restarted (the recovery manager)
    double replay_ms { 0 };      // shadow: failure -> configuration replayed (the device usable again)
    double link_ms { 0 };        // shadow: replayed -> the stack had the driver's carrier (its link up)
};

struct NetBoot {
    std::string mode; // "native", "nooks", ... or "veth" for the ceiling
    unsigned repetition { 0 };
    bool ok { false };
    std::string error;
    std::vector<NetSample> samples;
    unsigned driver_failures { 0 }; // a run that cost the driver a failure is reported as such
    NetStall stall;                 // measured after the workloads (the failure is on purpose)
};

} // namespace nk::bench
