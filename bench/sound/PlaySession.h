// SPDX-License-Identifier: MIT
#pragma once

// One boot of the kernel (`nooks run`) in one mode with one NKSND card and
// nothing else, the clip played once through its OSS dsp file by mpg123,
// then the kernel stopped.

#include "../block/Interrupts.h"
#include "../block/Progress.h"
#include "SoundBench.h"

namespace nk::bench {

SoundBoot run_play_boot(SoundBenchOptions const& options, Mp3Clip const& clip, std::string const& mode, unsigned repetition, Interrupts& interrupts,
    Progress& progress);

} // namespace nk::bench
