// SPDX-License-Identifier: MIT
#pragma once

// A registered sound card (nk_snd_card): its name, its streams
// (PcmSubstream), its mixer, and the driver's entry points (a port).
//
// The mixer is the driver's: reads and writes go to it (the card keeps the
// last value each control was set to, for status and for a shadow).
//
// Lifetime: created by nk_snd_card_register, killed by
// nk_snd_card_unregister or when its driver is torn down. A killed card
// refuses everything (its streams are killed too); the object lives as long
// as anyone holds a shared_ptr (the layer keeps it until it is destroyed),
// so a stale handle is an error, never a dangling pointer.
//
// Thread-safety: every method may be called from any kernel thread.

#include "base/Error.h"
#include "base/Mutex.h"
#include "classes/sound/PcmSubstream.h"
#include "classes/sound/SoundDriverPort.h"

#include <nooks/sound.h>

#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <string>

namespace nk {

class BusDevice;
class Module;

// What a driver declared, checked; the error names the bad field.
struct SoundCardConfig {
    std::string name;
    uint32_t streams { 0 };
    uint32_t mixer_controls { 0 };
    std::array<nk_snd_pcm_hw, NK_SND_STREAMS> hw {};

    static Result<SoundCardConfig> from_params(nk_snd_card_params const& params);
    bool has_stream(uint32_t stream) const { return stream < NK_SND_STREAMS && (streams & (1u << stream)) != 0; }
    bool has_control(uint32_t control) const { return control < NK_SND_MIXER_CONTROLS && (mixer_controls & (1u << control)) != 0; }
};

char const* mixer_control_name(uint32_t control);

class SoundCard {
public:
    SoundCard(uint64_t id, std::string name, Module& owner, BusDevice* device, SoundCardConfig config,
        std::unique_ptr<SoundDriverPort> port, void* private_data);
    ~SoundCard();
    SoundCard(SoundCard const&) = delete;
    SoundCard& operator=(SoundCard const&) = delete;

    uint64_t id() const { return m_id; }
    // The card's name: its bus device's ("sound0").
    std::string const& name() const { return m_name; }
    SoundCardConfig const& config() const { return m_config; }
    // The driver instance that has the card (a shadow hands a kept card to the failed driver's next instance).
    Module& owner() const { return *m_owner.load(std::memory_order_acquire); }
    void set_owner(Module& owner) { m_owner.store(&owner, std::memory_order_release); }
    BusDevice* bus_device() const { return m_device; }
    void* private_data() const { return m_private_data; }
    SoundDriverPort& port() const { return *m_port; }
    nk_snd_card* handle() { return reinterpret_cast<nk_snd_card*>(this); }
    static SoundCard& from_handle(nk_snd_card* card) { return *reinterpret_cast<SoundCard*>(card); }
    void set_object_handle(uint64_t handle) { m_object_handle.store(handle, std::memory_order_release); }
    uint64_t object_handle() const { return m_object_handle.load(std::memory_order_acquire); }

    // The card's stream `direction`, or null if it has none.
    PcmSubstream* pcm(uint32_t direction) const;

    // The mixer (process context). Unavailable on a dead card; NotFound for
    // a control the card lacks; the driver's refusal as InvalidArgument.
    Result<uint32_t> mixer_get(uint32_t control);
    Result<void> mixer_put(uint32_t control, uint32_t value);
    // The last value each control was set to through mixer_put (none yet: nullopt).
    std::optional<uint32_t> mixer_setting(uint32_t control) const;
    // Puts every control's last setting into the driver again (a shadow, for
    // a new instance of the card's driver), one at a time with the
    // applications' mixer calls. The first error or refusal ends it.
    Result<void> replay_mixer();

    bool alive() const { return m_alive.load(std::memory_order_acquire); }
    // Stops and closes every open stream in the driver (unregister), then kills the card.
    void shut_down();
    // Kills the card without calling its driver (the driver failed).
    void kill();

private:
    uint64_t const m_id;
    std::string const m_name;
    std::atomic<Module*> m_owner;
    BusDevice* const m_device;
    SoundCardConfig const m_config;
    std::unique_ptr<SoundDriverPort> const m_port;
    void* const m_private_data;
    std::atomic<uint64_t> m_object_handle { 0 };
    std::atomic<bool> m_alive { true };
    std::array<std::unique_ptr<PcmSubstream>, NK_SND_STREAMS> m_pcms;

    Mutex m_mixer_op_mutex; // one mixer call at a time
    mutable Mutex m_mutex;
    std::array<std::optional<uint32_t>, NK_SND_MIXER_CONTROLS> m_mixer NK_GUARDED_BY(m_mutex);
};

} // namespace nk
