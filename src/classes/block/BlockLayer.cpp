// SPDX-License-Identifier: MIT
#include "classes/block/BlockLayer.h"

#include "base/Clock.h"
#include "base/Log.h"
#include "base/Units.h"
#include "classes/block/api/NativeApi.h"
#include "kernel/module/Module.h"

#include <algorithm>
#include <pthread.h>

namespace nk {

static auto logger() { return log::get("block"); }

BlockLayer::BlockLayer(Options options)
{
    // Every nk_blk_* entry point is linked into a kernel that has a block class.
    if (block_api_symbol_count() == 0)
        logger()->critical("the block kernel API is missing");
    set_request_timeout(options.request_timeout);
    m_watchdog = std::thread([this] { watchdog(); });
}

BlockLayer::~BlockLayer()
{
    {
        MutexLocker lock(m_watchdog_mutex);
        m_stopping = true;
    }
    m_watchdog_changed.notify_all();
    m_watchdog.join();
}

void BlockLayer::set_request_timeout(std::chrono::milliseconds timeout)
{
    m_timeout_ns.store(static_cast<uint64_t>(std::chrono::nanoseconds(timeout).count()));
    m_watchdog_changed.notify_all();
}

void BlockLayer::request_rerun(Rerun when)
{
    {
        MutexLocker lock(m_watchdog_mutex);
        m_rerun_stalled = true;
        m_rerun_at_once = m_rerun_at_once || when == Rerun::AtOnce;
    }
    m_watchdog_changed.notify_all();
}

void BlockLayer::watchdog()
{
    pthread_setname_np(pthread_self(), "nk-blk-watchdog");
    MutexLocker lock(m_watchdog_mutex);
    while (!m_stopping) {
        auto timeout = m_timeout_ns.load();
        // Check a few times per timeout period (at most once every 10 ms).
        auto period = timeout == 0 ? std::chrono::milliseconds(1000) : std::chrono::milliseconds(std::clamp<uint64_t>(timeout / 4'000'000, 10, 1000));
        m_watchdog_changed.wait_for(lock, period, [this]() NK_REQUIRES(m_watchdog_mutex) { return m_stopping || m_rerun_stalled; });
        if (m_stopping)
            break;
        if (m_rerun_stalled) {
            m_rerun_stalled = false;
            // Give the driver a moment to free what it lacked, then retry.
            if (!std::exchange(m_rerun_at_once, false))
                m_watchdog_changed.wait_for(lock, kStalledRerunDelay, [this]() NK_REQUIRES(m_watchdog_mutex) { return m_stopping; });
            lock.unlock();
            for (auto const& disk : disks())
                disk->queue().rerun_if_stalled();
            lock.lock();
        }
        if (timeout == 0)
            continue;
        lock.unlock();
        auto now = monotonic_ns();
        for (auto const& disk : disks()) {
            for (auto [tag, age] : disk->queue().take_timed_out(now, timeout))
                disk->port().request_timed_out(*disk, tag, age);
            if (auto stalled = disk->queue().take_idle_stall(now, timeout))
                disk->port().queue_stalled(*disk, *stalled);
        }
        lock.lock();
    }
}

Result<std::shared_ptr<Disk>> BlockLayer::register_disk(Module& owner, BusDevice* device, nk_blk_disk_params const& params,
    std::unique_ptr<BlockDriverPort> port, void* private_data)
{
    if (auto* tap = m_tap.load(std::memory_order_acquire))
        return tap->register_disk(owner, device, params, std::move(port), private_data);
    return create_disk(owner, device, params, std::move(port), private_data);
}

void BlockLayer::release_disk(Disk& disk, Module& failed_owner)
{
    auto* tap = m_tap.load(std::memory_order_acquire);
    if (tap != nullptr && !m_shutting_down.load(std::memory_order_acquire) && tap->keep_disk(disk, failed_owner))
        return;
    (void)unregister_disk(disk);
}

Result<std::shared_ptr<Disk>> BlockLayer::create_disk(Module& owner, BusDevice* device, nk_blk_disk_params const& params,
    std::unique_ptr<BlockDriverPort> port, void* private_data)
{
    auto geometry = TRY(DiskGeometry::from_params(params));
    std::shared_ptr<Disk> disk;
    {
        MutexLocker lock(m_mutex);
        if (std::ranges::any_of(m_disks, [&](auto const& d) { return d->name() == geometry.name; }))
            return make_error(ErrorCode::AlreadyExists, "blk_register_disk: a disk named {} exists", geometry.name);
        disk = std::make_shared<Disk>(m_next_id++, std::move(geometry), owner, device, std::move(port), private_data);
        disk->queue().set_idle_stall_handler([this] { request_rerun(); });
        m_disks.push_back(disk);
    }
    logger()->info("disk {} registered by {}: {}, {} byte blocks, depth {}, max {} per request{}{}", disk->name(),
        owner.name(), format_size(disk->geometry().capacity_bytes()), disk->geometry().logical_block_size,
        disk->geometry().queue_depth, format_size(uint64_t(disk->geometry().max_sectors) * 512),
        (disk->geometry().features & NK_BLK_FEAT_FLUSH) ? ", flush" : "",
        (disk->geometry().features & NK_BLK_FEAT_FUA) ? ", fua" : "");
    for (auto* listener : listeners())
        listener->disk_added(disk);
    return disk;
}

Result<void> BlockLayer::unregister_disk(Disk& disk)
{
    std::shared_ptr<Disk> removed;
    {
        MutexLocker lock(m_mutex);
        auto it = std::ranges::find_if(m_disks, [&](auto const& d) { return d.get() == &disk; });
        if (it == m_disks.end())
            return make_error(ErrorCode::NotFound, "blk_unregister_disk: disk is not registered");
        removed = *it;
        m_disks.erase(it);
        m_graveyard.push_back(removed);
    }
    removed->kill();
    logger()->info("disk {} unregistered", removed->name());
    for (auto* listener : listeners())
        listener->disk_removed(removed);
    return {};
}

void BlockLayer::unregister_all(Module& owner)
{
    for (auto const& disk : disks()) {
        if (&disk->owner() == &owner)
            release_disk(*disk, owner);
    }
}

std::shared_ptr<Disk> BlockLayer::find(std::string const& name) const
{
    MutexLocker lock(m_mutex);
    for (auto const& disk : m_disks) {
        if (disk->name() == name)
            return disk;
    }
    return nullptr;
}

uint64_t BlockLayer::failed_requests_total() const
{
    MutexLocker lock(m_mutex);
    uint64_t total = 0;
    for (auto const* list : { &m_disks, &m_graveyard }) {
        for (auto const& disk : *list)
            total += disk->queue().stats().failed;
    }
    return total;
}

std::vector<std::shared_ptr<Disk>> BlockLayer::disks() const
{
    MutexLocker lock(m_mutex);
    return m_disks;
}

std::vector<std::string> BlockLayer::devices_of(Module const& module) const
{
    std::vector<std::string> names;
    for (auto const& disk : disks()) {
        if (&disk->owner() == &module)
            names.push_back(disk->name());
    }
    return names;
}

std::vector<std::string> BlockLayer::describe_held(Module const& module) const
{
    std::vector<std::string> lines;
    for (auto const& disk : disks()) {
        if (&disk->owner() != &module)
            continue;
        if (auto in_flight = disk->queue().stats().in_flight; in_flight > 0)
            lines.push_back(fmt::format("{} requests in flight on {}", in_flight, disk->name()));
    }
    return lines;
}

void BlockLayer::add_listener(BlockLayerListener& listener)
{
    MutexLocker lock(m_mutex);
    m_listeners.push_back(&listener);
}

void BlockLayer::remove_listener(BlockLayerListener& listener)
{
    MutexLocker lock(m_mutex);
    std::erase(m_listeners, &listener);
}

std::vector<BlockLayerListener*> BlockLayer::listeners() const
{
    MutexLocker lock(m_mutex);
    return m_listeners;
}

} // namespace nk
