// SPDX-License-Identifier: MIT
#pragma once

// The sound class's wrappers (src/abi/sound/Calls.h): sound cards, their
// PCM streams' period and xrun reports. See ClassWrappers for the contract.
//
// A card the driver registers is tracked with its streams (one object each,
// released with the card: a failed driver's card goes to
// SoundLayer::release_card). Positions the driver reports are checked
// against the ring its stream was last configured with (as the port knows
// it): inside the ring and on a frame boundary.

#include "base/Mutex.h"
#include "nooks/tracker/ObjectTracker.h"
#include "nooks/wrappers/ClassWrappers.h"

#include <map>

namespace nk {

class SoundCard;
class SoundLayer;
class IsolatedSoundPort;

// The tracker's types for what a sound driver holds.
constexpr ObjectType snd_card_object = class_object_type(abi::ClassId::sound, 0);
constexpr ObjectType snd_pcm_object = class_object_type(abi::ClassId::sound, 1);

class SoundWrappers final : public ClassWrappers {
public:
    explicit SoundWrappers(IsolatedModule& module);

    Result<XpcReply> handle(IncomingCall const& call, ReplyPayload& reply) override;

#define NK_X(cls, name, delivery, Args) Result<XpcReply> name(IncomingCall const& call, abi::Args const& args, ReplyPayload& reply);
    NOOKS_SOUND_KERNEL_CALLS(NK_X)
#undef NK_X

private:
    // The isolated port of `card` (null if it has none).
    IsolatedSoundPort* port_of(SoundCard& card);
    // nk_snd_pcm_period_elapsed and nk_snd_pcm_xrun: the checks they share.
    Result<XpcReply> position_report(IncomingCall const& call, abi::SndPcmPositionArgs const& args, bool xrun);

    // The kernel's sound class (null in a kernel that has none: cards are refused).
    SoundLayer* m_sound;
    Mutex m_mutex;
    // Ports of cards registered but not yet known to the driver (snd_card_ready).
    std::map<uint64_t, IsolatedSoundPort*> m_unready NK_GUARDED_BY(m_mutex);
    // Every live card's port, by the card's handle (it lives as long as the card object).
    std::map<uint64_t, IsolatedSoundPort*> m_ports NK_GUARDED_BY(m_mutex);
};

} // namespace nk
