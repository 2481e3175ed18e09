// SPDX-License-Identifier: MIT
#pragma once

// Native-mode sound port: calls the driver's functions directly, each inside
// a CrossingScope (process context for open, close, hw_params, hw_free,
// prepare and the mixer; atomic for trigger, pointer and ack, so a driver
// that sleeps there is caught).

#include "classes/sound/SoundDriverPort.h"

#include <nooks/sound.h>

namespace nk {

class Module;

class NativeSoundPort final : public SoundDriverPort {
public:
    NativeSoundPort(Module& owner, nk_snd_pcm_ops const& pcm_ops, nk_snd_mixer_ops const* mixer_ops)
        : m_owner(owner)
        , m_pcm(pcm_ops)
        , m_mixer(mixer_ops)
    {
    }

    Result<int> open(PcmSubstream& pcm) override;
    Result<int> close(PcmSubstream& pcm) override;
    Result<int> hw_params(PcmSubstream& pcm, nk_snd_pcm_params const& params) override;
    Result<int> hw_free(PcmSubstream& pcm) override;
    Result<int> prepare(PcmSubstream& pcm) override;
    Result<int> trigger(PcmSubstream& pcm, int command) override;
    Result<uint32_t> pointer(PcmSubstream& pcm) override;
    Result<int> ack(PcmSubstream& pcm, uint32_t limit) override;
    Result<int> mixer_get(SoundCard& card, uint32_t control) override;
    Result<int> mixer_put(SoundCard& card, uint32_t control, uint32_t value) override;

private:
    Module& m_owner;
    nk_snd_pcm_ops const& m_pcm;
    nk_snd_mixer_ops const* m_mixer;
};

} // namespace nk
