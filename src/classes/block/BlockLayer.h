// SPDX-License-Identifier: MIT
#pragma once

// The block class: the registry of disks and the events frontends follow.
//
// Thread-safety: all methods may be called from any kernel thread. Listeners
// are called without the registry lock held, in registration order, on the
// thread that registered or unregistered the disk.

#include "base/Error.h"
#include "base/ThreadAnnotations.h"
#include "classes/block/BlockTap.h"
#include "classes/block/Disk.h"

#include <memory>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace nk {

class BlockLayerListener {
public:
    virtual ~BlockLayerListener() = default;
    virtual void disk_added(std::shared_ptr<Disk> const& disk) = 0;
    // The disk is already dead (all I/O fails) when this is called.
    virtual void disk_removed(std::shared_ptr<Disk> const& disk) = 0;
};

class BlockLayer {
public:
    BlockLayer();
    ~BlockLayer();
    BlockLayer(BlockLayer const&) = delete;
    BlockLayer& operator=(BlockLayer const&) = delete;

    // Registers a disk for `owner` (through the tap, if one is installed).
    // InvalidArgument (names the bad parameter), AlreadyExists if a live disk has the name.
    Result<std::shared_ptr<Disk>> register_disk(Module& owner, BusDevice* device, nk_blk_disk_params const& params,
        std::unique_ptr<BlockDriverPort> port, void* private_data);
    // The same, never through the tap (the tap's own way to create a disk).
    Result<std::shared_ptr<Disk>> create_disk(Module& owner, BusDevice* device, nk_blk_disk_params const& params,
        std::unique_ptr<BlockDriverPort> port, void* private_data);
    // A failed driver's disk: unregistered, unless the tap keeps it for the driver's next instance.
    void release_disk(Disk& disk, Module& failed_owner);

    // Installs a tap (a shadow driver) before any disk is registered. Not owned.
    void set_tap(BlockTap* tap) { m_tap = tap; }
    BlockTap* tap() const { return m_tap; }
    // Kills and forgets the disk. NotFound if it is not registered.
    Result<void> unregister_disk(Disk& disk);
    // Releases every disk `owner` holds (release_disk each).
    void unregister_all(Module& owner);

    std::shared_ptr<Disk> find(std::string const& name) const;
    // Requests that failed on any disk ever registered, unregistered ones included.
    uint64_t failed_requests_total() const;
    std::vector<std::shared_ptr<Disk>> disks() const;
    // True if `disk` is a live disk of this layer (handle validation).
    bool contains(Disk const* disk) const;

    void add_listener(BlockLayerListener& listener);
    void remove_listener(BlockLayerListener& listener);

    // Requests a driver holds longer than this are reported to its port (a lost
    // completion is a driver failure under isolation). 0 turns the timeout off.
    // The same watchdog thread reruns queues a RESOURCE answer left stalled
    // with nothing in flight, after kStalledRerunDelay.
    void set_request_timeout(std::chrono::milliseconds timeout);
    static constexpr std::chrono::milliseconds kStalledRerunDelay { 3 };

    // Asks the watchdog thread to rerun stalled queues: after kStalledRerunDelay
    // (a driver that answered RESOURCE gets a moment to free what it lacked),
    // or at once (what the requests waited for is there now). Any thread; does
    // not dispatch on the caller's thread.
    enum class Rerun { AfterDelay, AtOnce };
    void request_rerun(Rerun when = Rerun::AfterDelay);

private:
    std::vector<BlockLayerListener*> listeners() const;

    mutable std::mutex m_mutex;
    std::vector<std::shared_ptr<Disk>> m_disks NK_GUARDED_BY(m_mutex);
    // Killed disks are kept until shutdown: softirqs and late completions may
    // still name them, and they must find a dead disk, not freed memory.
    std::vector<std::shared_ptr<Disk>> m_graveyard NK_GUARDED_BY(m_mutex);
    std::vector<BlockLayerListener*> m_listeners NK_GUARDED_BY(m_mutex);
    BlockTap* m_tap { nullptr };
    uint64_t m_next_id NK_GUARDED_BY(m_mutex) { 1 };

    void watchdog();
    std::atomic<uint64_t> m_timeout_ns { 30'000'000'000ull };
    std::mutex m_watchdog_mutex;
    std::condition_variable m_watchdog_changed;
    bool m_stopping { false };
    bool m_rerun_stalled NK_GUARDED_BY(m_watchdog_mutex) { false };
    bool m_rerun_at_once NK_GUARDED_BY(m_watchdog_mutex) { false };
    std::thread m_watchdog;
};

} // namespace nk
