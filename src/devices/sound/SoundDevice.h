// SPDX-License-Identifier: MIT
#pragma once

// The emulated NKSND sound card (programming interface: <hw/nksnd.h>): the
// global registers and the mixer, two SoundStreams (playback, capture), the
// interrupt vector, and for each stream a clock of the card's own.
//
// Threads. Register accesses come from any kernel thread (a driver's calls,
// its interrupt handler) and never wait for the card's engine: clearing RUN,
// a stream reset or GLOBAL_CTRL.RESET cancel the stream's clock, and a tick
// already under way may still finish (and raise the vector), as on hardware.
// The clocks are timer sources of the kernel's event loop: each tick runs the
// stream on the loop thread, outside any crossing, and raises the vector
// there, with no lock of the card held (its handler may write the registers).
// hard_reset() stops both clocks synchronously: when it returns, no tick runs
// and no interrupt comes until a driver sets RUN again.
//
// Plugged in without an event loop (device tests that need no time), a
// stream accepts RUN but never moves.
//
// Lock order: the card's lock, then the speaker's or the microphone's, then
// the event log's, then the event loop's (arming a clock never waits).
// Ownership: the card owns its speaker, microphone and event log.

#include "base/Error.h"
#include "base/Mutex.h"
#include "devices/sound/Microphone.h"
#include "devices/sound/SoundEventLog.h"
#include "devices/sound/SoundStream.h"
#include "devices/sound/Speaker.h"
#include "kernel/bus/HardwareDevice.h"
#include "kernel/events/EventLoop.h"

#include <array>
#include <cstdint>
#include <memory>
#include <string>

namespace nk {

class SoundDevice final : public HardwareDevice {
public:
    struct Options {
        std::string name { "sound0" };
        // The WAV file the speaker records (and `<speaker>.events` next to
        // it), or "" for none. Created or truncated.
        std::string speaker;
        // The capture source (sound::Microphone): "sine:440", "silence", a WAV path.
        std::string microphone { "sine:440" };
    };

    // Opens the speaker's files and the microphone's source; the error names
    // what failed. Power-on state; connect() it before use.
    static Result<std::unique_ptr<SoundDevice>> create(Options options);
    ~SoundDevice() override;

    // HardwareDevice
    uint16_t vendor_id() const override;
    uint16_t device_id() const override;
    std::string const& name() const override { return m_name; }
    uint32_t window_count() const override { return 1; }
    uint32_t window_size(uint32_t window) const override;
    uint32_t vector_count() const override { return 1; }
    uint64_t read_register(uint32_t window, uint32_t offset, unsigned width) override;
    void write_register(uint32_t window, uint32_t offset, unsigned width, uint64_t value) override;
    void hard_reset() override;

    // The outside world's ends, for tests and status: each has its own
    // thread-safe status() (frames, underruns or overruns, settings).
    sound::Speaker const& speaker() const { return *m_speaker; }
    sound::Microphone const& microphone() const { return *m_microphone; }
    // The event file, or "" when the speaker records nothing.
    std::string events_path() const;

    // Whether stream `stream` (NKSND_STREAM_*) runs now, and how often the
    // card raised its vector since it was made. Any thread.
    bool running(uint32_t stream) const;
    uint64_t interrupts() const;

protected:
    void connected() override;

private:
    SoundDevice(std::string name, std::unique_ptr<sound::SoundEventLog> events, std::unique_ptr<sound::Speaker> speaker,
        std::unique_ptr<sound::Microphone> microphone);

    sound::SoundStream::Io io();
    uint32_t read32(uint32_t offset) const NK_REQUIRES(m_mutex);
    // Returns true when the vector must be raised (after the lock is dropped).
    bool write32(uint32_t offset, uint32_t value) NK_REQUIRES(m_mutex);
    bool reset_locked() NK_REQUIRES(m_mutex);
    // Starts or stops stream `stream`'s clock as `outcome` says; never waits.
    bool apply(uint32_t stream, sound::SoundStream::Outcome const& outcome) NK_REQUIRES(m_mutex);
    void tick(uint32_t stream);
    void raise();

    std::string const m_name;
    // Declared before the card's state they report to, destroyed after it.
    std::unique_ptr<sound::SoundEventLog> const m_events;
    std::unique_ptr<sound::Speaker> const m_speaker;
    std::unique_ptr<sound::Microphone> const m_microphone;

    mutable Mutex m_mutex;
    std::array<sound::SoundStream, 2> m_streams NK_GUARDED_BY(m_mutex);
    sound::MixLevel m_master NK_GUARDED_BY(m_mutex);
    sound::MixLevel m_pcm NK_GUARDED_BY(m_mutex);
    sound::MixLevel m_capture NK_GUARDED_BY(m_mutex);
    uint64_t m_interrupts NK_GUARDED_BY(m_mutex) { 0 };

    // Made in connected(), before any register access, and only read after
    // that until the destructor: armed and cancelled under m_mutex (neither
    // waits), stopped synchronously only without it (a tick takes it).
    std::array<std::unique_ptr<EventSource>, 2> m_clocks;
};

} // namespace nk
