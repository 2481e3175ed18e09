// SPDX-License-Identifier: MIT
#include "devices/sound/SoundDevice.h"

#include "base/Log.h"

#include <hw/nksnd.h>

namespace nk {

using sound::MixLevel;
using sound::SoundStream;

Result<std::unique_ptr<SoundDevice>> SoundDevice::create(Options options)
{
    std::unique_ptr<sound::SoundEventLog> events;
    if (!options.speaker.empty()) {
        auto opened = sound::SoundEventLog::open(options.speaker + ".events");
        if (!opened)
            return make_error(opened.error().code(), "{}: {}", options.name, opened.error().message());
        events = std::move(*opened);
    }
    auto speaker = sound::Speaker::open(options.speaker, events.get());
    if (!speaker)
        return make_error(speaker.error().code(), "{}: {}", options.name, speaker.error().message());
    auto microphone = sound::Microphone::open(options.microphone, events.get());
    if (!microphone)
        return make_error(microphone.error().code(), "{}: microphone {}: {}", options.name, options.microphone, microphone.error().message());
    return std::unique_ptr<SoundDevice>(new SoundDevice(std::move(options.name), std::move(events), std::move(*speaker), std::move(*microphone)));
}

SoundDevice::SoundDevice(std::string name, std::unique_ptr<sound::SoundEventLog> events, std::unique_ptr<sound::Speaker> speaker,
    std::unique_ptr<sound::Microphone> microphone)
    : m_name(std::move(name))
    , m_events(std::move(events))
    , m_speaker(std::move(speaker))
    , m_microphone(std::move(microphone))
    , m_streams { SoundStream(NKSND_STREAM_PLAYBACK), SoundStream(NKSND_STREAM_CAPTURE) }
{
    // The speaker and microphone start from the same power-on mixer.
    MutexLocker lock(m_mutex);
    m_speaker->set_mixer(m_master, m_pcm);
    m_microphone->set_gain(m_capture);
}

SoundDevice::~SoundDevice()
{
    // Stopped first (waiting for a tick under way), then destroyed: a tick
    // never finds its clock half gone.
    for (auto& clock : m_clocks) {
        if (clock)
            clock->stop();
    }
    for (auto& clock : m_clocks)
        clock.reset();
}

uint16_t SoundDevice::vendor_id() const { return NKSND_VENDOR_ID; }
uint16_t SoundDevice::device_id() const { return NKSND_DEVICE_ID; }
uint32_t SoundDevice::window_size(uint32_t) const { return NKSND_WINDOW_SIZE; }

std::string SoundDevice::events_path() const { return m_events ? m_events->path() : std::string(); }

void SoundDevice::connected()
{
    if (events() == nullptr)
        return;
    for (uint32_t stream = 0; stream < NKSND_STREAMS; ++stream) {
        auto clock = events()->timer(fmt::format("{} {} clock", m_name, stream == NKSND_STREAM_PLAYBACK ? "playback" : "capture"),
            [this, stream](uint64_t) { tick(stream); });
        if (clock)
            m_clocks[stream] = std::move(*clock);
        else
            log::get("devices")->error("{}: no clock: {}; its streams will not move", m_name, clock.error());
    }
}

SoundStream::Io SoundDevice::io() { return { .iommu = iommu(), .speaker = *m_speaker, .microphone = *m_microphone }; }

// --- Registers -------------------------------------------------------------

uint64_t SoundDevice::read_register(uint32_t, uint32_t offset, unsigned width)
{
    MutexLocker lock(m_mutex);
    uint64_t value = read32(offset);
    if (width == 8)
        value |= uint64_t(read32(offset + 4)) << 32;
    return value;
}

uint32_t SoundDevice::read32(uint32_t offset) const
{
    switch (offset) {
    case NKSND_REG_ID: return NKSND_ID;
    case NKSND_REG_GLOBAL_CTRL: return 0; // RESET clears itself
    case NKSND_REG_GLOBAL_STATUS: {
        uint32_t value = 0;
        for (uint32_t stream = 0; stream < NKSND_STREAMS; ++stream)
            value |= m_streams[stream].pending() ? 1u << stream : 0u;
        return value;
    }
    case NKSND_REG_MIX_MASTER: return m_master.to_register();
    case NKSND_REG_MIX_PCM: return m_pcm.to_register();
    case NKSND_REG_MIX_CAPTURE: return m_capture.to_register();
    default: break;
    }
    for (uint32_t stream = 0; stream < NKSND_STREAMS; ++stream) {
        auto base = NKSND_STREAM_BASE(stream);
        if (offset >= base && offset < base + 0x100u)
            return m_streams[stream].read_register(offset - base);
    }
    return 0;
}

void SoundDevice::write_register(uint32_t, uint32_t offset, unsigned width, uint64_t value)
{
    bool fire = false;
    {
        MutexLocker lock(m_mutex);
        // A 64-bit access is two registers, low one first.
        fire = write32(offset, static_cast<uint32_t>(value));
        if (width == 8)
            fire |= write32(offset + 4, static_cast<uint32_t>(value >> 32));
    }
    if (fire)
        raise();
}

bool SoundDevice::write32(uint32_t offset, uint32_t value)
{
    switch (offset) {
    case NKSND_REG_GLOBAL_CTRL: return (value & NKSND_GLOBAL_CTRL_RESET) != 0 ? reset_locked() : false;
    case NKSND_REG_MIX_MASTER:
    case NKSND_REG_MIX_PCM:
        (offset == NKSND_REG_MIX_MASTER ? m_master : m_pcm) = MixLevel::from_register(value);
        m_speaker->set_mixer(m_master, m_pcm);
        return false;
    case NKSND_REG_MIX_CAPTURE:
        m_capture = MixLevel::from_register(value);
        m_microphone->set_gain(m_capture);
        return false;
    default: break;
    }
    for (uint32_t stream = 0; stream < NKSND_STREAMS; ++stream) {
        auto base = NKSND_STREAM_BASE(stream);
        if (offset >= base && offset < base + 0x100u)
            return apply(stream, m_streams[stream].write_register(offset - base, value, SoundStream::Clock::now(), io()));
    }
    return false; // ID, GLOBAL_STATUS and unassigned offsets
}

bool SoundDevice::apply(uint32_t stream, SoundStream::Outcome const& outcome)
{
    auto* clock = m_clocks[stream].get();
    // Cancel, not stop: the writer may be inside the very crossing a tick's
    // interrupt waits for. A tick under way may finish; none starts after this.
    if (outcome.stopped && clock != nullptr)
        clock->cancel();
    if (outcome.started) {
        if (clock == nullptr) {
            log::get("devices")->warn("{}: stream {} runs without a clock (no event loop): it will not move", m_name, stream);
        } else {
            auto interval = m_streams[stream].tick_interval();
            if (auto started = clock->start_timer(interval, interval); !started)
                log::get("devices")->error("{}: clock: {}", m_name, started.error());
        }
    }
    if (outcome.interrupt)
        m_interrupts++;
    return outcome.interrupt;
}

bool SoundDevice::reset_locked()
{
    bool fire = false;
    for (uint32_t stream = 0; stream < NKSND_STREAMS; ++stream)
        fire |= apply(stream, m_streams[stream].power_on(io()));
    m_master = m_pcm = m_capture = MixLevel {};
    m_speaker->set_mixer(m_master, m_pcm);
    m_microphone->set_gain(m_capture);
    return fire;
}

void SoundDevice::hard_reset()
{
    {
        MutexLocker lock(m_mutex);
        (void)reset_locked(); // a reset raises nothing: it clears every status
    }
    // Synchronous, without the lock a tick takes: when this returns the last
    // tick (and the handler its interrupt ran) has returned.
    for (auto& clock : m_clocks) {
        if (clock)
            clock->stop();
    }
    // A RUN that raced with the reset is undone too: the card ends in its
    // power-on state, its clocks stopped.
    MutexLocker lock(m_mutex);
    (void)reset_locked();
    for (auto& clock : m_clocks) {
        if (clock)
            clock->cancel();
    }
}

// --- The clocks --------------------------------------------------------------

// On the loop thread, outside any crossing.
void SoundDevice::tick(uint32_t stream)
{
    bool fire = false;
    {
        MutexLocker lock(m_mutex);
        auto& state = m_streams[stream];
        if (!state.running()) {
            // Stopped since this tick was due; on the loop thread this never waits.
            m_clocks[stream]->cancel();
            return;
        }
        fire = apply(stream, state.tick(SoundStream::Clock::now(), io()));
    }
    if (fire)
        raise();
}

void SoundDevice::raise() { raise_interrupt(0); }

bool SoundDevice::running(uint32_t stream) const
{
    MutexLocker lock(m_mutex);
    return stream < NKSND_STREAMS && m_streams[stream].running();
}

uint64_t SoundDevice::interrupts() const
{
    MutexLocker lock(m_mutex);
    return m_interrupts;
}

} // namespace nk
