// SPDX-License-Identifier: MIT
// The kernel API (sound class), native mode.

#include "classes/sound/api/NativeApi.h"

#include "base/Log.h"
#include "classes/sound/NativeSoundPort.h"
#include "classes/sound/SoundLayer.h"
#include "kernel/Kernel.h"
#include "kernel/api/DriverMisuse.h"
#include "kernel/api/NativeApi.h"
#include "kernel/bus/BusDevice.h"

#include <nooks/sound.h>

using namespace nk;
using nk::native_api::caller;
using nk::native_api::caller_kernel;
using nk::native_api::might_sleep;

namespace {

SoundLayer* sound_layer(char const* function)
{
    auto* kernel = caller_kernel(function);
    return kernel != nullptr ? kernel->driver_class<SoundLayer>() : nullptr;
}

} // namespace

extern "C" {

int nk_snd_card_register(nk_device* dev, nk_snd_card_params const* params, nk_snd_pcm_ops const* pcm_ops, nk_snd_mixer_ops const* mixer_ops,
    void* private_data, nk_snd_card** out)
{
    might_sleep(__func__);
    auto* sound = sound_layer(__func__);
    if (sound == nullptr)
        return -ENODEV; // a kernel with no sound class
    if (dev == nullptr || params == nullptr || pcm_ops == nullptr || out == nullptr || pcm_ops->open == nullptr || pcm_ops->close == nullptr
        || pcm_ops->hw_params == nullptr || pcm_ops->prepare == nullptr || pcm_ops->trigger == nullptr || pcm_ops->pointer == nullptr)
        return -EINVAL;
    auto card = sound->register_card(*caller(), &BusDevice::from_handle(dev), *params,
        std::make_unique<NativeSoundPort>(*caller(), *pcm_ops, mixer_ops), private_data);
    if (!card) {
        log::get(caller()->name())->error("{}", card.error());
        return -card.error().to_errno();
    }
    *out = (*card)->handle();
    return 0;
}

void nk_snd_card_unregister(nk_snd_card* card)
{
    might_sleep(__func__);
    auto* sound = sound_layer(__func__);
    if (sound != nullptr && card != nullptr)
        (void)sound->unregister_card(SoundCard::from_handle(card));
}

void* nk_snd_card_priv(nk_snd_card* card) { return card != nullptr ? SoundCard::from_handle(card).private_data() : nullptr; }

nk_snd_card* nk_snd_pcm_card(nk_snd_pcm* pcm) { return pcm != nullptr ? PcmSubstream::from_handle(pcm).card().handle() : nullptr; }

void* nk_snd_pcm_chip(nk_snd_pcm* pcm) { return pcm != nullptr ? PcmSubstream::from_handle(pcm).card().private_data() : nullptr; }

uint32_t nk_snd_pcm_stream(nk_snd_pcm* pcm) { return pcm != nullptr ? PcmSubstream::from_handle(pcm).direction() : 0; }

void nk_snd_pcm_period_elapsed(nk_snd_pcm* pcm, uint32_t position)
{
    if (pcm == nullptr)
        return report_driver_misuse(__func__, "pcm is NULL");
    PcmSubstream::from_handle(pcm).period_elapsed(position);
}

void nk_snd_pcm_xrun(nk_snd_pcm* pcm, uint32_t position)
{
    if (pcm == nullptr)
        return report_driver_misuse(__func__, "pcm is NULL");
    PcmSubstream::from_handle(pcm).xrun(position);
}

} // extern "C"

namespace nk {

// `used`: kept with its relocations even though only its size is read.
[[gnu::used]] static void const* const sound_symbols[] = {
    reinterpret_cast<void const*>(&nk_snd_card_priv),
    reinterpret_cast<void const*>(&nk_snd_card_register),
    reinterpret_cast<void const*>(&nk_snd_card_unregister),
    reinterpret_cast<void const*>(&nk_snd_pcm_card),
    reinterpret_cast<void const*>(&nk_snd_pcm_chip),
    reinterpret_cast<void const*>(&nk_snd_pcm_period_elapsed),
    reinterpret_cast<void const*>(&nk_snd_pcm_stream),
    reinterpret_cast<void const*>(&nk_snd_pcm_xrun),
};

size_t sound_api_symbol_count()
{
    size_t count = 0;
    for (auto const* symbol : sound_symbols)
        count += symbol != nullptr ? 1 : 0;
    return count;
}

} // namespace nk
