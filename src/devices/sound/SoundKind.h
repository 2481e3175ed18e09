// SPDX-License-Identifier: MIT
#pragma once

// The sound kind of device: an NKSND sound card (<hw/nksnd.h>), its speaker
// and its microphone. A machine has one only when its description lists it.
//
//   [[sound]]
//   name = "sound0"                     # default: sound<N>
//   driver = "nksnd.so"                 # default
//   speaker = "/tmp/sound0.wav"         # what playback plays, as a WAV file
//                                       # (and <speaker>.events); default "":
//                                       # not recorded. Its directory must exist.
//   microphone = "sine:440"             # the capture source: sine:FREQ[:AMPLITUDE],
//                                       # silence, or a WAV file (PCM U8/S16_LE,
//                                       # 1 or 2 channels); default sine:440
//
// Thread-safety: immutable; any thread.

#include "devices/DeviceKind.h"

namespace nk {

struct SoundSettings final : DeviceSettings {
    std::string speaker;
    std::string microphone { "sine:440" };
    std::string describe() const override;
    // The speaker's file: two cards recording into one would interleave.
    std::vector<std::string> exclusive_resources() const override;
};

class SoundKind final : public DeviceKind {
public:
    std::string_view table() const override { return "sound"; }
    std::string_view driver_class() const override { return "sound"; }
    std::string_view default_driver() const override { return "nksnd.so"; }
    unsigned default_count() const override { return 0; }
    Result<std::shared_ptr<DeviceSettings const>> parse(std::string const& name, ConfigTable const& table) const override;
    Result<std::unique_ptr<HardwareDevice>> create(std::string const& name, DeviceSettings const& settings) const override;
};

} // namespace nk
