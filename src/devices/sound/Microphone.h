// SPDX-License-Identifier: MIT
#pragma once

// NKSND's microphone: what the capture stream records. Its source is one of
//   "sine:FREQ[:AMPLITUDE]"  a sine of FREQ Hz (0 < FREQ <= 24000), amplitude
//                            0..1 of full scale (default 0.5), sampled at the
//                            stream's rate: frame n (counted from the
//                            microphone's creation, rate changes keep the
//                            phase) is lround(A * 32767 * sin(2*pi*FREQ*n/rate))
//                            on both sides (see sine_sample()),
//   "silence"                zeros,
//   a path                   a PCM WAV file (WavReader.h), delivered frame by
//                            frame in order whatever its rate (never
//                            resampled), then silence ("microphone_end" event).
// Each frame is scaled by the CAPTURE control and converted to the stream's
// format and channel count (SoundFormat.h), in that order.
//
// The source is the outside world: it moves on in real time whether or not
// the card can keep its frames. Frames the card drops (an overrun) are taken
// from the source and lost, so what follows them keeps its place in time.
// A card reset does not rewind it.
//
// Thread-safety: the card calls it from any thread under the card's lock;
// the accessors from any thread. Its own lock comes after the card's and
// before the event log's. Ownership: the card owns it; the event log (may be
// null) outlives it.

#include "base/Error.h"
#include "base/Mutex.h"
#include "devices/sound/SoundFormat.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace nk::sound {

class SoundEventLog;
class WavReader;

class Microphone {
public:
    // Checks `spec` (for a path: the file exists and is a WAV this reads).
    // InvalidArgument or NotFound with a message that names no key; the kind
    // adds it.
    static Result<void> check(std::string const& spec);
    static Result<std::unique_ptr<Microphone>> open(std::string spec, SoundEventLog* events);
    ~Microphone();
    Microphone(Microphone const&) = delete;
    Microphone& operator=(Microphone const&) = delete;

    // --- The card's side ----------------------------------------------------

    // Capture started with `format` under the current gain.
    void start(PcmFormat const& format);
    // Fills `out` (whole frames of the started format) with the next frames.
    void capture(std::span<std::byte> out);
    // `frames` frames due with no room in the ring: taken from the source and
    // dropped. The first call of an overrun begins it (counted once); the next
    // capture() or stop() ends it.
    void overrun(uint64_t frames);
    void stop();
    // The CAPTURE control; an event when it changes.
    void set_gain(MixLevel const& gain);

    // --- Tests and status -----------------------------------------------------

    enum class Source : unsigned char { Sine, Silence, Wav };
    struct Status {
        std::string spec;
        Source source { Source::Silence };
        bool running { false };
        bool in_overrun { false };
        bool ended { false };          // a WAV source ran out (silence since)
        PcmFormat format;              // of the current or last run
        MixLevel gain;
        uint64_t source_frames { 0 };  // taken from the source: captured + dropped
        uint64_t frames_captured { 0 };
        uint64_t frames_dropped { 0 };
        uint64_t overruns { 0 };
        std::string describe;          // "sine 440 Hz, amplitude 0.5", "WAV x.wav (U8, 1 channel, ...)"
    };
    Status status() const;

    // Frame n of a sine source at `rate` (both sides): what the formula above says.
    static int16_t sine_sample(double frequency, double amplitude, uint64_t n, uint32_t rate);

private:
    struct Spec;
    static Result<Spec> parse(std::string const& spec);
    Microphone(std::string spec, Spec const& parsed, std::unique_ptr<WavReader> wav, SoundEventLog* events);

    Frame16 next_frame() NK_REQUIRES(m_mutex);
    void end_overrun() NK_REQUIRES(m_mutex);
    void event(std::string const& name, nlohmann::json fields = {}) NK_REQUIRES(m_mutex);

    SoundEventLog* const m_events;
    double const m_frequency;
    double const m_amplitude;
    mutable Mutex m_mutex;
    std::unique_ptr<WavReader> m_wav NK_GUARDED_BY(m_mutex);
    Status m_status NK_GUARDED_BY(m_mutex);
    // The sine's phase is carried across rate changes: frames since the last
    // change and the phase there.
    uint32_t m_sine_rate NK_GUARDED_BY(m_mutex) { 0 };
    uint64_t m_sine_n NK_GUARDED_BY(m_mutex) { 0 };
    double m_sine_phase NK_GUARDED_BY(m_mutex) { 0 };
};

} // namespace nk::sound
