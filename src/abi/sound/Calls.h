// SPDX-License-Identifier: MIT
#pragma once

// The sound class's crossings (<nooks/sound.h>). Same conventions as
// src/abi/core/Calls.h; the kernel's bodies are src/nooks/wrappers/sound, the
// domain's stubs and thunks src/nooks/runtime/sound.
//
// Samples never cross: the ring is the sound layer's own DMA memory, which
// the card reaches through its IOMMU and the driver never touches. What
// crosses is control: configuration, trigger, positions.
//
// A card's streams are kernel objects of their own (handles the tracker
// made at registration); the driver learns a stream's handle from the
// arguments of the first entry that names it (open), together with its card
// and direction, so nk_snd_pcm_card, nk_snd_pcm_chip and nk_snd_pcm_stream
// are answered in the domain without crossing.

#include "abi/core/Calls.h"

#include <nooks/sound.h>

namespace nk::abi {

// --- driver -> kernel ------------------------------------------------------------

struct SndPcmHw {
    uint32_t formats;
    uint32_t channels_min;
    uint32_t channels_max;
    uint32_t rate_min;
    uint32_t rate_max;
    uint32_t buffer_bytes_max;
    uint32_t period_bytes_min;
    uint32_t period_bytes_max;
};
// struct nk_snd_pcm_ops and nk_snd_mixer_ops, as the domain named their functions (0: none).
struct SndOps {
    FunctionHandle open;
    FunctionHandle close;
    FunctionHandle hw_params;
    FunctionHandle hw_free;
    FunctionHandle prepare;
    FunctionHandle trigger;
    FunctionHandle pointer;
    FunctionHandle ack;
    FunctionHandle mixer_get;
    FunctionHandle mixer_put;
};
struct SndCardRegisterArgs {
    ObjectHandle dev; // the bus device
    char name[NK_SND_NAME_MAX];
    uint32_t streams;
    uint32_t mixer_controls;
    SndPcmHw hw[NK_SND_STREAMS];
    SndOps ops;
};
struct SndCardArgs {
    ObjectHandle card;
};
struct SndPcmPositionArgs {
    ObjectHandle pcm;
    uint32_t position;
    uint32_t reserved;
};

// --- kernel -> driver ------------------------------------------------------------

// open, close, hw_free, prepare, pointer.
struct SndPcmOpArgs {
    FunctionHandle fn;
    ObjectHandle card;
    ObjectHandle pcm;
    uint32_t stream;
    uint32_t reserved;
};
struct SndHwParamsArgs {
    FunctionHandle fn;
    ObjectHandle card;
    ObjectHandle pcm;
    uint32_t stream;
    uint32_t format;
    uint32_t channels;
    uint32_t rate;
    uint32_t period_bytes;
    uint32_t buffer_bytes;
    uint64_t dma_addr;
};
// trigger (value: the command) and ack (value: the limit).
struct SndPcmValueArgs {
    FunctionHandle fn;
    ObjectHandle card;
    ObjectHandle pcm;
    uint32_t stream;
    uint32_t value;
};
struct SndMixerArgs {
    FunctionHandle fn;
    ObjectHandle card;
    uint32_t control;
    uint32_t value; // mixer_put only
};

#define NOOKS_SOUND_KERNEL_CALLS(X)                                                   \
    X(sound, snd_card_register, Sync, SndCardRegisterArgs)                             \
    X(sound, snd_card_unregister, Sync, SndCardArgs)                                   \
    /* sent by nk_snd_card_register before it returns: the driver knows the handle */ \
    X(sound, snd_card_ready, Deferred, SndCardArgs)                                    \
    X(sound, snd_pcm_period_elapsed, Deferred, SndPcmPositionArgs)                     \
    X(sound, snd_pcm_xrun, Deferred, SndPcmPositionArgs)

#define NOOKS_SOUND_DRIVER_ENTRIES(X)                 \
    X(sound, snd_pcm_open, SndPcmOpArgs)              \
    X(sound, snd_pcm_close, SndPcmOpArgs)             \
    X(sound, snd_pcm_hw_params, SndHwParamsArgs)      \
    X(sound, snd_pcm_hw_free, SndPcmOpArgs)           \
    X(sound, snd_pcm_prepare, SndPcmOpArgs)           \
    X(sound, snd_pcm_trigger, SndPcmValueArgs)        \
    X(sound, snd_pcm_pointer, SndPcmOpArgs)           \
    X(sound, snd_pcm_ack, SndPcmValueArgs)            \
    X(sound, snd_mixer_get, SndMixerArgs)             \
    X(sound, snd_mixer_put, SndMixerArgs)

} // namespace nk::abi
