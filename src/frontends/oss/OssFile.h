// SPDX-License-Identifier: MIT
#pragma once

// What the OSS frontend knows of a card and of one open file on it,
// independent of FUSE, so the ioctl decoders can be driven directly.
//
//   OssCard: one registered card as the frontend exposes it (its `dsp` and
//            `mixer` files share it): the card and the mixer's change count.
//   OssDsp:  one open `dsp` file: the streams it opened (O_WRONLY playback,
//            O_RDONLY capture, O_RDWR both) and its SNDCTL_DSP_NONBLOCK.
//
// Ownership: the frontend's nodes own OssCard (shared); an OssDsp is owned by
// its open file. The streams are the card's: an OssDsp only marks the ones it
// opened (and closes them on release).
// Thread-safety: the atomics may be used from any thread; the pointers are
// set at open and never change.

#include "classes/sound/PcmSubstream.h"
#include "classes/sound/SoundCard.h"

#include <atomic>
#include <memory>

namespace nk::oss {

struct OssCard {
    std::shared_ptr<SoundCard> card;
    // SOUND_MIXER_INFO's modify_counter: mixer writes that went through.
    std::atomic<int> mixer_changes { 0 };
};

struct OssDsp {
    std::shared_ptr<OssCard> card;
    PcmSubstream* playback { nullptr };
    PcmSubstream* capture { nullptr };
    std::atomic<bool> nonblock { false }; // SNDCTL_DSP_NONBLOCK: sticks until close

    // The stream configuration queries answer from: playback if open, else capture.
    PcmSubstream* primary() const { return playback != nullptr ? playback : capture; }
};

// The errno an application sees for `error` on `card`: EIO once the card is
// gone (whatever the stream said), else the error's own.
int errno_for(Error const& error, SoundCard const& card);

} // namespace nk::oss
