// SPDX-License-Identifier: MIT
#include "shadow/sound/SoundShadow.h"

#include "base/Clock.h"
#include "base/Log.h"
#include "base/Units.h"
#include "kernel/bus/BusDevice.h"
#include "kernel/module/Module.h"
#include "nooks/module/IsolatedModule.h"

#include <thread>

namespace nk {

static auto logger() { return log::get("shadow"); }

SoundShadow::SoundShadow(SoundLayer& sound, Options options)
    : m_sound(sound)
    , m_options(options)
{
}

Result<std::shared_ptr<SoundCard>> SoundShadow::register_card(Module& owner, BusDevice* device, nk_snd_card_params const& params,
    std::unique_ptr<SoundDriverPort> port, void* private_data)
{
    MutexLocker lock(m_mutex);
    if (device != nullptr) {
        auto it = m_cards.find(device->name());
        if (it != m_cards.end() && it->second.failed_owner != nullptr) {
            auto& shadowed = it->second;
            auto kept = shadowed.card.lock();
            if (!kept || !kept->alive()) {
                m_cards.erase(it);
            } else {
                // Only the failed driver's next instance gets the card back.
                if (owner.driver_identity() != shadowed.failed_driver || kept->bus_device() != device)
                    return make_error(ErrorCode::AlreadyExists, "nk_snd_card_register: {} is kept for {}'s next instance; {} may not take it",
                        kept->name(), shadowed.failed_name, owner.name());
                // The card's streams and their applications are the old ones: the
                // new instance must declare a card they can go on with.
                auto config = SoundCardConfig::from_params(params);
                if (!config)
                    return make_error(ErrorCode::InvalidArgument, "nk_snd_card_register: {}", config.error().message());
                if (config->streams != kept->config().streams || config->mixer_controls != kept->config().mixer_controls)
                    return make_error(ErrorCode::InvalidArgument,
                        "nk_snd_card_register: {} comes back with other streams or mixer controls; the shadow cannot hand it the old card",
                        kept->name());
                if (private_data != kept->private_data())
                    return make_error(ErrorCode::InvalidArgument,
                        "nk_snd_card_register: {} comes back with other private data; the shadow cannot hand it the old card", kept->name());
                shadowed.port->attach(std::move(port), owner);
                kept->set_owner(owner);
                logger()->info("{}: reattached to {}'s new instance", kept->name(), owner.name());
                return kept;
            }
        }
    }
    lock.unlock();
    auto tap = std::make_unique<ShadowSoundPort>(std::move(port), owner);
    auto* tap_raw = tap.get();
    auto created = TRY(m_sound.create_card(owner, device, params, std::move(tap), private_data));
    lock.lock();
    auto& shadowed = m_cards[created->name()];
    shadowed = Shadowed {};
    shadowed.card = created;
    shadowed.port = tap_raw;
    shadowed.stats.name = created->name();
    return created;
}

bool SoundShadow::suspend(Shadowed& shadowed, SoundCard& card, Module& failed)
{
    shadowed.port->go_active();
    if (shadowed.failed_owner == &failed)
        return false; // this failure's suspension is done already
    bool was_active = shadowed.failed_owner != nullptr;
    shadowed.failed_owner = &failed;
    shadowed.failed_driver = failed.driver_identity();
    shadowed.failed_name = failed.name();
    shadowed.stats.failures++;
    if (!was_active)
        shadowed.active_since = monotonic_ns();
    for (uint32_t direction = 0; direction < NK_SND_STREAMS; ++direction) {
        if (auto* pcm = card.pcm(direction)) {
            auto view = shadowed.port->driver_view(direction);
            pcm->suspend(view.running, view.limit);
        }
    }
    return true;
}

bool SoundShadow::keep_card(SoundCard& card, Module& failed_owner)
{
    MutexLocker lock(m_mutex);
    auto it = m_cards.find(card.name());
    if (it == m_cards.end() || it->second.card.lock().get() != &card)
        return false; // not ours
    auto& shadowed = it->second;
    bool kept_for_this_driver = shadowed.failed_owner != nullptr && shadowed.failed_driver == failed_owner.driver_identity();
    if (failed_owner.state() != ModuleState::Failed && !kept_for_this_driver)
        return false; // a driver unloading normally: really unregister
    if (suspend(shadowed, card, failed_owner))
        logger()->info("{}: driver {} failed; the shadow keeps the card for its next instance", card.name(), failed_owner.name());
    return true;
}

void SoundShadow::driver_stopping(IsolatedModule& failed)
{
    // The card plays on while its driver is down: let it play what it was
    // handed before the device is reset, so that data is played once, all of it.
    uint64_t until = 0;
    std::vector<std::string> names;
    {
        MutexLocker lock(m_mutex);
        for (auto& [name, shadowed] : m_cards) {
            auto card = shadowed.card.lock();
            if (!card || !card->alive() || &card->owner() != &failed)
                continue;
            if (suspend(shadowed, *card, failed))
                logger()->info("{}: driver {} failed; the shadow keeps the card for its next instance", name, failed.name());
            for (uint32_t direction = 0; direction < NK_SND_STREAMS; ++direction) {
                if (auto* pcm = card->pcm(direction))
                    until = std::max(until, pcm->drained_at_ns());
            }
            names.push_back(name);
        }
    }
    auto start = monotonic_ns();
    uint64_t cap = start + static_cast<uint64_t>(m_options.max_drain.count()) * 1'000'000ull;
    until = std::min(until, cap);
    if (until > start)
        std::this_thread::sleep_for(std::chrono::nanoseconds(until - start));
    auto drained = monotonic_ns() - start;
    MutexLocker lock(m_mutex);
    for (auto const& name : names) {
        if (auto it = m_cards.find(name); it != m_cards.end())
            it->second.stats.last_drain_ns = drained;
    }
    if (!names.empty() && drained > 0)
        logger()->info("{}: let the card play what {} had handed it ({})", names.front(), failed.name(), format_duration_ns(drained));
}

void SoundShadow::driver_restarted(IsolatedModule& fresh)
{
    std::vector<std::pair<std::shared_ptr<SoundCard>, std::string>> ready;
    {
        MutexLocker lock(m_mutex);
        for (auto& [name, shadowed] : m_cards) {
            auto card = shadowed.card.lock();
            if (card && shadowed.failed_owner != nullptr && &card->owner() == &fresh)
                ready.emplace_back(std::move(card), name);
        }
    }
    for (auto& [card, name] : ready) {
        // The kernel's part of the new instance's initialization: the mixer,
        // then every open stream, as an application had set it up.
        auto mixer = card->replay_mixer();
        if (!mixer && !fresh.failure())
            logger()->warn("{}: {}; the card goes on without it", card->name(), mixer.error());
        uint32_t restored = 0;
        bool failed_again = fresh.failure().has_value();
        for (uint32_t direction = 0; direction < NK_SND_STREAMS && !failed_again; ++direction) {
            auto* pcm = card->pcm(direction);
            if (pcm == nullptr)
                continue;
            auto resumed = pcm->resume_in_driver();
            failed_again = fresh.failure().has_value();
            if (failed_again)
                break;
            if (!resumed) {
                // A healthy instance that refused the stream's setup: the
                // application's next call reports it, as without a failure.
                logger()->warn("{}: {}", card->name(), resumed.error());
                pcm->resume_failed(resumed.error());
                continue;
            }
            restored += *resumed ? 1 : 0;
        }
        MutexLocker lock(m_mutex);
        auto it = m_cards.find(name);
        if (it == m_cards.end())
            continue;
        auto& shadowed = it->second;
        if (failed_again) {
            // The new instance failed already: the card stays active for the one after it.
            shadowed.port->go_active();
            logger()->warn("{}: {} failed while it was being given the card back", card->name(), fresh.name());
            continue;
        }
        auto stall = monotonic_ns() - shadowed.active_since;
        shadowed.failed_owner = nullptr;
        shadowed.stats.last_stall_ns = stall;
        shadowed.stats.longest_stall_ns = std::max(shadowed.stats.longest_stall_ns, stall);
        shadowed.stats.streams_restored += restored;
        logger()->info("{}: back with {}: mixer and {} open stream(s) restored; applications waited {}", card->name(), fresh.name(), restored,
            format_duration_ns(stall));
    }
}

void SoundShadow::driver_given_up(IsolatedModule& failed)
{
    std::vector<std::shared_ptr<SoundCard>> doomed;
    {
        MutexLocker lock(m_mutex);
        for (auto it = m_cards.begin(); it != m_cards.end();) {
            auto card = it->second.card.lock();
            if (card && it->second.failed_owner != nullptr && it->second.failed_driver == failed.driver_identity()) {
                doomed.push_back(std::move(card));
                it = m_cards.erase(it);
            } else {
                ++it;
            }
        }
    }
    for (auto const& card : doomed) {
        logger()->warn("{}: its driver is not coming back; the card goes (open streams fail)", card->name());
        m_sound.drop_card(*card);
    }
}

std::vector<SoundShadow::CardStatus> SoundShadow::cards() const
{
    MutexLocker lock(m_mutex);
    std::vector<CardStatus> result;
    for (auto const& [name, shadowed] : m_cards) {
        auto status = shadowed.stats;
        status.active = shadowed.failed_owner != nullptr;
        // The tap lives as long as its card.
        if (auto card = shadowed.card.lock())
            status.answered = shadowed.port->answered();
        result.push_back(status);
    }
    return result;
}

nlohmann::json SoundShadow::status() const
{
    nlohmann::json list = nlohmann::json::array();
    for (auto const& card : cards()) {
        list.push_back({ { "name", card.name }, { "active", card.active }, { "failures", card.failures }, { "answered", card.answered },
            { "longest_stall_us", card.longest_stall_ns / 1000 }, { "last_stall_us", card.last_stall_ns / 1000 },
            { "last_drain_us", card.last_drain_ns / 1000 }, { "streams_restored", card.streams_restored } });
    }
    return { { "sound_cards", list } };
}

} // namespace nk
