// SPDX-License-Identifier: MIT
#pragma once

// The sound shadow driver's tap on one card: the port the sound class talks
// to, wrapped around the real driver's port.
//
// Passive (the driver is healthy): every call goes to the driver, and the
// tap keeps what the driver accepted that the class does not: per stream,
// the last limit it took (ack) and whether it started the card (trigger),
// and per mixer control the last value it reported or took. The rest of
// the configuration needs no log of the tap's own: each PcmSubstream keeps
// its stream's (fragments, format, channels, rate, trigger, positions and
// the unplayed data in its ring) and the card its mixer settings.
//
// A call the driver fails on (an error Result: it could not run) makes the
// tap active at once, so no later call reaches the failed driver.
// Active: the tap answers for the driver: every entry succeeds (its effect
// is the class's record, replayed into the next instance), pointer() says
// where the class last knew the card to be, mixer_get() the last value
// known. A failed call is taken as not done: its limit or trigger is not
// what the driver accepted (faults stop a driver at the call, before its
// body touched the card).
//
// Thread-safety: called by the sound class from any kernel thread (process
// and atomic context); the shadow (SoundShadow) attaches and switches modes
// from the recovery thread.

#include "classes/sound/SoundDriverPort.h"
#include "kernel/module/Module.h"

#include <array>
#include <atomic>
#include <memory>
#include <optional>

namespace nk {

class ShadowSoundPort final : public SoundDriverPort {
public:
    ShadowSoundPort(std::unique_ptr<SoundDriverPort> driver, Module& owner)
        : m_driver(std::shared_ptr<SoundDriverPort>(std::move(driver)))
        , m_owner(&owner)
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

    // What the driver last accepted for stream `direction`: whether the card
    // runs, and the limit it was given (none since the last prepare).
    struct DriverView {
        bool running { false };
        std::optional<uint32_t> limit;
    };
    DriverView driver_view(uint32_t direction) const;

    // Mode changes (the shadow, on the recovery thread).
    void go_active() { m_active.store(true, std::memory_order_release); }
    // The driver's next instance registered the card: its port replaces the
    // failed one's, and calls go to it again (the card stays suspended, so
    // only the shadow's replay makes them until it resumes the card).
    void attach(std::unique_ptr<SoundDriverPort> driver, Module& owner);
    bool active() const { return m_active.load(std::memory_order_acquire); }
    uint64_t answered() const { return m_answered.load(std::memory_order_relaxed); }

private:
    // The driver's port, or null while it must not be called (active).
    std::shared_ptr<SoundDriverPort> usable_driver() const;
    // A failed call: active from now on.
    void failed_under(char const* entry, Error const& error);
    // Runs `call` on the driver; answers `echo` when active or when it failed.
    template<typename T, typename Call>
    Result<T> forward(char const* entry, T echo, Call call);

    std::atomic<std::shared_ptr<SoundDriverPort>> m_driver;
    std::atomic<Module*> m_owner;
    std::atomic<bool> m_active { false };
    std::atomic<uint64_t> m_answered { 0 }; // calls the tap answered for the driver
    std::array<std::atomic<bool>, NK_SND_STREAMS> m_running {};
    std::array<std::atomic<int64_t>, NK_SND_STREAMS> m_limit { -1, -1 }; // -1: none
    std::array<std::atomic<int64_t>, NK_SND_MIXER_CONTROLS> m_mixer { -1, -1, -1 };
};

} // namespace nk
