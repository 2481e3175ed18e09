// SPDX-License-Identifier: MIT
#include "devices/disk/DiskKind.h"

#include "base/Log.h"
#include "base/Units.h"
#include "devices/disk/DiskController.h"
#include "devices/disk/DiskImage.h"

#include <filesystem>

namespace nk {

std::string DiskSettings::describe() const { return fmt::format("image {}, {}", image, format_size(size)); }

std::vector<std::string> DiskSettings::exclusive_resources() const
{
    // One spelling per file, existing or not ("./a/../disk.img" is "disk.img").
    std::error_code error;
    auto path = std::filesystem::weakly_canonical(std::filesystem::absolute(image, error), error);
    return { fmt::format("image {}", error ? image : path.string()) };
}

Result<std::shared_ptr<DeviceSettings const>> DiskKind::parse(std::string const& name, ConfigTable const& table) const
{
    TRY(table.allow_only({ "image", "size" }));
    auto settings = std::make_shared<DiskSettings>();
    settings->image = TRY(table.string("image")).value_or(fmt::format("/var/lib/nooks/{}.img", name));
    if (settings->image.empty())
        return std::unexpected(table.error("image", "must name a file"));
    settings->size = TRY(table.size("size", 1ull << 20, 1ull << 50, 512)).value_or(settings->size);
    return settings;
}

Result<std::unique_ptr<HardwareDevice>> DiskKind::create(std::string const& name, DeviceSettings const& generic) const
{
    auto const& settings = static_cast<DiskSettings const&>(generic);
    std::error_code error;
    auto directory = std::filesystem::path(settings.image).parent_path();
    if (!directory.empty() && !std::filesystem::exists(directory, error)) {
        std::filesystem::create_directories(directory, error);
        if (error)
            return make_error(ErrorCode::FailedPrecondition, "{}: cannot create {}: {}", name, directory.string(), error.message());
    }
    auto image = TRY(DiskImage::open(settings.image, settings.size));
    if (!image->created() && image->size() != settings.size)
        log::get("system")->info("{}: disk image {} exists with {}; keeping its size (configured {})", name, image->path(),
            format_size(image->size()), format_size(settings.size));
    return TRY(DiskController::create(std::move(image), { .name = name }));
}

} // namespace nk
