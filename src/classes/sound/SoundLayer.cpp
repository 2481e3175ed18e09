// SPDX-License-Identifier: MIT
#include "classes/sound/SoundLayer.h"

#include "base/Log.h"
#include "classes/sound/api/NativeApi.h"
#include "kernel/bus/BusDevice.h"
#include "kernel/module/Module.h"

#include <algorithm>

namespace nk {

namespace {

auto logger() { return log::get("sound"); }

} // namespace

SoundLayer::SoundLayer()
{
    // Links the native API into the program (see api/NativeApi.h).
    if (sound_api_symbol_count() == 0)
        logger()->error("the sound class's kernel API is empty");
}

SoundLayer::~SoundLayer() = default;

Result<std::shared_ptr<SoundCard>> SoundLayer::register_card(Module& owner, BusDevice* device, nk_snd_card_params const& params,
    std::unique_ptr<SoundDriverPort> port, void* private_data)
{
    if (auto* tap = m_tap.load(std::memory_order_acquire))
        return tap->register_card(owner, device, params, std::move(port), private_data);
    return create_card(owner, device, params, std::move(port), private_data);
}

Result<std::shared_ptr<SoundCard>> SoundLayer::create_card(Module& owner, BusDevice* device, nk_snd_card_params const& params,
    std::unique_ptr<SoundDriverPort> port, void* private_data)
{
    auto config = SoundCardConfig::from_params(params);
    if (!config)
        return make_error(ErrorCode::InvalidArgument, "nk_snd_card_register: {}", config.error().message());
    std::shared_ptr<SoundCard> card;
    {
        MutexLocker lock(m_mutex);
        for (auto const& existing : m_cards) {
            if (device != nullptr && existing->bus_device() == device)
                return make_error(ErrorCode::AlreadyExists, "nk_snd_card_register: {} has a sound card already", device->name());
        }
        auto id = m_next_id++;
        auto name = device != nullptr ? device->name() : fmt::format("sound{}", id - 1);
        card = std::make_shared<SoundCard>(id, std::move(name), owner, device, std::move(*config), std::move(port), private_data);
        m_cards.push_back(card);
    }
    logger()->info("{}: card \"{}\" registered by {} ({}{}{})", card->name(), card->config().name, owner.name(),
        card->config().has_stream(NK_SND_PLAYBACK) ? "playback" : "", card->config().streams == 3 ? " and " : "",
        card->config().has_stream(NK_SND_CAPTURE) ? "capture" : "");
    for (auto* listener : listeners())
        listener->card_added(card);
    return card;
}

Result<void> SoundLayer::unregister_card(SoundCard& card)
{
    card.shut_down();
    forget(card);
    logger()->info("{}: card unregistered by {}", card.name(), card.owner().name());
    return {};
}

void SoundLayer::release_card(SoundCard& card)
{
    if (!card.alive())
        return;
    if (auto* tap = m_tap.load(std::memory_order_acquire); tap != nullptr && tap->keep_card(card, card.owner()))
        return;
    drop_card(card);
}

void SoundLayer::drop_card(SoundCard& card)
{
    if (!card.alive())
        return;
    // Its driver failed: not called again; the applications' files fail from now on.
    card.kill();
    forget(card);
    logger()->warn("{}: card released with its failed driver {}; open streams fail", card.name(), card.owner().name());
}

void SoundLayer::forget(SoundCard& card)
{
    std::shared_ptr<SoundCard> gone;
    {
        MutexLocker lock(m_mutex);
        auto it = std::find_if(m_cards.begin(), m_cards.end(), [&](auto const& c) { return c.get() == &card; });
        if (it == m_cards.end())
            return;
        gone = *it;
        m_cards.erase(it);
        m_graveyard.push_back(gone);
    }
    for (auto* listener : listeners())
        listener->card_removed(gone);
}

void SoundLayer::release_module(Module& module)
{
    std::vector<std::shared_ptr<SoundCard>> owned;
    {
        MutexLocker lock(m_mutex);
        for (auto const& card : m_cards) {
            if (&card->owner() == &module)
                owned.push_back(card);
        }
    }
    for (auto const& card : owned)
        release_card(*card);
}

std::vector<std::string> SoundLayer::devices_of(Module const& module) const
{
    MutexLocker lock(m_mutex);
    std::vector<std::string> names;
    for (auto const& card : m_cards) {
        if (&card->owner() == &module)
            names.push_back(card->name());
    }
    return names;
}

std::vector<std::string> SoundLayer::describe_held(Module const& module) const
{
    std::vector<std::string> lines;
    for (auto const& card : cards()) {
        if (&card->owner() != &module)
            continue;
        for (uint32_t stream = 0; stream < NK_SND_STREAMS; ++stream) {
            auto* pcm = card->pcm(stream);
            if (pcm == nullptr)
                continue;
            auto stats = pcm->stats();
            if (stats.state == PcmState::Closed)
                continue;
            lines.push_back(fmt::format("{} {} open ({}, {} Hz, {} channels, {} x {} bytes)", card->name(),
                stream == NK_SND_PLAYBACK ? "playback" : "capture", pcm_state_name(stats.state), stats.config.rate, stats.config.channels,
                stats.config.fragments, stats.config.fragment_bytes));
        }
    }
    return lines;
}

std::shared_ptr<SoundCard> SoundLayer::find(std::string const& name) const
{
    MutexLocker lock(m_mutex);
    for (auto const& card : m_cards) {
        if (card->name() == name)
            return card;
    }
    return nullptr;
}

std::vector<std::shared_ptr<SoundCard>> SoundLayer::cards() const
{
    MutexLocker lock(m_mutex);
    return m_cards;
}

void SoundLayer::add_listener(SoundLayerListener& listener)
{
    MutexLocker lock(m_mutex);
    m_listeners.push_back(&listener);
}

void SoundLayer::remove_listener(SoundLayerListener& listener)
{
    MutexLocker lock(m_mutex);
    std::erase(m_listeners, &listener);
}

std::vector<SoundLayerListener*> SoundLayer::listeners() const
{
    MutexLocker lock(m_mutex);
    return m_listeners;
}

} // namespace nk
