// SPDX-License-Identifier: MIT
#pragma once

// The machine a run was measured on, for the report: numbers from different
// machines (or VMs) are not comparable, so every report says where it came from.

#include <string>

namespace nk::bench {

struct MachineInfo {
    std::string date;        // "2025-01-31 14:05 UTC", when the run started
    std::string cpu_model;   // /proc/cpuinfo "model name"
    unsigned cpus { 0 };     // CPUs this process may run on (what nproc prints)
    std::string memory;      // "23.5 GiB", MemTotal
    std::string kernel;      // "Linux 6.1.0-18-amd64 x86_64" (uname)
    std::string fio_version; // "fio-3.33"
    // 1-minute load average when the run started: anything else running on
    // the machine (a build, another benchmark) distorts every number.
    double load_average { 0 };
};

MachineInfo describe_machine();

// CPU time of the whole machine and of this benchmark (itself and every child
// it has reaped: fio, mkfs, the kernels), read at the start and end of a run
// to tell how much other work shared the CPUs meanwhile.
struct CpuSnapshot {
    double machine_busy_s { 0 }; // all CPUs, everything but idle and iowait (and steal)
    double steal_s { 0 };        // taken by the hypervisor for other guests
    double own_s { 0 };
};
CpuSnapshot cpu_snapshot();

struct OtherLoad {
    // CPUs busy on average with work not charged to the benchmark's processes:
    // other programs, and Linux's own threads (the loop device's workers among them).
    double other_cpus { 0 };
    double steal_cpus { 0 };
};
OtherLoad other_load(CpuSnapshot const& start, CpuSnapshot const& end, double wall_seconds);

} // namespace nk::bench
