// SPDX-License-Identifier: MIT
#include "devices/sound/SoundKind.h"

#include "devices/sound/Microphone.h"
#include "devices/sound/SoundDevice.h"

#include <fmt/format.h>

#include <filesystem>

namespace nk {

std::string SoundSettings::describe() const
{
    return fmt::format("speaker {}, microphone {}", speaker.empty() ? "not recorded" : speaker, microphone);
}

std::vector<std::string> SoundSettings::exclusive_resources() const
{
    if (speaker.empty())
        return {};
    // One spelling per file, existing or not ("./a/../x.wav" is "x.wav").
    std::error_code error;
    auto path = std::filesystem::weakly_canonical(std::filesystem::absolute(speaker, error), error);
    return { fmt::format("speaker {}", error ? speaker : path.string()) };
}

Result<std::shared_ptr<DeviceSettings const>> SoundKind::parse(std::string const&, ConfigTable const& table) const
{
    TRY(table.allow_only({ "speaker", "microphone" }));
    auto settings = std::make_shared<SoundSettings>();
    settings->speaker = TRY(table.string("speaker")).value_or("");
    if (!settings->speaker.empty()) {
        std::error_code error;
        auto path = std::filesystem::path(settings->speaker);
        auto directory = path.parent_path();
        if (path.filename().empty())
            return std::unexpected(table.error("speaker", fmt::format("'{}' names a directory, not a file", settings->speaker)));
        if (!directory.empty() && !std::filesystem::is_directory(directory, error))
            return std::unexpected(table.error("speaker", fmt::format("'{}': its directory {} does not exist", settings->speaker, directory.string())));
        if (std::filesystem::is_directory(path, error))
            return std::unexpected(table.error("speaker", fmt::format("'{}' is a directory, not a file", settings->speaker)));
    }
    settings->microphone = TRY(table.string("microphone")).value_or(settings->microphone);
    if (auto valid = sound::Microphone::check(settings->microphone); !valid)
        return std::unexpected(table.error("microphone", valid.error().message()));
    return settings;
}

Result<std::unique_ptr<HardwareDevice>> SoundKind::create(std::string const& name, DeviceSettings const& generic) const
{
    auto const& settings = static_cast<SoundSettings const&>(generic);
    return TRY(SoundDevice::create({ .name = name, .speaker = settings.speaker, .microphone = settings.microphone }));
}

} // namespace nk
