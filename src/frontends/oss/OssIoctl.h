// SPDX-License-Identifier: MIT
#pragma once

// Decoding of the OSS ioctls (<linux/soundcard.h>) on the `dsp` and `mixer`
// files into calls on the card's streams and mixer.
//
// FUSE passes ioctls in restricted mode: the kernel copies _IOC_SIZE(cmd)
// bytes in (for _IOC_WRITE) and out (for _IOC_READ), so `in` holds exactly
// the argument and the reply carries what goes back. OSS structures are all
// ints, so 32-bit callers (FUSE_IOCTL_COMPAT) are decoded the same way.
//
// OSS semantics: a format, rate or channel count the card cannot do answers
// what the card will use; a call for a stream the file did not open is
// EINVAL; an unknown ioctl is ENOTTY; on a dead card everything is EIO.
// Mixer ioctls are accepted on the dsp file too (mpg123 -g sends them there).
//
// The mixer: SOUND_MIXER_VOLUME is the master control, SOUND_MIXER_PCM the
// PCM one, SOUND_MIXER_IGAIN the capture gain (what ALSA's kernel OSS
// emulation and alsa-lib's ctl_oss call "Capture Volume"). The capture input
// is a single, always selected source, reported as SOUND_MASK_LINE with
// SOUND_CAP_EXCL_INPUT (ctl_oss shows it as a one-item "Capture Source").
//
// Called by the FUSE ioctl callback on a worker thread; SNDCTL_DSP_SYNC
// blocks until the stream drained or `interrupted` is raised (the frontend
// raises it and wakes the stream when the application gives up).

#include "frontends/oss/OssFile.h"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <span>

namespace nk::oss {

struct IoctlReply {
    int error { 0 };                    // errno to answer (0: success)
    int result { 0 };                   // ioctl's return value on success
    std::array<std::byte, 128> out {}; // data copied back (out_size bytes)
    size_t out_size { 0 };

    static IoctlReply failure(int error)
    {
        IoctlReply reply;
        reply.error = error;
        return reply;
    }
    template<typename T>
    static IoctlReply with(T const& value)
    {
        static_assert(sizeof(T) <= sizeof(out));
        IoctlReply reply;
        std::memcpy(reply.out.data(), &value, sizeof(T));
        reply.out_size = sizeof(T);
        return reply;
    }
};

// An ioctl on an open dsp file.
IoctlReply dsp_ioctl(OssDsp& dsp, unsigned cmd, std::span<std::byte const> in, std::atomic<bool> const* interrupted);
// An ioctl on an open mixer file (and the mixer ioctls of a dsp file).
IoctlReply mixer_ioctl(OssCard& card, unsigned cmd, std::span<std::byte const> in);

} // namespace nk::oss
