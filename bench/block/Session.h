// SPDX-License-Identifier: MIT
#pragma once

// One boot of the kernel in one mode, running every selected job on every
// selected target, then tearing down in the only safe order: unmount ext4,
// detach the loop device (it holds the disk file open), stop the kernel
// (which unmounts the FUSE disk file), delete the disk image.
//
// Each boot starts from a fresh, empty disk image, so every mode and every
// repetition sees the same disk state: the FUSE target writes its working set
// once, then ext4 is created over the same disk and its test file written.

#include "BenchOptions.h"
#include "Fio.h"
#include "Interrupts.h"
#include "Progress.h"
#include "Results.h"

#include <string>
#include <vector>

namespace nk::bench {

struct SessionContext {
    BenchOptions const& options;
    std::vector<Workload const*> workloads;
    std::string work_dir;  // logs, mount points, fio reports
    std::string image_dir; // disk images
    std::string nooks_binary;
    Interrupts& interrupts;
    Progress& progress;
};

BootRun run_session(SessionContext const& context, std::string const& mode, unsigned repetition);

} // namespace nk::bench
