// SPDX-License-Identifier: MIT
#pragma once

// CPU time of the kernel process, read from /proc around each fio job: the
// cost of the block path in the trusted kernel (FUSE workers, block layer,
// driver, emulated controller), which is what isolation modes change.
//
// Descendants are included, so a mode that runs the driver in a separate
// process is charged for it too. The host kernel's own work (loop, ext4 and
// FUSE in Linux) and fio's are not part of it.

#include "base/Error.h"

#include <sys/types.h>

namespace nk::bench {

// User + system CPU seconds consumed so far by `pid` and its live
// descendants (utime + stime of /proc/<pid>/stat, all threads included).
Result<double> process_tree_cpu_seconds(pid_t pid);

} // namespace nk::bench
