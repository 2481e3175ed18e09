// SPDX-License-Identifier: MIT
#include "shadow/block/BlockShadow.h"

#include "base/Clock.h"
#include "base/Log.h"
#include "base/Units.h"
#include "kernel/module/Module.h"
#include "nooks/module/IsolatedModule.h"

namespace nk {

static auto logger() { return log::get("shadow"); }

BlockShadow::BlockShadow(BlockLayer& block, Options options)
    : m_block(block)
    , m_options(options)
{
}

Result<std::shared_ptr<Disk>> BlockShadow::register_disk(Module& owner, BusDevice* device, nk_blk_disk_params const& params,
    std::unique_ptr<BlockDriverPort> port, void* private_data)
{
    auto geometry = TRY(DiskGeometry::from_params(params));
    MutexLocker lock(m_mutex);
    auto it = m_disks.find(geometry.name);
    if (it != m_disks.end() && it->second.failed_owner != nullptr) {
        // The restarted driver asks for its disk: the same one, if it is the same disk.
        auto& shadowed = it->second;
        auto disk = shadowed.disk.lock();
        if (!disk)
            return make_error(ErrorCode::Internal, "shadow: disk {} vanished", geometry.name);
        // Only the failed driver's next instance, on the same device, gets the
        // live disk (its file, its waiting requests): any other driver asking
        // for the name meanwhile is refused as if the disk were registered.
        if (owner.driver_identity() != shadowed.failed_driver || disk->device() != device)
            return make_error(ErrorCode::AlreadyExists,
                "blk_register_disk: {} is kept for {}'s next instance; {} may not take it", geometry.name,
                shadowed.failed_name, owner.name());
        auto const& kept = shadowed.geometry;
        if (kept.capacity_sectors != geometry.capacity_sectors || kept.logical_block_size != geometry.logical_block_size
            || geometry.queue_depth < 1 || geometry.max_sectors < kept.max_sectors)
            return make_error(ErrorCode::InvalidArgument,
                "blk_register_disk: {} comes back with another geometry; the shadow cannot hand it the old disk", geometry.name);
        shadowed.port->attach(std::move(port), owner);
        disk->set_owner(owner);
        logger()->info("{}: reattached to {}'s new instance", geometry.name, owner.name());
        return disk;
    }
    lock.unlock();
    // A new disk: shadowed from now on.
    auto tap = std::make_unique<ShadowBlockPort>(std::move(port), owner);
    auto* tap_raw = tap.get();
    auto disk = TRY(m_block.create_disk(owner, device, params, std::move(tap), private_data));
    lock.lock();
    auto& shadowed = m_disks[geometry.name];
    shadowed = Shadowed {};
    shadowed.disk = disk;
    shadowed.port = tap_raw;
    shadowed.geometry = geometry;
    shadowed.stats.name = geometry.name;
    return disk;
}

bool BlockShadow::keep_disk(Disk& disk, Module& owner)
{
    MutexLocker lock(m_mutex);
    auto it = m_disks.find(disk.name());
    if (it == m_disks.end() || it->second.disk.lock().get() != &disk)
        return false; // not ours
    auto& shadowed = it->second;
    // Kept already, for this driver: an instance that took it and failed (or
    // stopped) before its restart was done leaves it kept for the next one.
    bool kept_for_this_driver = shadowed.failed_owner != nullptr && shadowed.failed_driver == owner.driver_identity();
    if (owner.state() != ModuleState::Failed && !kept_for_this_driver)
        return false; // a driver unloading normally: really unregister
    if (shadowed.failed_owner == &owner)
        return true; // released twice (tracker, then the module's leftovers): one failure
    bool was_active = shadowed.failed_owner != nullptr;
    shadowed.port->go_active();
    shadowed.failed_owner = &owner;
    shadowed.failed_driver = owner.driver_identity();
    shadowed.failed_name = owner.name();
    shadowed.stats.failures++;
    if (was_active)
        return true; // the outage goes on
    shadowed.active_since = monotonic_ns();
    logger()->info("{}: driver {} failed; the shadow answers for it", disk.name(), owner.name());
    return true;
}

void BlockShadow::driver_restarted(IsolatedModule& fresh)
{
    std::vector<std::pair<std::shared_ptr<Disk>, Shadowed*>> ready;
    {
        MutexLocker lock(m_mutex);
        for (auto& [name, shadowed] : m_disks) {
            auto disk = shadowed.disk.lock();
            if (disk && shadowed.failed_owner != nullptr && &disk->owner() == &fresh)
                ready.emplace_back(std::move(disk), &shadowed);
        }
    }
    for (auto& [disk, shadowed] : ready) {
        if (auto replayed = shadowed->port->replay(*disk); !replayed) {
            // The new instance failed already; its own recovery will try again.
            logger()->warn("{}: {}", disk->name(), replayed.error());
            continue;
        }
        auto& queue = disk->queue();
        auto reissued = queue.requeue_in_flight();
        // A request that was in flight at every one of the last failures is failed alone.
        auto sweep = queue.fail_exhausted(m_options.max_attempts, NK_BLK_STS_IOERR);
        for (auto const& what : sweep.failed)
            logger()->warn("{}: {} made the driver fail every time: failed alone with EIO", disk->name(), what);
        uint32_t suspects = sweep.suspects;
        uint64_t failed_alone = sweep.failed.size();
        auto stall = monotonic_ns() - shadowed->active_since;
        {
            MutexLocker lock(m_mutex);
            shadowed->stats.reissued += reissued;
            shadowed->stats.failed_alone += failed_alone;
            // Failed just now (after its replay): the disk stays active, its
            // requests queued, for the instance after it (keep_disk, under
            // this lock, has made it so or will).
            if (fresh.failure()) {
                logger()->warn("{}: {} failed while it was being given the disk back", disk->name(), fresh.name());
                continue;
            }
            shadowed->failed_owner = nullptr;
            shadowed->stats.last_stall_ns = stall;
            shadowed->stats.longest_stall_ns = std::max(shadowed->stats.longest_stall_ns, stall);
            shadowed->port->go_passive(suspects);
        }
        queue.run();
        logger()->info("{}: back with {}: {} requests re-issued{}, {} queued requests follow; applications waited {}", disk->name(),
            fresh.name(), reissued, suspects > 0 ? " (one at a time: they were in flight when it failed)" : "",
            queue.stats().pending + queue.stats().blocked, format_duration_ns(stall));
    }
}

void BlockShadow::driver_given_up(IsolatedModule& failed)
{
    std::vector<std::shared_ptr<Disk>> doomed;
    {
        MutexLocker lock(m_mutex);
        for (auto it = m_disks.begin(); it != m_disks.end();) {
            auto disk = it->second.disk.lock();
            if (disk && it->second.failed_owner != nullptr && it->second.failed_driver == failed.driver_identity()) {
                doomed.push_back(std::move(disk));
                it = m_disks.erase(it);
            } else {
                ++it;
            }
        }
    }
    for (auto const& disk : doomed) {
        logger()->warn("{}: its driver is not coming back; its requests fail", disk->name());
        (void)m_block.unregister_disk(*disk);
    }
}

nlohmann::json BlockShadow::status() const
{
    nlohmann::json list = nlohmann::json::array();
    for (auto const& disk : disks()) {
        list.push_back({ { "name", disk.name }, { "active", disk.active }, { "probation", disk.probation }, { "failures", disk.failures },
            { "reissued", disk.reissued }, { "failed_alone", disk.failed_alone }, { "longest_stall_us", disk.longest_stall_ns / 1000 },
            { "last_stall_us", disk.last_stall_ns / 1000 } });
    }
    return { { "disks", list } };
}

std::vector<BlockShadow::DiskStatus> BlockShadow::disks() const
{
    MutexLocker lock(m_mutex);
    std::vector<DiskStatus> result;
    for (auto const& [name, shadowed] : m_disks) {
        auto status = shadowed.stats;
        status.active = shadowed.port->active();
        status.probation = shadowed.port->probation();
        status.opens = shadowed.port->opens();
        status.write_cache = shadowed.port->write_cache();
        result.push_back(status);
    }
    return result;
}

} // namespace nk
