// SPDX-License-Identifier: MIT
#pragma once

// What the domain knows of its driver's sound cards and their streams, so
// that nk_snd_card_priv, nk_snd_pcm_card, nk_snd_pcm_chip and
// nk_snd_pcm_stream are answered without crossing: a card's private
// pointer; a stream's card and direction.
//
// A card's record is made by nk_snd_card_register (before snd_card_ready
// crosses) and freed by nk_snd_card_unregister (with its streams' records).
// A stream's record is learned from the arguments of the entries that name
// it (open first) and forgotten when its close returns (or its open failed).
//
// Kept by type, apart from the runtime's handle cache: a handle of another
// type passed where a card or a stream belongs finds no record here (the
// driver gets null, or NK_SND_STREAMS as a direction; a call that crosses
// with it is rejected by the kernel). Thread-safety: every function may be
// called from any worker.

#include <cstdint>
#include <optional>

namespace nk::runtime {

struct LocalSoundCard {
    void* private_data { nullptr };
};

struct LocalPcm {
    uint64_t card { 0 };
    uint32_t stream { 0 };
};

// The card's private data, if `card` is a card the driver registered.
std::optional<void*> sound_card_private(uint64_t card);
void add_sound_card(uint64_t card, void* private_data);
// Forgets the card and every stream record of it.
void remove_sound_card(uint64_t card);

// The stream's card and direction, if the kernel named `pcm` in an entry since its open.
std::optional<LocalPcm> sound_pcm(uint64_t pcm);
// Records (or refreshes) what an entry's arguments say of `pcm`.
void learn_sound_pcm(uint64_t pcm, LocalPcm record);
void forget_sound_pcm(uint64_t pcm);

} // namespace nk::runtime
