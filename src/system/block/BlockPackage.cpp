// SPDX-License-Identifier: MIT
#include "system/block/BlockPackage.h"

#include "classes/block/BlockLayer.h"
#include "devices/disk/DiskKind.h"
#include "frontends/fuse/FuseDiskFs.h"
#include "nooks/recovery/RecoveryManager.h"
#include "shadow/ClassShadow.h"
#include "shadow/block/BlockShadow.h"

#include <filesystem>

namespace nk {

namespace {

class BlockPackage final : public ClassPackage {
public:
    std::string_view name() const override { return BlockLayer::class_name; }
    DeviceKinds device_kinds() const override { return { &m_disk }; }

    Result<std::unique_ptr<DriverClass>> create_class(Config const& config) const override
    {
        return std::make_unique<BlockLayer>(BlockLayer::Options { .request_timeout = std::chrono::milliseconds(config.request_timeout_ms) });
    }

    Result<std::unique_ptr<ClassShadow>> create_shadow(DriverClass& layer, RecoveryManager& recovery) const override
    {
        auto& block = static_cast<BlockLayer&>(layer);
        auto shadow = std::make_unique<BlockShadow>(block, BlockShadow::Options {});
        // Tapped in before any driver registers a disk; both outlive it (see ClassShadow).
        block.set_tap(shadow.get());
        recovery.add_observer(*shadow);
        return shadow;
    }

    Result<std::unique_ptr<Frontend>> create_frontend(DriverClass& layer, Config const& config) const override
    {
        return TRY(FuseDiskFs::mount(static_cast<BlockLayer&>(layer),
            { .mountpoint = std::filesystem::absolute(config.mount).string(), .threads = config.fuse_threads }));
    }

    nlohmann::json status(DriverClass const& generic) const override
    {
        auto const& layer = static_cast<BlockLayer const&>(generic);
        nlohmann::json disks = nlohmann::json::array();
        for (auto const& disk : layer.disks()) {
            auto stats = disk->queue().stats();
            disks.push_back({ { "name", disk->name() }, { "driver", disk->owner().name() },
                { "capacity_bytes", disk->geometry().capacity_bytes() }, { "open", disk->open_count() },
                { "completed", stats.completed }, { "failed", stats.failed }, { "in_flight", stats.in_flight },
                { "batches", stats.dispatch_batches } });
        }
        return { { "disks", disks }, { "failed_requests_total", layer.failed_requests_total() } };
    }

private:
    DiskKind m_disk;
};

} // namespace

std::shared_ptr<ClassPackage const> make_block_package() { return std::make_shared<BlockPackage>(); }

} // namespace nk
