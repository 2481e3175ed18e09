// SPDX-License-Identifier: MIT
#pragma once

// The shadow driver of the sound class: makes a sound driver's failure and
// recovery invisible to applications (shadow mode).
//
//   passive  every card's port is a ShadowSoundPort tap: calls go to the
//            driver; the class keeps each stream's configuration, positions
//            and unplayed data, and the card its mixer settings.
//   active   (from the moment the driver fails) the card is kept, not
//            unregistered, so the applications' open files stay; it is
//            suspended: writes and reads wait (O_NONBLOCK: no space, no
//            data), space and position queries answer "buffers full" with
//            the last position, configuration calls are recorded and
//            answered as the card will use them, poll is not ready, mixer
//            reads answer the last value and writes are recorded.
//   drain    before the recovery resets the device, the shadow lets the card
//            play what its driver had handed it (the limit the driver last
//            accepted, if it had started the card): the audio goes on while
//            the driver is down, and that data is counted as played, exactly
//            where the card stopped, so none of it is played twice.
//   restart  when the driver's next instance registers a card on the same
//            bus device, the shadow hands back the same card, replays the
//            mixer settings, then reopens each open stream in the new
//            instance and brings it back to where it was (configuration,
//            the ring with the unplayed data moved to where the reset card
//            starts, the limit, running again if it ran), and resumes the
//            card: the applications' calls go on.
//
// Thread-safety: register_card/keep_card come from kernel threads doing
// (un)registration; the driver_* calls from the recovering driver's
// recovery thread.

#include "base/Mutex.h"
#include "classes/sound/SoundLayer.h"
#include "nooks/recovery/RecoveryObserver.h"
#include "shadow/ClassShadow.h"
#include "shadow/sound/ShadowSoundPort.h"

#include <chrono>
#include <map>

namespace nk {

class SoundShadow final : public ClassShadow, public SoundTap, public RecoveryObserver {
public:
    struct Options {
        // The longest the drain before a device reset may take (a ring of a
        // slow stream can hold seconds; the application waits meanwhile).
        std::chrono::milliseconds max_drain { 2000 };
    };

    SoundShadow(SoundLayer& sound, Options options);

    // SoundTap
    Result<std::shared_ptr<SoundCard>> register_card(Module& owner, BusDevice* device, nk_snd_card_params const& params,
        std::unique_ptr<SoundDriverPort> port, void* private_data) override;
    bool keep_card(SoundCard& card, Module& failed_owner) override;

    // RecoveryObserver
    void driver_stopping(IsolatedModule& failed) override;
    void driver_restarted(IsolatedModule& fresh) override;
    void driver_given_up(IsolatedModule& failed) override;

    struct CardStatus {
        std::string name;
        bool active { false };
        uint32_t failures { 0 };         // driver failures the card lived through
        uint64_t answered { 0 };         // calls the tap answered for a failed driver
        uint64_t longest_stall_ns { 0 }; // from the failure to the resumed card
        uint64_t last_stall_ns { 0 };
        uint64_t last_drain_ns { 0 };    // the last drain before a device reset
        uint32_t streams_restored { 0 }; // streams brought back into a new instance, in all
    };
    std::vector<CardStatus> cards() const;
    nlohmann::json status() const override;

private:
    struct Shadowed {
        std::weak_ptr<SoundCard> card;
        ShadowSoundPort* port { nullptr }; // owned by the card
        Module const* failed_owner { nullptr }; // while active; compared, never dereferenced
        std::string failed_driver;              // Module::driver_identity() of the failed instance
        std::string failed_name;
        uint64_t active_since { 0 };
        CardStatus stats;
    };
    // Makes the card active (suspended, its tap answering) for `failed`'s
    // failure; false if it was already, for this failure.
    bool suspend(Shadowed& shadowed, SoundCard& card, Module& failed) NK_REQUIRES(m_mutex);

    SoundLayer& m_sound;
    Options m_options;
    mutable Mutex m_mutex;
    std::map<std::string, Shadowed> m_cards NK_GUARDED_BY(m_mutex); // by card name
};

} // namespace nk
