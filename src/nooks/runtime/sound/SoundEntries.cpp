// SPDX-License-Identifier: MIT
// Entry thunks of the sound class (src/abi/sound/Calls.h). Every stream
// entry's arguments name the stream's card and direction: the domain learns
// them here (nk_snd_pcm_card, nk_snd_pcm_chip and nk_snd_pcm_stream are
// answered from that). trigger, pointer and ack run atomic.

#include "nooks/runtime/Entries.h"
#include "nooks/runtime/Runtime.h"
#include "nooks/runtime/sound/SoundLocal.h"

#include <nooks/sound.h>

namespace nk::runtime {

namespace {

nk_snd_pcm* pcm_of(uint64_t handle) { return reinterpret_cast<nk_snd_pcm*>(handle); }
nk_snd_card* card_of(uint64_t handle) { return reinterpret_cast<nk_snd_card*>(handle); }

// Every sound entry's arguments begin with { fn, card }.
struct CardPrefix {
    abi::FunctionHandle fn;
    abi::ObjectHandle card;
};
static_assert(offsetof(abi::SndPcmOpArgs, card) == offsetof(CardPrefix, card));
static_assert(offsetof(abi::SndHwParamsArgs, card) == offsetof(CardPrefix, card));
static_assert(offsetof(abi::SndPcmValueArgs, card) == offsetof(CardPrefix, card));
static_assert(offsetof(abi::SndMixerArgs, card) == offsetof(CardPrefix, card));

template<typename Args>
void learn(Args const& a)
{
    learn_sound_pcm(a.pcm, LocalPcm { a.card, a.stream });
}

int64_t run_open(abi::SndPcmOpArgs const& a)
{
    learn(a);
    int answer = resolve<int (*)(nk_snd_pcm*)>(a.fn, "bad open handle")(pcm_of(a.pcm));
    if (answer != 0)
        forget_sound_pcm(a.pcm); // not open: the stream is not the driver's
    return answer;
}

int64_t run_close(abi::SndPcmOpArgs const& a)
{
    learn(a);
    int answer = resolve<int (*)(nk_snd_pcm*)>(a.fn, "bad close handle")(pcm_of(a.pcm));
    forget_sound_pcm(a.pcm);
    return answer;
}

int64_t run_hw_params(abi::SndHwParamsArgs const& a)
{
    learn(a);
    nk_snd_pcm_params params {};
    params.format = a.format;
    params.channels = a.channels;
    params.rate = a.rate;
    params.period_bytes = a.period_bytes;
    params.buffer_bytes = a.buffer_bytes;
    params.dma_addr = a.dma_addr;
    return resolve<int (*)(nk_snd_pcm*, nk_snd_pcm_params const*)>(a.fn, "bad hw_params handle")(pcm_of(a.pcm), &params);
}

} // namespace

EntryView view_sound_entry(abi::DriverEntry, void const* args)
{
    auto const& prefix = args_as<CardPrefix>(args);
    return { sound_card_private(prefix.card).value_or(nullptr), {} };
}

int64_t run_sound_entry(abi::DriverEntry entry, void const* args)
{
    switch (entry) {
    case abi::DriverEntry::snd_pcm_open: return run_open(args_as<abi::SndPcmOpArgs>(args));
    case abi::DriverEntry::snd_pcm_close: return run_close(args_as<abi::SndPcmOpArgs>(args));
    case abi::DriverEntry::snd_pcm_hw_params: return run_hw_params(args_as<abi::SndHwParamsArgs>(args));
    case abi::DriverEntry::snd_pcm_hw_free: {
        auto const& a = args_as<abi::SndPcmOpArgs>(args);
        learn(a);
        return resolve<int (*)(nk_snd_pcm*)>(a.fn, "bad hw_free handle")(pcm_of(a.pcm));
    }
    case abi::DriverEntry::snd_pcm_prepare: {
        auto const& a = args_as<abi::SndPcmOpArgs>(args);
        learn(a);
        return resolve<int (*)(nk_snd_pcm*)>(a.fn, "bad prepare handle")(pcm_of(a.pcm));
    }
    case abi::DriverEntry::snd_pcm_trigger: {
        auto const& a = args_as<abi::SndPcmValueArgs>(args);
        learn(a);
        AtomicSection atomic;
        return resolve<int (*)(nk_snd_pcm*, int)>(a.fn, "bad trigger handle")(pcm_of(a.pcm), static_cast<int>(a.value));
    }
    case abi::DriverEntry::snd_pcm_pointer: {
        auto const& a = args_as<abi::SndPcmOpArgs>(args);
        learn(a);
        AtomicSection atomic;
        // A position, unsigned: the kernel checks it against the ring.
        return int64_t { resolve<uint32_t (*)(nk_snd_pcm*)>(a.fn, "bad pointer handle")(pcm_of(a.pcm)) };
    }
    case abi::DriverEntry::snd_pcm_ack: {
        auto const& a = args_as<abi::SndPcmValueArgs>(args);
        learn(a);
        AtomicSection atomic;
        return resolve<int (*)(nk_snd_pcm*, uint32_t)>(a.fn, "bad ack handle")(pcm_of(a.pcm), a.value);
    }
    case abi::DriverEntry::snd_mixer_get: {
        auto const& a = args_as<abi::SndMixerArgs>(args);
        return resolve<int (*)(nk_snd_card*, uint32_t)>(a.fn, "bad mixer_get handle")(card_of(a.card), a.control);
    }
    case abi::DriverEntry::snd_mixer_put: {
        auto const& a = args_as<abi::SndMixerArgs>(args);
        return resolve<int (*)(nk_snd_card*, uint32_t, uint32_t)>(a.fn, "bad mixer_put handle")(card_of(a.card), a.control, a.value);
    }
    default:
        break;
    }
    Runtime::the().die(abi::FaultKind::RuntimeError, "not a sound entry point");
}

} // namespace nk::runtime
