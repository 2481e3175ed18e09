// SPDX-License-Identifier: MIT
#include "classes/sound/SoundCard.h"

#include "base/Log.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace nk {

namespace {

constexpr uint32_t all_streams = (1u << NK_SND_PLAYBACK) | (1u << NK_SND_CAPTURE);
constexpr uint32_t all_controls = (1u << NK_SND_MIXER_CONTROLS) - 1;
constexpr uint32_t all_formats = NK_SND_FMT_U8 | NK_SND_FMT_S16_LE;
constexpr uint32_t max_buffer_bytes = 16u << 20;

Error invalid(std::string message) { return Error(ErrorCode::InvalidArgument, std::move(message)); }

Result<void> check_hw(nk_snd_pcm_hw const& hw, char const* stream)
{
    if (hw.formats == 0 || (hw.formats & ~all_formats) != 0)
        return std::unexpected(invalid(fmt::format("hw[{}].formats {:#x}: not a non-empty set of NK_SND_FMT_*", stream, hw.formats)));
    if (hw.channels_min < 1 || hw.channels_min > hw.channels_max || hw.channels_max > 2)
        return std::unexpected(invalid(fmt::format("hw[{}].channels {}..{}: not within 1..2", stream, hw.channels_min, hw.channels_max)));
    if (hw.rate_min < 1000 || hw.rate_min > hw.rate_max || hw.rate_max > 192000)
        return std::unexpected(invalid(fmt::format("hw[{}].rate {}..{}: not within 1000..192000 Hz", stream, hw.rate_min, hw.rate_max)));
    if (hw.period_bytes_min < 16 || hw.period_bytes_min > hw.period_bytes_max)
        return std::unexpected(invalid(fmt::format("hw[{}].period_bytes {}..{}: not a range from 16 up", stream, hw.period_bytes_min, hw.period_bytes_max)));
    if (hw.buffer_bytes_max < 3 * hw.period_bytes_min || hw.buffer_bytes_max > max_buffer_bytes)
        return std::unexpected(invalid(fmt::format("hw[{}].buffer_bytes_max {}: not within 3 periods ({}) .. {} bytes", stream, hw.buffer_bytes_max,
            3 * hw.period_bytes_min, max_buffer_bytes)));
    return {};
}

} // namespace

Result<SoundCardConfig> SoundCardConfig::from_params(nk_snd_card_params const& params)
{
    SoundCardConfig config;
    auto length = strnlen(params.name, sizeof(params.name));
    if (length == sizeof(params.name))
        return std::unexpected(invalid("name: not NUL-terminated"));
    if (length == 0)
        return std::unexpected(invalid("name: empty"));
    config.name.assign(params.name, length);
    for (auto& c : config.name) {
        if (!std::isprint(static_cast<unsigned char>(c)))
            c = '?'; // shown to people
    }
    if (params.streams == 0 || (params.streams & ~all_streams) != 0)
        return std::unexpected(invalid(fmt::format("streams {:#x}: not a non-empty set of 1 << NK_SND_PLAYBACK, 1 << NK_SND_CAPTURE", params.streams)));
    if ((params.mixer_controls & ~all_controls) != 0)
        return std::unexpected(invalid(fmt::format("mixer_controls {:#x}: not a set of 1 << NK_SND_MIXER_*", params.mixer_controls)));
    config.streams = params.streams;
    config.mixer_controls = params.mixer_controls;
    for (uint32_t stream = 0; stream < NK_SND_STREAMS; ++stream) {
        if (!config.has_stream(stream))
            continue;
        TRY(check_hw(params.hw[stream], stream == NK_SND_PLAYBACK ? "playback" : "capture"));
        config.hw[stream] = params.hw[stream];
    }
    return config;
}

char const* mixer_control_name(uint32_t control)
{
    switch (control) {
    case NK_SND_MIXER_MASTER: return "master";
    case NK_SND_MIXER_PCM: return "pcm";
    case NK_SND_MIXER_CAPTURE: return "capture";
    default: return "?";
    }
}

SoundCard::SoundCard(uint64_t id, std::string name, Module& owner, BusDevice* device, SoundCardConfig config,
    std::unique_ptr<SoundDriverPort> port, void* private_data)
    : m_id(id)
    , m_name(std::move(name))
    , m_owner(&owner)
    , m_device(device)
    , m_config(std::move(config))
    , m_port(std::move(port))
    , m_private_data(private_data)
{
    for (uint32_t stream = 0; stream < NK_SND_STREAMS; ++stream) {
        if (m_config.has_stream(stream))
            m_pcms[stream] = std::make_unique<PcmSubstream>(*this, stream, m_config.hw[stream]);
    }
}

SoundCard::~SoundCard() = default;

PcmSubstream* SoundCard::pcm(uint32_t direction) const { return direction < NK_SND_STREAMS ? m_pcms[direction].get() : nullptr; }

Result<uint32_t> SoundCard::mixer_get(uint32_t control)
{
    if (!alive())
        return std::unexpected(Error(ErrorCode::Unavailable, fmt::format("{}: the card is gone", m_name), EIO));
    if (!m_config.has_control(control))
        return std::unexpected(Error(ErrorCode::NotFound, fmt::format("{}: no mixer control {}", m_name, control), EINVAL));
    MutexLocker op(m_mixer_op_mutex);
    auto answer = TRY(m_port->mixer_get(*this, control));
    if (answer < 0)
        return std::unexpected(Error::from_errno(-answer, fmt::format("{}: mixer_get {}", m_name, mixer_control_name(control))));
    auto value = static_cast<uint32_t>(answer);
    // A native driver's answer, brought into range (an isolated one is checked by its port).
    return NK_SND_MIXER_VALUE(std::min(NK_SND_MIXER_LEFT(value), NK_SND_MIXER_MAX), std::min(NK_SND_MIXER_RIGHT(value), NK_SND_MIXER_MAX));
}

Result<void> SoundCard::mixer_put(uint32_t control, uint32_t value)
{
    if (!alive())
        return std::unexpected(Error(ErrorCode::Unavailable, fmt::format("{}: the card is gone", m_name), EIO));
    if (!m_config.has_control(control))
        return std::unexpected(Error(ErrorCode::NotFound, fmt::format("{}: no mixer control {}", m_name, control), EINVAL));
    value = NK_SND_MIXER_VALUE(std::min(NK_SND_MIXER_LEFT(value), NK_SND_MIXER_MAX), std::min(NK_SND_MIXER_RIGHT(value), NK_SND_MIXER_MAX));
    MutexLocker op(m_mixer_op_mutex);
    auto answer = TRY(m_port->mixer_put(*this, control, value));
    if (answer < 0)
        return std::unexpected(Error::from_errno(-answer, fmt::format("{}: mixer_put {} {:#x}", m_name, mixer_control_name(control), value)));
    MutexLocker lock(m_mutex);
    m_mixer[control] = value;
    return {};
}

std::optional<uint32_t> SoundCard::mixer_setting(uint32_t control) const
{
    MutexLocker lock(m_mutex);
    return control < NK_SND_MIXER_CONTROLS ? m_mixer[control] : std::nullopt;
}

Result<void> SoundCard::replay_mixer()
{
    MutexLocker op(m_mixer_op_mutex);
    for (uint32_t control = 0; control < NK_SND_MIXER_CONTROLS; ++control) {
        auto setting = mixer_setting(control);
        if (!setting)
            continue;
        auto answer = TRY(m_port->mixer_put(*this, control, *setting));
        if (answer < 0)
            return std::unexpected(Error::from_errno(-answer, fmt::format("{}: the driver refused mixer_put {} {:#x}", m_name, mixer_control_name(control), *setting)));
    }
    return {};
}

void SoundCard::shut_down()
{
    // The driver is still there: open streams are stopped and closed in it.
    for (auto const& pcm : m_pcms) {
        if (pcm)
            pcm->close();
    }
    kill();
}

void SoundCard::kill()
{
    m_alive.store(false, std::memory_order_release);
    for (auto const& pcm : m_pcms) {
        if (pcm)
            pcm->kill();
    }
}

} // namespace nk
