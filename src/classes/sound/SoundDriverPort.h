// SPDX-License-Identifier: MIT
#pragma once

// How the sound layer reaches a sound driver's entry points (struct
// nk_snd_pcm_ops and nk_snd_mixer_ops): directly in native mode, across a
// protection domain under isolation, and through the shadow driver's taps
// in shadow mode. The layer is written once against this interface.
//
// An error Result means the driver could not run (it failed), not that it
// refused: a refusal is the driver's answer (a negative errno). Threads and
// serialization are those of <nooks/sound.h>: open, close, hw_params,
// hw_free, prepare and the mixer in process context; trigger, pointer and
// ack in atomic context; one at a time per stream (per card for the mixer).
// The layer never holds a lock period_elapsed or xrun takes while it calls
// a port.

#include "base/Error.h"

#include <nooks/sound.h>

#include <cstdint>

namespace nk {

class PcmSubstream;
class SoundCard;

class SoundDriverPort {
public:
    virtual ~SoundDriverPort() = default;

    virtual Result<int> open(PcmSubstream& pcm) = 0;
    virtual Result<int> close(PcmSubstream& pcm) = 0;
    virtual Result<int> hw_params(PcmSubstream& pcm, nk_snd_pcm_params const& params) = 0;
    virtual Result<int> hw_free(PcmSubstream& pcm) = 0;
    virtual Result<int> prepare(PcmSubstream& pcm) = 0;
    virtual Result<int> trigger(PcmSubstream& pcm, int command) = 0;
    // The card's position in the ring; a port checks it is inside the ring
    // (buffer_bytes) and on a frame boundary (an isolated port fails the
    // driver otherwise).
    virtual Result<uint32_t> pointer(PcmSubstream& pcm) = 0;
    virtual Result<int> ack(PcmSubstream& pcm, uint32_t limit) = 0;

    // Absent in a driver without a mixer: -ENOTTY.
    virtual Result<int> mixer_get(SoundCard& card, uint32_t control) = 0;
    virtual Result<int> mixer_put(SoundCard& card, uint32_t control, uint32_t value) = 0;
};

} // namespace nk
