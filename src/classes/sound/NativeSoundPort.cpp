// SPDX-License-Identifier: MIT
#include "classes/sound/NativeSoundPort.h"

#include "classes/sound/SoundCard.h"
#include "kernel/exec/Context.h"
#include "kernel/module/Module.h"
#include "kernel/native/NativeModule.h"

#include <cerrno>

namespace nk {

namespace {

// A driver's entry point may be absent where sound.h allows it (hw_free, ack).
template<typename Fn, typename... Args>
int call_optional(Fn fn, Args... args)
{
    return fn != nullptr ? fn(args...) : 0;
}

} // namespace

Result<int> NativeSoundPort::open(PcmSubstream& pcm)
{
    CrossingScope crossing(m_owner, CrossingScope::Kind::Process);
    if (native_inject(m_owner, abi::DriverEntry::snd_pcm_open, pcm.card().private_data()))
        return 0;
    return m_pcm.open(pcm.handle());
}

Result<int> NativeSoundPort::close(PcmSubstream& pcm)
{
    CrossingScope crossing(m_owner, CrossingScope::Kind::Process);
    if (native_inject(m_owner, abi::DriverEntry::snd_pcm_close, pcm.card().private_data()))
        return 0;
    return m_pcm.close(pcm.handle());
}

Result<int> NativeSoundPort::hw_params(PcmSubstream& pcm, nk_snd_pcm_params const& params)
{
    CrossingScope crossing(m_owner, CrossingScope::Kind::Process);
    if (native_inject(m_owner, abi::DriverEntry::snd_pcm_hw_params, pcm.card().private_data()))
        return 0;
    return m_pcm.hw_params(pcm.handle(), &params);
}

Result<int> NativeSoundPort::hw_free(PcmSubstream& pcm)
{
    CrossingScope crossing(m_owner, CrossingScope::Kind::Process);
    if (native_inject(m_owner, abi::DriverEntry::snd_pcm_hw_free, pcm.card().private_data()))
        return 0;
    return call_optional(m_pcm.hw_free, pcm.handle());
}

Result<int> NativeSoundPort::prepare(PcmSubstream& pcm)
{
    CrossingScope crossing(m_owner, CrossingScope::Kind::Process);
    if (native_inject(m_owner, abi::DriverEntry::snd_pcm_prepare, pcm.card().private_data()))
        return 0;
    return m_pcm.prepare(pcm.handle());
}

Result<int> NativeSoundPort::trigger(PcmSubstream& pcm, int command)
{
    CrossingScope crossing(m_owner, CrossingScope::Kind::Atomic);
    if (native_inject(m_owner, abi::DriverEntry::snd_pcm_trigger, pcm.card().private_data()))
        return 0;
    return m_pcm.trigger(pcm.handle(), command);
}

Result<uint32_t> NativeSoundPort::pointer(PcmSubstream& pcm)
{
    CrossingScope crossing(m_owner, CrossingScope::Kind::Atomic);
    if (native_inject(m_owner, abi::DriverEntry::snd_pcm_pointer, pcm.card().private_data()))
        return 0u;
    return m_pcm.pointer(pcm.handle());
}

Result<int> NativeSoundPort::ack(PcmSubstream& pcm, uint32_t limit)
{
    CrossingScope crossing(m_owner, CrossingScope::Kind::Atomic);
    if (native_inject(m_owner, abi::DriverEntry::snd_pcm_ack, pcm.card().private_data()))
        return 0;
    return call_optional(m_pcm.ack, pcm.handle(), limit);
}

Result<int> NativeSoundPort::mixer_get(SoundCard& card, uint32_t control)
{
    if (m_mixer == nullptr || m_mixer->mixer_get == nullptr)
        return -ENOTTY;
    CrossingScope crossing(m_owner, CrossingScope::Kind::Process);
    if (native_inject(m_owner, abi::DriverEntry::snd_mixer_get, card.private_data()))
        return 0;
    return m_mixer->mixer_get(card.handle(), control);
}

Result<int> NativeSoundPort::mixer_put(SoundCard& card, uint32_t control, uint32_t value)
{
    if (m_mixer == nullptr || m_mixer->mixer_put == nullptr)
        return -ENOTTY;
    CrossingScope crossing(m_owner, CrossingScope::Kind::Process);
    if (native_inject(m_owner, abi::DriverEntry::snd_mixer_put, card.private_data()))
        return 0;
    return m_mixer->mixer_put(card.handle(), control, value);
}

} // namespace nk
