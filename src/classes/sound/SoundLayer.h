// SPDX-License-Identifier: MIT
#pragma once

// The sound class: the registry of sound cards and the events frontends
// follow, registered with the kernel as its "sound" class.
//
// As in Nooks, a failed driver's card is unregistered (its open streams
// fail from then on) and the restarted driver registers a new one, which
// starts from its defaults; a shadow driver (SoundTap) keeps it instead and
// hands it to the driver's next instance.
//
// Thread-safety: all methods may be called from any kernel thread.
// Listeners are called without the registry lock held, on the thread that
// registered or unregistered the card.

#include "base/Error.h"
#include "base/Mutex.h"
#include "classes/sound/SoundCard.h"
#include "kernel/class/DriverClass.h"

#include <atomic>
#include <memory>
#include <vector>

namespace nk {

class SoundLayerListener {
public:
    virtual ~SoundLayerListener() = default;
    virtual void card_added(std::shared_ptr<SoundCard> const& card) = 0;
    // The card is already dead (it refuses everything) when this is called.
    virtual void card_removed(std::shared_ptr<SoundCard> const& card) = 0;
};

// A shadow driver's hook into registration (see classes/block/BlockTap.h for
// the block class's): it may wrap the port, hand a restarted driver the
// card it kept, and keep a failed driver's card.
class SoundTap {
public:
    virtual ~SoundTap() = default;
    virtual Result<std::shared_ptr<SoundCard>> register_card(Module& owner, BusDevice* device, nk_snd_card_params const& params,
        std::unique_ptr<SoundDriverPort> port, void* private_data) = 0;
    // True if it keeps `card` (its driver `failed_owner` failed).
    virtual bool keep_card(SoundCard& card, Module& failed_owner) = 0;
};

class SoundLayer final : public DriverClass {
public:
    static constexpr char const* class_name = "sound";

    SoundLayer();
    ~SoundLayer() override;
    SoundLayer(SoundLayer const&) = delete;
    SoundLayer& operator=(SoundLayer const&) = delete;

    // DriverClass
    std::string_view name() const override { return class_name; }
    std::vector<std::string> devices_of(Module const& module) const override;
    void release_module(Module& module) override;
    std::vector<std::string> describe_held(Module const& module) const override;

    // Registers a card for `owner` on bus device `device` (named after it),
    // through the tap if one is installed. InvalidArgument names the bad
    // parameter; AlreadyExists if the bus device has a live card.
    Result<std::shared_ptr<SoundCard>> register_card(Module& owner, BusDevice* device, nk_snd_card_params const& params,
        std::unique_ptr<SoundDriverPort> port, void* private_data);
    // The same, never through the tap (the tap's own way to create one).
    Result<std::shared_ptr<SoundCard>> create_card(Module& owner, BusDevice* device, nk_snd_card_params const& params,
        std::unique_ptr<SoundDriverPort> port, void* private_data);
    // Installed once, before any driver registers (shadow mode); outlives the layer's use of it.
    void set_tap(SoundTap* tap) { m_tap.store(tap, std::memory_order_release); }
    // The driver unregisters: its open streams are stopped and closed in
    // the driver, then the card is killed and forgotten.
    Result<void> unregister_card(SoundCard& card);
    // A failed driver's card: killed and forgotten, its driver not called,
    // unless the tap keeps it for the driver's next instance.
    void release_card(SoundCard& card);
    // Killed and forgotten, never through the tap (a shadow giving up a card it kept).
    void drop_card(SoundCard& card);

    std::shared_ptr<SoundCard> find(std::string const& name) const;
    std::vector<std::shared_ptr<SoundCard>> cards() const;

    void add_listener(SoundLayerListener& listener);
    void remove_listener(SoundLayerListener& listener);

private:
    std::vector<SoundLayerListener*> listeners() const;
    // Forgets `card` (kept in the graveyard) and tells the listeners.
    void forget(SoundCard& card);

    mutable Mutex m_mutex;
    std::vector<std::shared_ptr<SoundCard>> m_cards NK_GUARDED_BY(m_mutex);
    // Dead cards are kept until shutdown: late calls may still name them,
    // and they must find a dead card, not freed memory.
    std::vector<std::shared_ptr<SoundCard>> m_graveyard NK_GUARDED_BY(m_mutex);
    std::vector<SoundLayerListener*> m_listeners NK_GUARDED_BY(m_mutex);
    uint64_t m_next_id NK_GUARDED_BY(m_mutex) { 1 };
    std::atomic<SoundTap*> m_tap { nullptr };
};

} // namespace nk
