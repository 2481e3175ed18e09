// SPDX-License-Identifier: MIT
#pragma once

// Confinement of the domain process, applied before any driver code runs:
// privileges dropped, no_new_privs, every descriptor closed except the ones the
// kernel handed over, fault handlers installed, and a seccomp filter that lets
// through only what the runtime needs. A forbidden system call is a fault: the
// handler records its number and the domain ends.
//
// Loading the driver needs more than running it (open the file, map it
// executable), so there are two filters. The loading filter is installed
// first; the only file it lets the loader open is the driver, which the kernel
// opened and handed over (the open is emulated). The running filter is added
// after the driver is mapped; it forbids executable mappings, filters, prctl
// and everything else outside the runtime's needs. Filters only ever add
// restrictions, so the second one cannot be undone.

#include <cstdint>

namespace nk::runtime {

// Records signals and forbidden calls in the fault record, then ends the domain.
void install_fault_handlers();

// If the process runs as root: switch to uid/gid (supplementary groups cleared).
// Then no_new_privs, and death when the kernel process dies. False on failure.
bool drop_privileges(uint32_t uid, uint32_t gid);

// Closes every descriptor above 2 except `keep`.
void close_other_descriptors(int keep);

// While loading, the loader's open of `path` yields `fd` (the driver file).
void allow_driver_open(char const* path, int fd);
void end_loading();

bool install_loading_filter();
bool install_running_filter();

// The name of system call `number` (for fault reports).
char const* syscall_name(int number);

} // namespace nk::runtime
