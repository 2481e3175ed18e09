// SPDX-License-Identifier: MIT
#include "shadow/sound/ShadowSoundPort.h"

#include "base/Log.h"
#include "classes/sound/PcmSubstream.h"
#include "classes/sound/SoundCard.h"

namespace nk {

namespace {

auto logger() { return log::get("shadow"); }

} // namespace

std::shared_ptr<SoundDriverPort> ShadowSoundPort::usable_driver() const
{
    if (m_active.load(std::memory_order_acquire))
        return nullptr;
    return m_driver.load(std::memory_order_acquire);
}

void ShadowSoundPort::failed_under(char const* entry, Error const& error)
{
    if (!m_active.exchange(true, std::memory_order_acq_rel))
        logger()->info("{}: the driver failed in {} ({}); the shadow answers for it", m_owner.load()->name(), entry, error.message());
}

template<typename T, typename Call>
Result<T> ShadowSoundPort::forward(char const* entry, T echo, Call call)
{
    if (auto driver = usable_driver()) {
        auto answer = call(*driver);
        if (answer)
            return answer;
        failed_under(entry, answer.error());
    }
    m_answered.fetch_add(1, std::memory_order_relaxed);
    return echo;
}

void ShadowSoundPort::attach(std::unique_ptr<SoundDriverPort> driver, Module& owner)
{
    m_driver.store(std::shared_ptr<SoundDriverPort>(std::move(driver)), std::memory_order_release);
    m_owner.store(&owner, std::memory_order_release);
    // The new instance starts from a reset card: nothing accepted yet.
    for (auto& running : m_running)
        running.store(false, std::memory_order_relaxed);
    for (auto& limit : m_limit)
        limit.store(-1, std::memory_order_relaxed);
    m_active.store(false, std::memory_order_release);
}

ShadowSoundPort::DriverView ShadowSoundPort::driver_view(uint32_t direction) const
{
    if (direction >= NK_SND_STREAMS)
        return {};
    auto limit = m_limit[direction].load(std::memory_order_acquire);
    return { m_running[direction].load(std::memory_order_acquire), limit < 0 ? std::nullopt : std::optional<uint32_t>(static_cast<uint32_t>(limit)) };
}

Result<int> ShadowSoundPort::open(PcmSubstream& pcm)
{
    return forward<int>("open", 0, [&](SoundDriverPort& driver) { return driver.open(pcm); });
}

Result<int> ShadowSoundPort::close(PcmSubstream& pcm)
{
    auto answer = forward<int>("close", 0, [&](SoundDriverPort& driver) { return driver.close(pcm); });
    m_running[pcm.direction()].store(false, std::memory_order_release);
    m_limit[pcm.direction()].store(-1, std::memory_order_release);
    return answer;
}

Result<int> ShadowSoundPort::hw_params(PcmSubstream& pcm, nk_snd_pcm_params const& params)
{
    return forward<int>("hw_params", 0, [&](SoundDriverPort& driver) { return driver.hw_params(pcm, params); });
}

Result<int> ShadowSoundPort::hw_free(PcmSubstream& pcm)
{
    return forward<int>("hw_free", 0, [&](SoundDriverPort& driver) { return driver.hw_free(pcm); });
}

Result<int> ShadowSoundPort::prepare(PcmSubstream& pcm)
{
    auto direction = pcm.direction();
    return forward<int>("prepare", 0, [&](SoundDriverPort& driver) -> Result<int> {
        auto answer = TRY(driver.prepare(pcm));
        if (answer == 0) {
            // Programmed afresh: stopped, position 0, limit 0.
            m_running[direction].store(false, std::memory_order_release);
            m_limit[direction].store(0, std::memory_order_release);
        }
        return answer;
    });
}

Result<int> ShadowSoundPort::trigger(PcmSubstream& pcm, int command)
{
    auto direction = pcm.direction();
    return forward<int>("trigger", 0, [&](SoundDriverPort& driver) -> Result<int> {
        auto answer = TRY(driver.trigger(pcm, command));
        if (answer == 0)
            m_running[direction].store(command == NK_SND_TRIGGER_START, std::memory_order_release);
        return answer;
    });
}

Result<uint32_t> ShadowSoundPort::pointer(PcmSubstream& pcm)
{
    // Answered for the driver: where the class last knew the card to be (no progress).
    return forward<uint32_t>("pointer", pcm.hw_offset(), [&](SoundDriverPort& driver) { return driver.pointer(pcm); });
}

Result<int> ShadowSoundPort::ack(PcmSubstream& pcm, uint32_t limit)
{
    auto direction = pcm.direction();
    return forward<int>("ack", 0, [&](SoundDriverPort& driver) -> Result<int> {
        auto answer = TRY(driver.ack(pcm, limit));
        m_limit[direction].store(limit, std::memory_order_release);
        return answer;
    });
}

Result<int> ShadowSoundPort::mixer_get(SoundCard& card, uint32_t control)
{
    auto known = control < NK_SND_MIXER_CONTROLS ? m_mixer[control].load(std::memory_order_acquire) : -1;
    if (known < 0)
        known = card.mixer_setting(control).value_or(NK_SND_MIXER_VALUE(NK_SND_MIXER_MAX, NK_SND_MIXER_MAX));
    return forward<int>("mixer_get", static_cast<int>(known), [&](SoundDriverPort& driver) -> Result<int> {
        auto answer = TRY(driver.mixer_get(card, control));
        if (answer >= 0 && control < NK_SND_MIXER_CONTROLS)
            m_mixer[control].store(answer, std::memory_order_release);
        return answer;
    });
}

Result<int> ShadowSoundPort::mixer_put(SoundCard& card, uint32_t control, uint32_t value)
{
    auto answer = forward<int>("mixer_put", 0, [&](SoundDriverPort& driver) { return driver.mixer_put(card, control, value); });
    // Taken (or to be replayed): what a read answers from now on.
    if (answer && *answer == 0 && control < NK_SND_MIXER_CONTROLS)
        m_mixer[control].store(value, std::memory_order_release);
    return answer;
}

} // namespace nk
