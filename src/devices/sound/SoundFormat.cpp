// SPDX-License-Identifier: MIT
#include "devices/sound/SoundFormat.h"

#include <hw/nksnd.h>

#include <fmt/format.h>

#include <algorithm>

namespace nk::sound {

bool PcmFormat::valid_format() const
{
    return (format == NKSND_FMT_U8 || format == NKSND_FMT_S16_LE) && (channels == 1 || channels == 2);
}

std::string PcmFormat::format_name() const
{
    switch (format) {
    case NKSND_FMT_U8: return "U8";
    case NKSND_FMT_S16_LE: return "S16_LE";
    default: return fmt::format("format {}", format);
    }
}

MixLevel MixLevel::from_register(uint32_t value)
{
    return {
        .left = std::min<uint32_t>(NKSND_MIX_LEFT(value), NKSND_MIX_MAX),
        .right = std::min<uint32_t>(NKSND_MIX_RIGHT(value), NKSND_MIX_MAX),
        .mute = (value & NKSND_MIX_MUTE) != 0,
    };
}

uint32_t MixLevel::to_register() const { return NKSND_MIX_VALUE(left, right) | (mute ? NKSND_MIX_MUTE : 0u); }

namespace {

int16_t read_sample(std::byte const* at, uint32_t format)
{
    if (format == NKSND_FMT_S16_LE)
        return static_cast<int16_t>(static_cast<uint16_t>(std::to_integer<uint8_t>(at[0]) | (std::to_integer<uint8_t>(at[1]) << 8)));
    return static_cast<int16_t>((std::to_integer<int>(at[0]) - 128) * 256);
}

void write_sample(int16_t sample, std::byte* at, uint32_t format)
{
    if (format == NKSND_FMT_S16_LE) {
        auto bits = static_cast<uint16_t>(sample);
        at[0] = static_cast<std::byte>(bits & 0xff);
        at[1] = static_cast<std::byte>(bits >> 8);
        return;
    }
    // Arithmetic shift: floor, so -1 becomes 127 and 0 stays 128.
    at[0] = static_cast<std::byte>((sample >> 8) + 128);
}

} // namespace

Frame16 decode_frame(std::byte const* bytes, PcmFormat const& format)
{
    auto left = read_sample(bytes, format.format);
    if (format.channels == 1)
        return { left, left };
    return { left, read_sample(bytes + format.sample_bytes(), format.format) };
}

void encode_frame(Frame16 frame, std::byte* bytes, PcmFormat const& format)
{
    if (format.channels == 1) {
        write_sample(static_cast<int16_t>((int32_t(frame.left) + int32_t(frame.right)) / 2), bytes, format.format);
        return;
    }
    write_sample(frame.left, bytes, format.format);
    write_sample(frame.right, bytes + format.sample_bytes(), format.format);
}

int16_t apply_gain(int16_t sample, uint32_t percent)
{
    percent = std::min<uint32_t>(percent, NKSND_MIX_MAX);
    return static_cast<int16_t>(int32_t(sample) * int32_t(percent) / 100);
}

Frame16 apply_level(Frame16 frame, MixLevel const& level)
{
    if (level.mute)
        return {};
    return { apply_gain(frame.left, level.left), apply_gain(frame.right, level.right) };
}

Frame16 apply_levels(Frame16 frame, MixLevel const& first, MixLevel const& second)
{
    if (first.mute || second.mute)
        return {};
    auto scale = [](int16_t sample, uint32_t a, uint32_t b) {
        return static_cast<int16_t>(int32_t(sample) * int32_t(std::min<uint32_t>(a, NKSND_MIX_MAX))
            * int32_t(std::min<uint32_t>(b, NKSND_MIX_MAX)) / 10000);
    };
    return { scale(frame.left, first.left, second.left), scale(frame.right, first.right, second.right) };
}

} // namespace nk::sound
