// SPDX-License-Identifier: MIT
#pragma once

// NKSND's speaker: what the playback stream plays, after the mixer, as the
// outside world hears it. With a file it records a WAV (PCM S16_LE, stereo,
// at the rate of the first run); without one it only counts.
//
// What is written, per frame due (the card calls in real time, see
// SoundStream): a frame from the ring converted to S16 stereo (SoundFormat.h:
// U8 (x - 128) << 8, mono duplicated) and scaled by MASTER x PCM, or, during
// an underrun, a zero frame. So the file's length is the time the stream ran,
// and the audio the driver supplied is in it once, in order.
// The WAV header's sizes are written at each stop() and on destruction, and
// the file is flushed then: a reader that waits for the stream to stop reads a
// complete file. The events (start, stop, underrun_begin/_end, mixer,
// rate_change, format_change) go to the card's event log with their frame
// index in the WAV.
//
// Thread-safety: the card calls it from any thread (register writes, its
// clock on the event loop thread), under the card's lock; the accessors from
// any thread. Its own lock is taken after the card's and before the event
// log's. File errors are logged once; recording stops, counting goes on.
// Ownership: the card owns its speaker; the event log (may be null) outlives it.

#include "base/Error.h"
#include "base/Mutex.h"
#include "devices/sound/SoundFormat.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace nk::sound {

class SoundEventLog;

class Speaker {
public:
    // `path` "": nothing recorded. Otherwise creates (truncates) the WAV file;
    // the error names it. `events` may be null.
    static Result<std::unique_ptr<Speaker>> open(std::string path, SoundEventLog* events);
    ~Speaker();
    Speaker(Speaker const&) = delete;
    Speaker& operator=(Speaker const&) = delete;

    // --- The card's side ----------------------------------------------------

    // Playback started with `format` under the current mixer.
    void start(PcmFormat const& format);
    // Frames from the ring (whole frames of the format given to start()).
    void play(std::span<std::byte const> frames);
    // `frames` frames due with none in the ring: silence. The first call of
    // an underrun begins it (counted once); the next play() or stop() ends it.
    void underrun(uint64_t frames);
    // Playback stopped (RUN cleared, an error, a reset): header and flush.
    void stop();
    // The mixer's playback controls; an event when they change.
    void set_mixer(MixLevel const& master, MixLevel const& pcm);

    // --- Tests and status -----------------------------------------------------

    struct Status {
        std::string path;          // "" when not recorded
        bool running { false };
        bool in_underrun { false };
        PcmFormat format;          // of the current or last run
        MixLevel master;
        MixLevel pcm;
        uint32_t wav_rate { 0 };   // 0 until the first run
        uint64_t starts { 0 };
        uint64_t frames_played { 0 };  // frames taken from the ring
        uint64_t silence_frames { 0 }; // zero frames written for underruns
        uint64_t underruns { 0 };
        uint64_t wav_frames { 0 };     // frames in the WAV's data (played + silence)
        bool write_failed { false };
    };
    Status status() const;

    // A WAV file's header size: the data of one this speaker writes starts here.
    static constexpr size_t wav_header_bytes = 44;

private:
    Speaker(std::string path, std::FILE* file, SoundEventLog* events);

    void append(std::span<int16_t const> samples) NK_REQUIRES(m_mutex);
    void write_header() NK_REQUIRES(m_mutex);
    void end_underrun() NK_REQUIRES(m_mutex);
    void event(std::string const& name, nlohmann::json fields = {}) NK_REQUIRES(m_mutex);
    void fail(char const* what) NK_REQUIRES(m_mutex);

    std::string const m_path;
    SoundEventLog* const m_events;
    mutable Mutex m_mutex;
    std::FILE* m_file NK_GUARDED_BY(m_mutex);
    Status m_status NK_GUARDED_BY(m_mutex);
    std::vector<int16_t> m_scratch NK_GUARDED_BY(m_mutex);
};

} // namespace nk::sound
