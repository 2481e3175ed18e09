// SPDX-License-Identifier: MIT
// The dsp file's ioctls, one function per group: sample format, buffer
// layout and space, the transport (reset, sync, trigger, positions), and what
// the device is. Each answers nullopt for a command outside its group.

#include "frontends/oss/OssIoctl.h"

#include <linux/soundcard.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <climits>
#include <optional>

namespace nk::oss {

namespace {

using Reply = std::optional<IoctlReply>;

std::optional<int> int_argument(std::span<std::byte const> in)
{
    if (in.size() < sizeof(int))
        return std::nullopt;
    int value = 0;
    std::memcpy(&value, in.data(), sizeof(value));
    return value;
}

int afmt_of(uint32_t format) { return format == NK_SND_FMT_S16_LE ? AFMT_S16_LE : AFMT_U8; }

std::optional<uint32_t> format_of(int afmt)
{
    switch (afmt) {
    case AFMT_U8: return NK_SND_FMT_U8;
    case AFMT_S16_LE: return NK_SND_FMT_S16_LE;
    default: return std::nullopt;
    }
}

int clamp_to_int(uint64_t value) { return static_cast<int>(std::min<uint64_t>(value, INT_MAX)); }

IoctlReply error_reply(Error const& error, OssDsp const& dsp) { return IoctlReply::failure(errno_for(error, *dsp.card->card)); }

// Applies `set` to every stream the file opened; answers the primary's value.
template<typename Set>
IoctlReply configure(OssDsp& dsp, Set set)
{
    std::optional<int> answer;
    for (auto* pcm : { dsp.playback, dsp.capture }) {
        if (pcm == nullptr)
            continue;
        auto result = set(*pcm);
        if (!result)
            return error_reply(result.error(), dsp);
        if (!answer)
            answer = *result;
    }
    return IoctlReply::with(answer.value_or(0));
}

// SETFMT, GETFMTS, CHANNELS, STEREO, SPEED, SOUND_PCM_READ_*.
Reply format_group(OssDsp& dsp, unsigned cmd, std::span<std::byte const> in)
{
    auto& pcm = *dsp.primary();
    switch (cmd) {
    case SNDCTL_DSP_GETFMTS: {
        int mask = 0;
        for (auto* stream : { dsp.playback, dsp.capture }) {
            if (stream == nullptr)
                continue;
            int formats = 0;
            if ((stream->formats() & NK_SND_FMT_U8) != 0)
                formats |= AFMT_U8;
            if ((stream->formats() & NK_SND_FMT_S16_LE) != 0)
                formats |= AFMT_S16_LE;
            // Full duplex: only what both directions take.
            mask = stream == dsp.primary() ? formats : (mask & formats);
        }
        return IoctlReply::with(mask);
    }
    case SNDCTL_DSP_SETFMT: {
        auto arg = int_argument(in);
        if (!arg)
            return IoctlReply::failure(EINVAL);
        auto wanted = format_of(*arg);
        // AFMT_QUERY, or a format no card of ours does: the one in use.
        if (!wanted)
            return IoctlReply::with(afmt_of(pcm.config().format));
        return configure(dsp, [&](PcmSubstream& s) -> Result<int> { return afmt_of(TRY(s.set_format(*wanted))); });
    }
    case SNDCTL_DSP_CHANNELS:
    case SNDCTL_DSP_STEREO: {
        auto arg = int_argument(in);
        if (!arg)
            return IoctlReply::failure(EINVAL);
        bool const stereo_call = cmd == SNDCTL_DSP_STEREO;
        if (!stereo_call && *arg <= 0) {
            return IoctlReply::with(static_cast<int>(pcm.config().channels));
        }
        uint32_t const channels = stereo_call ? (*arg != 0 ? 2u : 1u) : static_cast<uint32_t>(*arg);
        return configure(dsp, [&](PcmSubstream& s) -> Result<int> {
            auto used = static_cast<int>(TRY(s.set_channels(channels)));
            return stereo_call ? (used >= 2 ? 1 : 0) : used;
        });
    }
    case SNDCTL_DSP_SPEED: {
        auto arg = int_argument(in);
        if (!arg)
            return IoctlReply::failure(EINVAL);
        if (*arg <= 0)
            return IoctlReply::with(static_cast<int>(pcm.config().rate));
        return configure(dsp, [&](PcmSubstream& s) -> Result<int> {
            return static_cast<int>(TRY(s.set_rate(static_cast<uint32_t>(*arg))));
        });
    }
    case SOUND_PCM_READ_RATE: return IoctlReply::with(static_cast<int>(pcm.config().rate));
    case SOUND_PCM_READ_CHANNELS: return IoctlReply::with(static_cast<int>(pcm.config().channels));
    case SOUND_PCM_READ_BITS: return IoctlReply::with(pcm.config().format == NK_SND_FMT_S16_LE ? 16 : 8);
    default: return std::nullopt;
    }
}

int fragment_word(PcmConfig const& config)
{
    int const shift = std::bit_width(config.fragment_bytes) - 1;
    return static_cast<int>(config.fragments << 16) | shift;
}

IoctlReply space_reply(OssDsp& dsp, PcmSubstream* pcm)
{
    if (pcm == nullptr)
        return IoctlReply::failure(EINVAL);
    auto space = pcm->space();
    if (!space)
        return error_reply(space.error(), dsp);
    audio_buf_info info {};
    info.fragments = static_cast<int>(space->fragments);
    info.fragstotal = static_cast<int>(space->fragstotal);
    info.fragsize = static_cast<int>(space->fragsize);
    info.bytes = clamp_to_int(space->bytes);
    return IoctlReply::with(info);
}

// SETFRAGMENT, GETBLKSIZE, GETOSPACE, GETISPACE, GETODELAY.
Reply buffer_group(OssDsp& dsp, unsigned cmd, std::span<std::byte const> in)
{
    switch (cmd) {
    case SNDCTL_DSP_SETFRAGMENT: {
        auto arg = int_argument(in);
        if (!arg)
            return IoctlReply::failure(EINVAL);
        auto const shift = static_cast<uint32_t>(*arg) & 0xffffu;
        auto const count = (static_cast<uint32_t>(*arg) >> 16) & 0xffffu;
        return configure(dsp, [&](PcmSubstream& s) -> Result<int> { return fragment_word(TRY(s.set_fragments(shift, count))); });
    }
    case SNDCTL_DSP_GETBLKSIZE: return IoctlReply::with(static_cast<int>(dsp.primary()->config().fragment_bytes));
    case SNDCTL_DSP_GETOSPACE: return space_reply(dsp, dsp.playback);
    case SNDCTL_DSP_GETISPACE: return space_reply(dsp, dsp.capture);
    case SNDCTL_DSP_GETODELAY: {
        if (dsp.playback == nullptr)
            return IoctlReply::failure(EINVAL);
        auto space = dsp.playback->space();
        if (!space)
            return error_reply(space.error(), dsp);
        uint64_t const total = uint64_t(space->fragstotal) * space->fragsize;
        return IoctlReply::with(clamp_to_int(total > space->bytes ? total - space->bytes : 0));
    }
    default: return std::nullopt;
    }
}

IoctlReply position_reply(OssDsp& dsp, PcmSubstream* pcm)
{
    if (pcm == nullptr)
        return IoctlReply::failure(EINVAL);
    auto position = pcm->position();
    if (!position)
        return error_reply(position.error(), dsp);
    count_info info {};
    // OSS's byte count is an int that wraps.
    info.bytes = static_cast<int>(static_cast<uint32_t>(position->bytes & 0x7fffffffu));
    info.blocks = static_cast<int>(position->blocks);
    info.ptr = static_cast<int>(position->ptr);
    return IoctlReply::with(info);
}

// RESET, SYNC, POST, SETTRIGGER, GETTRIGGER, GETOPTR, GETIPTR, NONBLOCK.
Reply transport_group(OssDsp& dsp, unsigned cmd, std::span<std::byte const> in, std::atomic<bool> const* interrupted)
{
    switch (cmd) {
    case SNDCTL_DSP_RESET:
        for (auto* pcm : { dsp.playback, dsp.capture })
            if (pcm != nullptr)
                if (auto done = pcm->reset(); !done)
                    return error_reply(done.error(), dsp);
        return IoctlReply {};
    case SNDCTL_DSP_SYNC:
        for (auto* pcm : { dsp.playback, dsp.capture })
            if (pcm != nullptr)
                if (auto done = pcm->drain(interrupted); !done)
                    return error_reply(done.error(), dsp);
        return IoctlReply {};
    case SNDCTL_DSP_POST:
        // A hint that a pause in writing follows; the stream plays what it has.
        if (!dsp.card->card->alive())
            return IoctlReply::failure(EIO);
        return IoctlReply {};
    case SNDCTL_DSP_NONBLOCK:
        dsp.nonblock.store(true, std::memory_order_relaxed);
        return IoctlReply {};
    case SNDCTL_DSP_SETTRIGGER: {
        auto arg = int_argument(in);
        if (!arg)
            return IoctlReply::failure(EINVAL);
        if (dsp.playback != nullptr)
            if (auto done = dsp.playback->set_trigger((*arg & PCM_ENABLE_OUTPUT) != 0); !done)
                return error_reply(done.error(), dsp);
        if (dsp.capture != nullptr)
            if (auto done = dsp.capture->set_trigger((*arg & PCM_ENABLE_INPUT) != 0); !done)
                return error_reply(done.error(), dsp);
        return IoctlReply {};
    }
    case SNDCTL_DSP_GETTRIGGER: {
        int bits = 0;
        if (dsp.playback != nullptr && dsp.playback->trigger_enabled())
            bits |= PCM_ENABLE_OUTPUT;
        if (dsp.capture != nullptr && dsp.capture->trigger_enabled())
            bits |= PCM_ENABLE_INPUT;
        return IoctlReply::with(bits);
    }
    case SNDCTL_DSP_GETOPTR: return position_reply(dsp, dsp.playback);
    case SNDCTL_DSP_GETIPTR: return position_reply(dsp, dsp.capture);
    default: return std::nullopt;
    }
}

// GETCAPS, SETDUPLEX, OSS_GETVERSION.
Reply info_group(OssDsp& dsp, unsigned cmd)
{
    auto const& config = dsp.card->card->config();
    bool const duplex = config.has_stream(NK_SND_PLAYBACK) && config.has_stream(NK_SND_CAPTURE);
    switch (cmd) {
    case SNDCTL_DSP_GETCAPS: {
        // Revision 1; positions come from the card itself. Never DSP_CAP_MMAP:
        // a FUSE file cannot map the ring.
        int caps = 1 | DSP_CAP_TRIGGER | DSP_CAP_REALTIME;
        if (duplex)
            caps |= DSP_CAP_DUPLEX;
        return IoctlReply::with(caps);
    }
    case SNDCTL_DSP_SETDUPLEX: return duplex ? IoctlReply {} : IoctlReply::failure(EINVAL);
    case OSS_GETVERSION: return IoctlReply::with(int { SOUND_VERSION });
    default: return std::nullopt;
    }
}

} // namespace

int errno_for(Error const& error, SoundCard const& card) { return card.alive() ? error.to_errno() : EIO; }

IoctlReply dsp_ioctl(OssDsp& dsp, unsigned cmd, std::span<std::byte const> in, std::atomic<bool> const* interrupted)
{
    if (!dsp.card->card->alive() || dsp.primary() == nullptr)
        return IoctlReply::failure(EIO);
    if (auto reply = info_group(dsp, cmd))
        return *reply;
    if (auto reply = format_group(dsp, cmd, in))
        return *reply;
    if (auto reply = buffer_group(dsp, cmd, in))
        return *reply;
    if (auto reply = transport_group(dsp, cmd, in, interrupted))
        return *reply;
    if (_IOC_TYPE(cmd) == 'M')
        return mixer_ioctl(*dsp.card, cmd, in);
    return IoctlReply::failure(ENOTTY);
}

} // namespace nk::oss
