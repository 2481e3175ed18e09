// SPDX-License-Identifier: MIT
// Kernel wrappers: the bodies of the sound class's calls.

#include "nooks/wrappers/sound/SoundWrappers.h"

#include "classes/sound/PcmSubstream.h"
#include "classes/sound/SoundCard.h"
#include "classes/sound/SoundLayer.h"
#include "kernel/Kernel.h"
#include "kernel/exec/Context.h"
#include "nooks/module/IsolatedModule.h"
#include "nooks/wrappers/sound/IsolatedSoundPort.h"

#include <cstring>

namespace nk {

std::unique_ptr<ClassWrappers> make_sound_wrappers(IsolatedModule& module) { return std::make_unique<SoundWrappers>(module); }

SoundWrappers::SoundWrappers(IsolatedModule& module)
    : ClassWrappers(module)
    , m_sound(module.kernel().driver_class<SoundLayer>())
{
    name_object_type(snd_card_object, "snd-card");
    name_object_type(snd_pcm_object, "snd-pcm");
}

Result<XpcReply> SoundWrappers::handle(IncomingCall const& call, ReplyPayload& reply)
{
    switch (call.id) {
#define NK_X(cls, name, delivery, Args) \
    case abi::KernelCall::name: return name(call, TRY(decode<abi::Args>(call)), reply);
        NOOKS_SOUND_KERNEL_CALLS(NK_X)
#undef NK_X
    default: break;
    }
    return NK_REJECT(call, "not a sound call");
}

namespace {

SoundCard& card_of(TrackedRef const& ref) { return *static_cast<SoundCard*>(ref.object); }
PcmSubstream& pcm_of(TrackedRef const& ref) { return *static_cast<PcmSubstream*>(ref.object); }

char const* direction_name(uint32_t direction) { return direction == NK_SND_PLAYBACK ? "playback" : "capture"; }

// Registering and unregistering may wait (for the card's streams to stop and
// close, for the layer's listeners): from atomic context (an interrupt
// handler, a timer, trigger, pointer, ack) they are refused, as nk_msleep is.
Result<void> check_may_sleep(IncomingCall const& call)
{
    if (current_context().atomic_depth > 0)
        return std::unexpected(Error(ErrorCode::FailedPrecondition, fmt::format("{}: may sleep, called in atomic context", abi::name_of(call.id))));
    return {};
}

// The pcm ops a card with streams must have, and the mixer ops one with controls.
Result<void> check_ops(IncomingCall const& call, SoundCardConfig const& config, abi::SndOps const& ops)
{
    if (config.streams != 0) {
        std::pair<abi::FunctionHandle, char const*> const required[] = { { ops.open, "open" }, { ops.close, "close" },
            { ops.hw_params, "hw_params" }, { ops.hw_free, "hw_free" }, { ops.prepare, "prepare" }, { ops.trigger, "trigger" },
            { ops.pointer, "pointer" }, { ops.ack, "ack" } };
        for (auto const& [function, name] : required) {
            if (function == 0)
                return NK_REJECT(call, "pcm_ops->{}: missing (a card with streams needs every pcm op)", name);
        }
    }
    if (config.mixer_controls != 0) {
        if (ops.mixer_get == 0)
            return NK_REJECT(call, "mixer_ops->mixer_get: missing (the card has mixer controls)");
        if (ops.mixer_put == 0)
            return NK_REJECT(call, "mixer_ops->mixer_put: missing (the card has mixer controls)");
    }
    return {};
}

} // namespace

IsolatedSoundPort* SoundWrappers::port_of(SoundCard& card)
{
    {
        MutexLocker lock(m_mutex);
        if (auto it = m_ports.find(card.object_handle()); it != m_ports.end())
            return it->second;
    }
    // A card these wrappers did not register (another instance of them made it).
    return dynamic_cast<IsolatedSoundPort*>(&card.port());
}

Result<XpcReply> SoundWrappers::snd_card_register(IncomingCall const& call, abi::SndCardRegisterArgs const& args, ReplyPayload&)
{
    TRY(check_may_sleep(call));
    TRY(check_quota(call));
    auto* dev = TRY(device(call, args.dev, "dev"));
    auto card_name = TRY(name(call, args.name, "params->name"));
    nk_snd_card_params params {};
    std::memcpy(params.name, card_name.data(), std::min(card_name.size(), sizeof(params.name) - 1));
    params.streams = args.streams;
    params.mixer_controls = args.mixer_controls;
    for (unsigned s = 0; s < NK_SND_STREAMS; ++s) {
        auto const& hw = args.hw[s];
        params.hw[s] = { hw.formats, hw.channels_min, hw.channels_max, hw.rate_min, hw.rate_max, hw.buffer_bytes_max, hw.period_bytes_min,
            hw.period_bytes_max };
    }
    // The checks of the masks and of every capability range are the sound
    // class's own (the native path runs them too).
    auto config = SoundCardConfig::from_params(params);
    if (!config)
        return NK_REJECT(call, "{}", config.error().message());
    TRY(check_ops(call, *config, args.ops));
    if (m_sound == nullptr)
        return XpcReply { -ENODEV, 0 }; // a kernel with no sound class
    auto port = std::make_unique<IsolatedSoundPort>(m_module, args.ops);
    auto* port_raw = port.get();
    auto& sound = *m_sound;
    auto registered = sound.register_card(m_module, dev, params, std::move(port), nullptr);
    if (!registered)
        return XpcReply { -registered.error().to_errno(), 0 };
    auto* raw = registered->get();
    // Released with a failed driver: the sound class (or its shadow) decides the card's fate.
    auto handle = m_module.tracker().add({ .type = snd_card_object, .lifetime = Lifetime::Explicit, .object = raw,
                                             .description = fmt::format("sound card {} ({})", raw->name(), raw->config().name) },
        [&sound, raw] { sound.release_card(*raw); });
    raw->set_object_handle(handle);
    port_raw->set_card_handle(handle);
    // Its streams, named to the driver in the entries' arguments: they go with the card.
    for (uint32_t direction = 0; direction < NK_SND_STREAMS; ++direction) {
        auto* pcm = raw->pcm(direction);
        if (pcm == nullptr)
            continue;
        auto pcm_handle = m_module.tracker().add({ .type = snd_pcm_object, .lifetime = Lifetime::ByMeaning, .object = pcm, .key = direction,
                                                     .description = fmt::format("{} stream of {}", direction_name(direction), raw->name()) },
            [] { });
        pcm->set_object_handle(pcm_handle);
    }
    {
        MutexLocker lock(m_mutex);
        m_unready[handle] = port_raw;
        m_ports[handle] = port_raw;
    }
    return XpcReply { 0, handle };
}

Result<XpcReply> SoundWrappers::snd_card_unregister(IncomingCall const& call, abi::SndCardArgs const& args, ReplyPayload&)
{
    TRY(check_may_sleep(call));
    auto ref = TRY(m_module.tracker().lookup(args.card, snd_card_object, abi::name_of(call.id), "card"));
    auto& card = card_of(ref);
    // Unregistering stops and closes the card's open streams, each under the
    // stream's lock the layer holds across its entries: from inside one of
    // them it would wait for itself.
    if (auto const* entry = IsolatedSoundPort::entry_running(card))
        return std::unexpected(Error(ErrorCode::FailedPrecondition,
            fmt::format("{}: card {:#x}: called from the card's own {} (it waits for that to return)", abi::name_of(call.id), args.card, entry)));
    // The driver's close still names the streams (and its interrupt handler
    // may report on them meanwhile): they are forgotten only afterwards. A
    // card handle exists only where a sound class made the card.
    (void)m_sound->unregister_card(card);
    for (uint32_t direction = 0; direction < NK_SND_STREAMS; ++direction) {
        if (auto* pcm = card.pcm(direction); pcm != nullptr && pcm->object_handle() != 0)
            (void)m_module.tracker().remove(pcm->object_handle());
    }
    (void)m_module.tracker().remove(args.card);
    {
        MutexLocker lock(m_mutex);
        m_unready.erase(args.card);
        m_ports.erase(args.card);
    }
    return XpcReply {};
}

Result<XpcReply> SoundWrappers::snd_card_ready(IncomingCall const& call, abi::SndCardArgs const& args, ReplyPayload&)
{
    TRY(m_module.tracker().lookup(args.card, snd_card_object, abi::name_of(call.id), "card"));
    IsolatedSoundPort* port = nullptr;
    {
        MutexLocker lock(m_mutex);
        if (auto it = m_unready.find(args.card); it != m_unready.end()) {
            port = it->second;
            m_unready.erase(it);
        }
    }
    if (port == nullptr)
        return NK_REJECT(call, "card {:#x}: not a sound card waiting to be ready", args.card);
    port->mark_ready();
    return XpcReply {};
}

Result<XpcReply> SoundWrappers::position_report(IncomingCall const& call, abi::SndPcmPositionArgs const& args, bool xrun)
{
    auto ref = TRY(m_module.tracker().lookup(args.pcm, snd_pcm_object, abi::name_of(call.id), "pcm"));
    auto& pcm = pcm_of(ref);
    auto* port = port_of(pcm.card());
    auto ring = port != nullptr ? port->ring(pcm.direction()) : std::nullopt;
    // A report on a stream with no ring (its interrupt raced with hw_free or
    // close) is stale: nothing to check it against, nothing to tell.
    if (!ring)
        return XpcReply {};
    if (args.position >= ring->buffer_bytes || args.position % ring->frame_bytes != 0)
        return NK_REJECT(call, "position {}: not a frame boundary inside the ring (0 .. {} in steps of {})", args.position,
            ring->buffer_bytes - 1, ring->frame_bytes);
    if (xrun)
        pcm.xrun(args.position);
    else
        pcm.period_elapsed(args.position);
    return XpcReply {};
}

Result<XpcReply> SoundWrappers::snd_pcm_period_elapsed(IncomingCall const& call, abi::SndPcmPositionArgs const& args, ReplyPayload&)
{
    return position_report(call, args, false);
}

Result<XpcReply> SoundWrappers::snd_pcm_xrun(IncomingCall const& call, abi::SndPcmPositionArgs const& args, ReplyPayload&)
{
    return position_report(call, args, true);
}

} // namespace nk
