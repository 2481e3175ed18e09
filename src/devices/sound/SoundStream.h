// SPDX-License-Identifier: MIT
#pragma once

// One NKSND stream (<hw/nksnd.h>): its registers, the checks made when RUN
// is set, and the real-time transfer between its ring and the speaker
// (playback) or the microphone (capture).
//
// Real time: from the moment RUN is set, frame k is due at start + k / RATE
// on CLOCK_MONOTONIC. Each tick() of the card's clock moves every frame due
// since the last one, however late the tick (under load ticks are late and
// coalesce; the clock is never counted), as far as LIMIT allows: a playback
// frame missing from the ring is played as silence (an underrun), a capture
// frame with no room is dropped (an overrun); either raises XRUN once per
// run of missing frames. POSITION only moves over frames that went through
// the ring, so nothing is lost from it or repeated.
//
// Not a device by itself: SoundDevice owns two, serializes every call under
// its lock (any thread: register writes, its clock on the event loop
// thread), and acts on the Outcome each call returns (raise the vector, start
// or stop the stream's clock) after the call. Never blocks: DMA is a pin and
// a copy (the IOMMU refuses, it does not wait), the speaker and microphone
// only append to a file or compute.

#include "devices/sound/SoundFormat.h"
#include "kernel/dma/Iommu.h"

#include <chrono>
#include <cstdint>

namespace nk::sound {

class Microphone;
class Speaker;

class SoundStream {
public:
    using Clock = std::chrono::steady_clock; // CLOCK_MONOTONIC

    // What a stream reaches: the device's IOMMU and its end of the outside
    // world (the speaker for playback, the microphone for capture; the other
    // is not used).
    struct Io {
        Iommu& iommu;
        Speaker& speaker;
        Microphone& microphone;
    };

    // What the device must do after a call.
    struct Outcome {
        bool interrupt { false }; // an enabled status bit was newly set: raise the vector
        bool started { false };   // the stream started: start its clock (tick_interval())
        bool stopped { false };   // the stream stopped: stop its clock

        Outcome& operator|=(Outcome const& other);
    };

    // `index`: NKSND_STREAM_PLAYBACK or NKSND_STREAM_CAPTURE. Power-on state.
    explicit SoundStream(uint32_t index);

    // `offset` relative to NKSND_STREAM_BASE(index); unassigned offsets read 0.
    uint32_t read_register(uint32_t offset) const;
    // Writes to read-only and unassigned offsets are ignored.
    Outcome write_register(uint32_t offset, uint32_t value, Clock::time_point now, Io const& io);
    // The stream's clock: moves the frames due by `now`.
    Outcome tick(Clock::time_point now, Io const& io);
    // Power-on state (GLOBAL_CTRL.RESET, a bus reset): stopped, every register at its default.
    Outcome power_on(Io const& io);

    bool running() const { return m_running; }
    // An enabled status bit is set (GLOBAL_STATUS).
    bool pending() const { return (m_status & m_enable) != 0; }
    // How often the clock ticks while running: half a period, within 1..5 ms.
    std::chrono::nanoseconds tick_interval() const;
    // Within an underrun (overrun) now.
    bool in_xrun() const { return m_in_xrun; }

private:
    bool playback() const { return m_index == 0; }
    DmaDirection direction() const { return playback() ? DmaDirection::ToDevice : DmaDirection::FromDevice; }
    PcmFormat decoded_format() const;
    uint32_t limit_offset() const { return m_limit == m_buf_bytes ? 0 : m_limit; }
    // Frames between POSITION and LIMIT: valid (playback) or free (capture).
    uint64_t ring_frames() const;
    uint64_t frames_due(Clock::time_point now) const;

    Outcome start(Clock::time_point now, Io const& io);
    // The first check RUN fails, or NKSND_ERR_NONE.
    uint32_t check(Io const& io) const;
    Outcome stop(Io const& io);
    Outcome reset_stream(Io const& io);
    // Misprogramming: stops the stream, keeps the first code, sets ERROR.
    Outcome fail(uint32_t code, Io const& io);
    Outcome raise(uint32_t bits);
    // During an underrun (overrun), the frames due by `now` are silence
    // (dropped) before LIMIT moves: the data it makes room for comes after them.
    void catch_up_xrun(Clock::time_point now, Io const& io);
    void xrun(uint64_t frames, Outcome& outcome, Io const& io);

    uint32_t const m_index;

    // Registers.
    uint32_t m_format_reg { 0 };
    uint32_t m_rate { 0 };
    uint64_t m_buf_addr { 0 };
    uint32_t m_buf_bytes { 0 };
    uint32_t m_period_bytes { 0 };
    uint32_t m_limit { 0 };
    uint32_t m_position { 0 };
    uint32_t m_status { 0 };
    uint32_t m_enable { 0 };
    uint32_t m_error { 0 };
    uint64_t m_frames { 0 };
    uint32_t m_xruns { 0 };

    // While running: the format checked at RUN, the start of its clock and
    // the frames accounted for since (moved, played as silence, or dropped).
    bool m_running { false };
    PcmFormat m_format;
    Clock::time_point m_start {};
    uint64_t m_accounted { 0 };
    bool m_in_xrun { false };
};

} // namespace nk::sound
