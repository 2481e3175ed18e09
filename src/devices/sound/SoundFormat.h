// SPDX-License-Identifier: MIT
#pragma once

// Values NKSND (<hw/nksnd.h>) passes between its streams, its speaker and its
// microphone: a stream's sample format, a mixer control, and the sample
// conversions both ends use. Plain values and pure functions: any thread.
//
// The conversions are exact and documented here because tests compare the
// speaker's file and the capture ring against them sample for sample:
//   U8 -> S16:   (x - 128) << 8            S16 -> U8: (s >> 8) + 128 (floor)
//   gain:        s * percent / 100 (two controls: s * a * b / 10000), truncated
//                toward zero; muted: 0
//   stereo -> mono: (left + right) / 2, truncated toward zero; mono -> stereo: duplicated

#include <cstddef>
#include <cstdint>
#include <string>

namespace nk::sound {

// A stream's FORMAT and RATE registers, decoded.
struct PcmFormat {
    uint32_t format { 0 };   // NKSND_FMT_*
    uint32_t channels { 1 }; // 1 or 2 when valid
    uint32_t rate { 8000 };  // frames per second

    bool valid_format() const;
    uint32_t sample_bytes() const { return format == 1 ? 2 : 1; }
    uint32_t frame_bytes() const { return sample_bytes() * channels; }
    // "S16_LE", "U8", or "format N".
    std::string format_name() const;
    bool operator==(PcmFormat const&) const = default;
};

// One mixer register (MASTER, PCM, CAPTURE): percent per side and mute.
struct MixLevel {
    uint32_t left { 100 };
    uint32_t right { 100 };
    bool mute { true };

    // Decodes a register write, clamping each side to 100.
    static MixLevel from_register(uint32_t value);
    uint32_t to_register() const;
    bool operator==(MixLevel const&) const = default;
};

// A stereo frame in S16.
struct Frame16 {
    int16_t left { 0 };
    int16_t right { 0 };
};

// The frame at `bytes` (frame_bytes() long) of `format`, as S16 stereo.
Frame16 decode_frame(std::byte const* bytes, PcmFormat const& format);
// Writes `frame` at `bytes` in `format` (mono: the two sides averaged).
void encode_frame(Frame16 frame, std::byte* bytes, PcmFormat const& format);
// `sample` scaled by `percent` (0..100; more is taken as 100).
int16_t apply_gain(int16_t sample, uint32_t percent);
// `frame` after `level` (per side; muted: silence).
Frame16 apply_level(Frame16 frame, MixLevel const& level);
// `frame` after two controls in series (playback: MASTER x PCM), as one
// product per side: s * first * second / 10000, truncated toward zero.
Frame16 apply_levels(Frame16 frame, MixLevel const& first, MixLevel const& second);

} // namespace nk::sound
