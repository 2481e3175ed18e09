// SPDX-License-Identifier: MIT
#pragma once

// nooks-bench-sound: the seed's Play-mp3 workload. mpg123 plays an MP3
// through the OSS files of one NKSND card driven by nksnd; the card's
// speaker consumes frames in real time at the programmed rate and records
// what it played. So the run is paced by the card, not by the CPU: what
// isolation can cost is CPU (the kernel's and the driver domain's), the
// crossings it pays for, and, if it is slow enough, underruns (silence in
// the recording) or a player that finishes late. Each of those is measured:
// CPU of the kernel process tree around the play, XPC crossings, the
// recording compared with mpg123's own decode of the file, the silence the
// speaker inserted, and the speaker's time against the audio's length.

#include <cstdint>
#include <string>
#include <vector>

namespace nk::bench {

struct SoundBenchOptions {
    std::vector<std::string> modes { "native", "nooks", "shadow" };
    unsigned repetitions { 3 };
    double seconds { 10 }; // length of the MP3
    std::string nooks_binary;
    std::string driver;    // the sound driver file (nksnd.so next to the binary)
    std::string work_dir;
    std::string output;
    bool failure { true }; // in isolated modes, also a play through one driver failure
};

// The MP3 every boot plays, and what mpg123 decodes it to (the oracle).
struct Mp3Clip {
    std::string mp3;
    std::string reference; // mpg123 -w's decode: S16_LE stereo
    uint64_t frames { 0 };
    uint32_t rate { 0 };
    double seconds() const { return rate > 0 ? static_cast<double>(frames) / rate : 0; }
};

// One play in one boot.
struct PlaySample {
    double audio_seconds { 0 };   // the clip's length
    double player_seconds { 0 };  // mpg123's start to its exit
    double speaker_seconds { 0 }; // the speaker's start event to its stop event (its clock: CLOCK_MONOTONIC)
    double cpu_seconds { 0 };     // kernel + domain (the kernel process tree), start of the player to the speaker's stop
    double window_seconds { 0 };  // that window's wall time
    double crossings { 0 };       // XPC crossings both ways in the window (0 native)
    uint64_t speaker_frames { 0 }; // frames in the recording (played + inserted silence)
    uint64_t underruns { 0 };      // the speaker's underruns with audio after them
    bool exact { false };          // the recording, silence removed, equals the reference, silence removed
    std::string mismatch;          // what differs, when not exact
    uint32_t speaker_rate { 0 };

    double cpu_percent() const { return window_seconds > 0 ? 100 * cpu_seconds / window_seconds : 0; }
    // CPU per second of audio, in ms: the cost of the workload independent of the run's length.
    double cpu_ms_per_audio_second() const { return audio_seconds > 0 ? 1000 * cpu_seconds / audio_seconds : 0; }
    double crossings_per_second() const { return window_seconds > 0 ? crossings / window_seconds : 0; }
    // The speaker's time per second of audio it recorded: 1.000 is real time.
    double speaker_pace() const
    {
        return speaker_frames > 0 && speaker_rate > 0 ? speaker_seconds / (static_cast<double>(speaker_frames) / speaker_rate) : 0;
    }
};

// The clip played again with the driver failing once under it (a panic in
// its interrupt handler, 1 s in): did the player finish, was the audio
// exact, and how long the silence the failure inserted.
struct FailurePlay {
    bool measured { false };
    std::string error;
    bool player_ok { false };
    std::string player_error;
    bool exact { false };
    std::string mismatch;
    double gap_ms { 0 };      // the longest mid-stream silence (speaker events)
    double recovery_ms { 0 }; // detection to restarted (the recovery manager)
    double quiesce_ms { 0 };  // of which the card playing out what it was handed
};

struct SoundBoot {
    std::string mode;
    unsigned repetition { 0 };
    bool ok { false };
    std::string error;
    PlaySample sample;
    unsigned driver_failures { 0 }; // during the clean play
    FailurePlay failure;
};

} // namespace nk::bench
