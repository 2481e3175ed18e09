// SPDX-License-Identifier: MIT
#pragma once

// One boot of the kernel in one mode with one NIC (nknet on an NKNIC, one
// peer host on its wire), every selected workload measured through it, then
// the kernel stopped (it removes its namespaces). And the ceiling: the same
// workloads on a veth pair between two namespaces, with nothing of nooks.

#include "../block/Interrupts.h"
#include "../block/Progress.h"
#include "NetBench.h"

namespace nk::bench {

NetBoot run_net_boot(NetBenchOptions const& options, std::string const& mode, unsigned repetition, Interrupts& interrupts, Progress& progress);
NetBoot run_veth_ceiling(NetBenchOptions const& options, unsigned repetition, Progress& progress);
// The ceiling of the emulated path: TAP to TAP through a trivial forwarder
// (TapForwarder), its CPU charged like the kernel's.
NetBoot run_forwarder_ceiling(NetBenchOptions const& options, unsigned repetition, Progress& progress);

} // namespace nk::bench
