// SPDX-License-Identifier: MIT
// The kernel API inside a protection domain (sound class): each stub fills
// its call's arguments struct (src/abi/sound/Calls.h) and crosses, or
// answers from the domain's own record of the card and its streams.

#include "kernel/api/DriverMisuse.h"
#include "kernel/exec/Context.h"
#include "nooks/runtime/Runtime.h"
#include "nooks/runtime/sound/SoundLocal.h"

#include <nooks/sound.h>

#include <cstring>

using nk::abi::KernelCall;
using nk::runtime::Runtime;

namespace {

uint64_t value(void const* pointer) { return reinterpret_cast<uint64_t>(pointer); }
uint64_t function(void const* pointer) { return pointer != nullptr ? Runtime::the().function_handle(pointer) : 0; }

template<typename Function>
uint64_t op(Function pointer)
{
    return function(reinterpret_cast<void const*>(pointer));
}

} // namespace

extern "C" {

int nk_snd_card_register(nk_device* dev, nk_snd_card_params const* params, nk_snd_pcm_ops const* pcm_ops,
    nk_snd_mixer_ops const* mixer_ops, void* private_data, nk_snd_card** out)
{
    // A lock the driver holds is the domain's own: only it can tell (as nk_msleep does).
    if (nk::current_context().atomic_depth > 0)
        nk::report_driver_misuse("nk_snd_card_register", "may sleep, called in atomic context");
    auto& runtime = Runtime::the();
    if (params == nullptr || out == nullptr)
        return -EINVAL;
    nk::abi::SndCardRegisterArgs args {};
    args.dev = value(dev);
    // All of it, terminated or not: the kernel checks the name.
    std::memcpy(args.name, params->name, sizeof(args.name));
    args.streams = params->streams;
    args.mixer_controls = params->mixer_controls;
    for (unsigned s = 0; s < NK_SND_STREAMS; ++s) {
        auto const& hw = params->hw[s];
        args.hw[s] = { hw.formats, hw.channels_min, hw.channels_max, hw.rate_min, hw.rate_max, hw.buffer_bytes_max, hw.period_bytes_min,
            hw.period_bytes_max };
    }
    if (pcm_ops != nullptr) {
        args.ops.open = op(pcm_ops->open);
        args.ops.close = op(pcm_ops->close);
        args.ops.hw_params = op(pcm_ops->hw_params);
        args.ops.hw_free = op(pcm_ops->hw_free);
        args.ops.prepare = op(pcm_ops->prepare);
        args.ops.trigger = op(pcm_ops->trigger);
        args.ops.pointer = op(pcm_ops->pointer);
        args.ops.ack = op(pcm_ops->ack);
    }
    if (mixer_ops != nullptr) {
        args.ops.mixer_get = op(mixer_ops->mixer_get);
        args.ops.mixer_put = op(mixer_ops->mixer_put);
    }
    auto reply = runtime.call<KernelCall::snd_card_register>(args);
    if (reply.result != 0)
        return static_cast<int>(reply.result);
    // The domain's record of the card (its private pointer). The kernel calls
    // none of the card's entry points before snd_card_ready, which follows.
    nk::runtime::add_sound_card(reply.word, private_data);
    *out = reinterpret_cast<nk_snd_card*>(reply.word);
    runtime.defer<KernelCall::snd_card_ready>({ reply.word });
    return 0;
}

void nk_snd_card_unregister(nk_snd_card* card)
{
    if (nk::current_context().atomic_depth > 0)
        nk::report_driver_misuse("nk_snd_card_unregister", "may sleep, called in atomic context");
    // The driver's close runs inside this call and still asks about its streams.
    Runtime::the().call<KernelCall::snd_card_unregister>({ value(card) });
    nk::runtime::remove_sound_card(value(card));
}

void* nk_snd_card_priv(nk_snd_card* card) { return nk::runtime::sound_card_private(value(card)).value_or(nullptr); }

nk_snd_card* nk_snd_pcm_card(nk_snd_pcm* pcm)
{
    auto record = nk::runtime::sound_pcm(value(pcm));
    return record ? reinterpret_cast<nk_snd_card*>(record->card) : nullptr;
}

void* nk_snd_pcm_chip(nk_snd_pcm* pcm)
{
    auto record = nk::runtime::sound_pcm(value(pcm));
    return record ? nk::runtime::sound_card_private(record->card).value_or(nullptr) : nullptr;
}

uint32_t nk_snd_pcm_stream(nk_snd_pcm* pcm)
{
    auto record = nk::runtime::sound_pcm(value(pcm));
    return record ? record->stream : NK_SND_STREAMS;
}

void nk_snd_pcm_period_elapsed(nk_snd_pcm* pcm, uint32_t position)
{
    Runtime::the().defer<KernelCall::snd_pcm_period_elapsed>({ value(pcm), position, 0 });
}

void nk_snd_pcm_xrun(nk_snd_pcm* pcm, uint32_t position) { Runtime::the().defer<KernelCall::snd_pcm_xrun>({ value(pcm), position, 0 }); }

} // extern "C"
