// SPDX-License-Identifier: MIT
#pragma once

// The ALSA configuration that sends unmodified ALSA applications (aplay,
// arecord, amixer, speaker-test, espeak-ng, SDL, OpenAL...) to our sound
// files through alsa-lib's `oss` plugins (libasound2-plugins): no kernel
// ALSA driver is needed.
//
//   pcm.nooks_oss   type oss, device MOUNT/dsp     (U8 / S16_LE only)
//   pcm.nooks       type plug -> nooks_oss         (any format)
//   ctl.nooks       type oss, device MOUNT/mixer
//   pcm.!default = pcm.nooks, ctl.!default = ctl.nooks
//
// share/alsa/nooks.conf is this configuration for the default mount point
// (/run/nooks/sound); the build copies it to <build>/share/alsa/.
//
// How an application is pointed at it (tried with alsa-lib 1.2.8 and
// libasound2-plugins 1.2.7.1): ALSA_CONFIG_PATH lists, separated by ':',
// the files alsa-lib loads *instead of* /usr/share/alsa/alsa.conf. This
// file alone is enough for `nooks` and `default` (plug and oss need nothing
// from alsa.conf), but every stock device (null, oss:, plughw, dmix...) and
// /etc/asound.conf are then gone ("Unknown PCM null"). So list alsa.conf
// first and this file after it, so that its `!default` wins:
//
//   ALSA_CONFIG_PATH=/usr/share/alsa/alsa.conf:/path/to/nooks.conf aplay x.wav
//
// (alsa_config_path_value() builds that value.) With no file at all,
// alsa.conf.d's 50-oss.conf already reaches one device:
// `aplay -D oss:/run/nooks/sound/dsp` (no format conversion: wrap it in
// plug:), `amixer -D oss:/run/nooks/sound/mixer`.
//
// Thread-safety: pure functions; write_alsa_config writes one file.

#include "base/Error.h"

#include <string>

namespace nk {

// The configuration text for sound files mounted at `mountpoint`.
std::string alsa_config_text(std::string const& mountpoint);
// Writes it to `path` (replaced atomically: written aside, then renamed).
Result<void> write_alsa_config(std::string const& path, std::string const& mountpoint);
// The value of ALSA_CONFIG_PATH that loads the system's alsa.conf, then `config_file`.
std::string alsa_config_path_value(std::string const& config_file);

// The system's alsa.conf.
inline constexpr char const* system_alsa_conf = "/usr/share/alsa/alsa.conf";

} // namespace nk
