// SPDX-License-Identifier: MIT
#pragma once

// The Play-mp3 clip: `seconds` of a two-tone stereo 44.1 kHz signal made by
// sox, encoded by lame at 128 kbit/s, and mpg123's decode of that MP3 (the
// reference the speaker's recording is compared with: the same decoder, so
// an exact match means the audio path lost, added and changed nothing).

#include "SoundBench.h"
#include "base/Error.h"

namespace nk::bench {

Result<Mp3Clip> make_mp3_clip(std::string const& dir, double seconds);

struct AudioMatch {
    bool exact { false };
    uint64_t frames { 0 };  // in the recording, silence included
    uint32_t rate { 0 };
    std::string mismatch;   // what differs, when not exact
};
// Compares a recording from its frame `skip` on with a reference, every
// all-zero frame removed from both.
Result<AudioMatch> match_audio(std::string const& reference, std::string const& recording, uint64_t skip = 0);

} // namespace nk::bench
