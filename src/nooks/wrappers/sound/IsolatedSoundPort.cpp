// SPDX-License-Identifier: MIT
#include "nooks/wrappers/sound/IsolatedSoundPort.h"

#include "classes/sound/PcmSubstream.h"
#include "classes/sound/SoundCard.h"
#include "nooks/module/IsolatedModule.h"

#include <vector>

namespace nk {

namespace {

struct RunningEntry {
    SoundCard const* card;
    char const* name;
};
// The entries of cards this thread is inside, innermost last.
thread_local std::vector<RunningEntry> t_entries;

class EntryScope {
public:
    EntryScope(SoundCard const& card, char const* name) { t_entries.push_back({ &card, name }); }
    ~EntryScope() { t_entries.pop_back(); }
    EntryScope(EntryScope const&) = delete;
    EntryScope& operator=(EntryScope const&) = delete;
};

uint32_t frame_bytes_of(nk_snd_pcm_params const& params) { return (params.format == NK_SND_FMT_S16_LE ? 2u : 1u) * params.channels; }

} // namespace

char const* IsolatedSoundPort::entry_running(SoundCard const& card)
{
    for (auto const& entry : t_entries) {
        if (entry.card == &card)
            return entry.name;
    }
    return nullptr;
}

void IsolatedSoundPort::mark_ready()
{
    {
        MutexLocker lock(m_ready_mutex);
        m_ready = true;
    }
    m_ready_fast.store(true, std::memory_order_release);
    m_ready_changed.notify_all();
}

std::optional<IsolatedSoundPort::Ring> IsolatedSoundPort::ring(uint32_t direction) const
{
    if (direction >= NK_SND_STREAMS)
        return std::nullopt;
    MutexLocker lock(m_ring_mutex);
    return m_rings[direction];
}

void IsolatedSoundPort::set_ring(uint32_t direction, std::optional<Ring> ring)
{
    if (direction >= NK_SND_STREAMS)
        return;
    MutexLocker lock(m_ring_mutex);
    m_rings[direction] = ring;
}

Result<uint64_t> IsolatedSoundPort::ready_handle(char const* operation, bool wait)
{
    if (!m_ready_fast.load(std::memory_order_acquire)) {
        if (!wait)
            return make_error(ErrorCode::Unavailable, "{}: the sound card is still being registered by {}", operation, m_module.name());
        MutexLocker lock(m_ready_mutex);
        if (!m_ready_changed.wait_for(lock, ready_timeout, [this]() NK_REQUIRES(m_ready_mutex) { return m_ready; }))
            return make_error(ErrorCode::Unavailable, "{}: {} did not finish registering its sound card within {} ms", operation,
                m_module.name(), ready_timeout.count());
    }
    return m_card.load(std::memory_order_acquire);
}

Result<abi::SndPcmOpArgs> IsolatedSoundPort::stream_args(PcmSubstream& pcm, abi::FunctionHandle fn, char const* operation, bool wait)
{
    auto card = TRY(ready_handle(operation, wait));
    auto handle = pcm.object_handle();
    if (handle == 0)
        return make_error(ErrorCode::Unavailable, "{}: the {} stream of {} has no handle", operation, pcm.playback() ? "playback" : "capture",
            pcm.card().name());
    return abi::SndPcmOpArgs { fn, card, handle, pcm.direction(), 0 };
}

Result<int> IsolatedSoundPort::open(PcmSubstream& pcm)
{
    auto args = TRY(stream_args(pcm, m_functions.open, "open", true));
    EntryScope entry(pcm.card(), "open");
    auto reply = TRY(m_module.call<abi::DriverEntry::snd_pcm_open>(CrossingScope::Kind::Process, args));
    return reply.verify_errno();
}

Result<int> IsolatedSoundPort::close(PcmSubstream& pcm)
{
    set_ring(pcm.direction(), std::nullopt);
    auto args = TRY(stream_args(pcm, m_functions.close, "close", true));
    EntryScope entry(pcm.card(), "close");
    auto reply = TRY(m_module.call<abi::DriverEntry::snd_pcm_close>(CrossingScope::Kind::Process, args));
    return reply.verify_errno();
}

Result<int> IsolatedSoundPort::hw_params(PcmSubstream& pcm, nk_snd_pcm_params const& params)
{
    auto op = TRY(stream_args(pcm, m_functions.hw_params, "hw_params", true));
    // No ring while the driver takes the new one: reports meanwhile are stale.
    set_ring(pcm.direction(), std::nullopt);
    abi::SndHwParamsArgs args { op.fn, op.card, op.pcm, op.stream, params.format, params.channels, params.rate, params.period_bytes,
        params.buffer_bytes, params.dma_addr };
    EntryScope entry(pcm.card(), "hw_params");
    auto reply = TRY(m_module.call<abi::DriverEntry::snd_pcm_hw_params>(CrossingScope::Kind::Process, args));
    auto answer = TRY(reply.verify_errno());
    if (answer == 0 && frame_bytes_of(params) != 0)
        set_ring(pcm.direction(), Ring { params.buffer_bytes, frame_bytes_of(params) });
    return answer;
}

Result<int> IsolatedSoundPort::hw_free(PcmSubstream& pcm)
{
    set_ring(pcm.direction(), std::nullopt);
    auto args = TRY(stream_args(pcm, m_functions.hw_free, "hw_free", true));
    EntryScope entry(pcm.card(), "hw_free");
    auto reply = TRY(m_module.call<abi::DriverEntry::snd_pcm_hw_free>(CrossingScope::Kind::Process, args));
    return reply.verify_errno();
}

Result<int> IsolatedSoundPort::prepare(PcmSubstream& pcm)
{
    auto args = TRY(stream_args(pcm, m_functions.prepare, "prepare", true));
    EntryScope entry(pcm.card(), "prepare");
    auto reply = TRY(m_module.call<abi::DriverEntry::snd_pcm_prepare>(CrossingScope::Kind::Process, args));
    return reply.verify_errno();
}

Result<int> IsolatedSoundPort::trigger(PcmSubstream& pcm, int command)
{
    auto op = TRY(stream_args(pcm, m_functions.trigger, "trigger", false));
    EntryScope entry(pcm.card(), "trigger");
    abi::SndPcmValueArgs args { op.fn, op.card, op.pcm, op.stream, static_cast<uint32_t>(command) };
    auto reply = TRY(m_module.call<abi::DriverEntry::snd_pcm_trigger>(CrossingScope::Kind::Atomic, args));
    return reply.verify_errno();
}

Result<uint32_t> IsolatedSoundPort::pointer(PcmSubstream& pcm)
{
    auto args = TRY(stream_args(pcm, m_functions.pointer, "pointer", false));
    auto ring = this->ring(pcm.direction());
    EntryScope entry(pcm.card(), "pointer");
    auto reply = TRY(m_module.call<abi::DriverEntry::snd_pcm_pointer>(CrossingScope::Kind::Atomic, args));
    if (!ring) {
        auto position = TRY(reply.verify([](int64_t v) { return v == 0; }, "a stream with no ring is at 0"));
        return static_cast<uint32_t>(position);
    }
    auto position = TRY(reply.verify([&](int64_t v) { return v >= 0 && v < ring->buffer_bytes && v % ring->frame_bytes == 0; },
        fmt::format("not a frame boundary inside the ring: 0 .. {} in steps of {}", ring->buffer_bytes - 1, ring->frame_bytes)));
    return static_cast<uint32_t>(position);
}

Result<int> IsolatedSoundPort::ack(PcmSubstream& pcm, uint32_t limit)
{
    auto op = TRY(stream_args(pcm, m_functions.ack, "ack", false));
    EntryScope entry(pcm.card(), "ack");
    abi::SndPcmValueArgs args { op.fn, op.card, op.pcm, op.stream, limit };
    auto reply = TRY(m_module.call<abi::DriverEntry::snd_pcm_ack>(CrossingScope::Kind::Atomic, args));
    return reply.verify_errno();
}

Result<int> IsolatedSoundPort::mixer_get(SoundCard& card, uint32_t control)
{
    if (m_functions.mixer_get == 0)
        return -ENOTTY;
    auto handle = TRY(ready_handle("mixer_get", true));
    EntryScope entry(card, "mixer_get");
    auto reply = TRY(m_module.call<abi::DriverEntry::snd_mixer_get>(CrossingScope::Kind::Process, { m_functions.mixer_get, handle, control, 0 }));
    auto value = TRY(reply.verify(
        [](int64_t v) {
            if (v < 0)
                return v >= -4095;
            return v <= 0xffff && NK_SND_MIXER_LEFT(static_cast<uint32_t>(v)) <= NK_SND_MIXER_MAX
                && NK_SND_MIXER_RIGHT(static_cast<uint32_t>(v)) <= NK_SND_MIXER_MAX;
        },
        "not a mixer value (left | right << 8, each 0..100) or a negative errno"));
    return static_cast<int>(value);
}

Result<int> IsolatedSoundPort::mixer_put(SoundCard& card, uint32_t control, uint32_t value)
{
    if (m_functions.mixer_put == 0)
        return -ENOTTY;
    auto handle = TRY(ready_handle("mixer_put", true));
    EntryScope entry(card, "mixer_put");
    auto reply = TRY(m_module.call<abi::DriverEntry::snd_mixer_put>(CrossingScope::Kind::Process, { m_functions.mixer_put, handle, control, value }));
    return reply.verify_errno();
}

} // namespace nk
