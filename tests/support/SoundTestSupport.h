// SPDX-License-Identifier: MIT
#pragma once

// Helpers of the sound tests: the programs they need, and the oracle they
// judge audio by. The speaker of an NKSND card records in real time, so the
// silence an underrun or a recovery inserts is in its file; what must hold
// is that the audio itself is there exactly once, in order: the speaker's
// frames with every all-zero frame removed equal the reference's with every
// all-zero frame removed (a frame of exact silence in the music is removed
// from both alike).

#include "devices/sound/SoundFormat.h"

#include <cstdint>
#include <string>
#include <vector>

namespace nk::test {

// Why a sound test cannot run (a program missing: scripts/install-deps.sh installs them), or empty.
std::string missing_programs(std::vector<std::string> const& programs);

// Every frame of a WAV file (PCM U8 or S16_LE, 1 or 2 channels), as S16 stereo; empty if it cannot be read.
std::vector<sound::Frame16> read_wav(std::string const& path);
uint32_t wav_rate(std::string const& path);

std::vector<sound::Frame16> without_silence(std::vector<sound::Frame16> const& frames);

struct AudioComparison {
    bool equal { false };
    size_t expected_frames { 0 };
    size_t actual_frames { 0 };
    size_t first_difference { 0 }; // frame index (after silence removal)
    std::string describe() const;
};
// Compares `actual` with `expected`, silence removed from both.
AudioComparison compare_audio(std::vector<sound::Frame16> const& expected, std::vector<sound::Frame16> const& actual);

// Root mean square of the left channel, silence included.
double rms(std::vector<sound::Frame16> const& frames);

// Makes `seconds` of a two-tone stereo 44.1 kHz signal, encodes it as an MP3
// in `dir` and decodes that with mpg123 into the reference the tests compare
// with. Returns the MP3's path ("" after a failure, which it reports).
struct Mp3Fixture {
    std::string mp3;
    std::string reference; // mpg123 -w's decode: S16_LE stereo 44.1 kHz
};
Mp3Fixture make_mp3(std::string const& dir, double seconds);

// Writes the game-like program to `path`: pygame (SDL on ALSA, our `nooks`
// device) mixing `effects` short tones started 30 ms apart on 16 channels,
// with a 512-frame buffer; it prints "played" at the end. False if it
// cannot be written.
bool write_game_script(std::string const& path, int effects);

} // namespace nk::test
