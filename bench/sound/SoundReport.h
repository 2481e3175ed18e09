// SPDX-License-Identifier: MIT
#pragma once

// The Play-mp3 report: per mode the median over repetitions (with its
// range), ratios against native, and the seed's numbers beside ours.

#include "../block/Machine.h"
#include "SoundBench.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace nk::bench {

struct SoundRunInfo {
    MachineInfo machine;
    std::string command_line;
    double seconds { 0 };
};

std::string sound_report_markdown(SoundBenchOptions const& options, Mp3Clip const& clip, SoundRunInfo const& info, std::vector<SoundBoot> const& boots);
nlohmann::json sound_report_json(SoundBenchOptions const& options, Mp3Clip const& clip, SoundRunInfo const& info, std::vector<SoundBoot> const& boots);

} // namespace nk::bench
