// SPDX-License-Identifier: MIT
#include "system/sound/SoundPackage.h"

#include "classes/sound/SoundLayer.h"
#include "devices/sound/SoundKind.h"
#include "frontends/oss/OssFrontend.h"
#include "kernel/module/Module.h"
#include "nooks/recovery/RecoveryManager.h"
#include "shadow/ClassShadow.h"
#include "shadow/sound/SoundShadow.h"

#include <filesystem>

namespace nk {

namespace {

char const* format_name(uint32_t format) { return format == NK_SND_FMT_S16_LE ? "S16_LE" : "U8"; }

nlohmann::json stream_status(PcmSubstream const& pcm)
{
    auto stats = pcm.stats();
    return { { "state", pcm_state_name(stats.state) }, { "format", format_name(stats.config.format) }, { "channels", stats.config.channels },
        { "rate", stats.config.rate }, { "fragment_bytes", stats.config.fragment_bytes }, { "fragments", stats.config.fragments },
        { "written_bytes", stats.appl_bytes }, { "played_bytes", stats.hw_bytes }, { "periods", stats.periods }, { "xruns", stats.xruns },
        { "starts", stats.starts } };
}

class SoundPackage final : public ClassPackage {
public:
    std::string_view name() const override { return SoundLayer::class_name; }
    DeviceKinds device_kinds() const override { return { &m_sound }; }

    Result<std::unique_ptr<DriverClass>> create_class(Config const&) const override { return std::make_unique<SoundLayer>(); }

    Result<std::unique_ptr<ClassShadow>> create_shadow(DriverClass& layer, RecoveryManager& recovery) const override
    {
        auto& sound = static_cast<SoundLayer&>(layer);
        auto shadow = std::make_unique<SoundShadow>(sound, SoundShadow::Options {});
        // Tapped in before any driver registers a card; both outlive it (see ClassShadow).
        sound.set_tap(shadow.get());
        recovery.add_observer(*shadow);
        return shadow;
    }

    Result<std::unique_ptr<Frontend>> create_frontend(DriverClass& layer, Config const& config) const override
    {
        bool any = false;
        for (auto const& device : config.devices)
            any = any || device.kind == &m_sound;
        if (!any)
            return nullptr; // no card: no mount
        auto mountpoint = std::filesystem::absolute(config.sound_mount).string();
        std::error_code error;
        if (!std::filesystem::exists(mountpoint, error)) {
            std::filesystem::create_directories(mountpoint, error);
            if (error)
                return make_error(ErrorCode::FailedPrecondition, "cannot create the sound mount point {}: {}", mountpoint, error.message());
        }
        return TRY(OssFrontend::mount(static_cast<SoundLayer&>(layer), { .mountpoint = mountpoint }));
    }

    nlohmann::json status(DriverClass const& generic) const override
    {
        auto const& layer = static_cast<SoundLayer const&>(generic);
        nlohmann::json cards = nlohmann::json::array();
        for (auto const& card : layer.cards()) {
            nlohmann::json streams = nlohmann::json::object();
            for (uint32_t stream = 0; stream < NK_SND_STREAMS; ++stream) {
                if (auto const* pcm = card->pcm(stream))
                    streams[stream == NK_SND_PLAYBACK ? "playback" : "capture"] = stream_status(*pcm);
            }
            nlohmann::json mixer = nlohmann::json::object();
            for (uint32_t control = 0; control < NK_SND_MIXER_CONTROLS; ++control) {
                if (auto setting = card->mixer_setting(control))
                    mixer[mixer_control_name(control)] = { NK_SND_MIXER_LEFT(*setting), NK_SND_MIXER_RIGHT(*setting) };
            }
            cards.push_back({ { "name", card->name() }, { "card", card->config().name }, { "driver", card->owner().name() },
                { "streams", streams }, { "mixer", mixer } });
        }
        return { { "cards", cards } };
    }

private:
    SoundKind m_sound;
};

} // namespace

std::shared_ptr<ClassPackage const> make_sound_package() { return std::make_shared<SoundPackage>(); }

} // namespace nk
