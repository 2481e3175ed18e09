// SPDX-License-Identifier: MIT
#pragma once

// The block class: the registry of disks and the events frontends follow,
// registered with the kernel as its "block" class.
//
// Thread-safety: all methods may be called from any kernel thread. Listeners
// are called without the registry lock held, in registration order, on the
// thread that registered or unregistered the disk.

#include "base/Error.h"
#include "base/Mutex.h"
#include "classes/block/BlockTap.h"
#include "classes/block/Disk.h"
#include "kernel/class/DriverClass.h"

#include <atomic>
#include <chrono>
#include <memory>
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

class BlockLayer final : public DriverClass {
public:
    static constexpr char const* class_name = "block";

    struct Options {
        // Requests a driver holds longer are reported to its port (a lost
        // completion is a driver failure under isolation). 0: never.
        std::chrono::milliseconds request_timeout { 30'000 };
    };

    explicit BlockLayer(Options options);
    ~BlockLayer() override;
    BlockLayer(BlockLayer const&) = delete;
    BlockLayer& operator=(BlockLayer const&) = delete;

    // DriverClass
    std::string_view name() const override { return class_name; }
    std::vector<std::string> devices_of(Module const& module) const override;
    void release_module(Module& module) override { unregister_all(module); }
    void begin_shutdown() override { m_shutting_down.store(true, std::memory_order_release); }
    std::vector<std::string> describe_held(Module const& module) const override;

    // Registers a disk for `owner` (through the tap, if one is installed).
    // InvalidArgument (names the bad parameter), AlreadyExists if a live disk has the name.
    Result<std::shared_ptr<Disk>> register_disk(Module& owner, BusDevice* device, nk_blk_disk_params const& params,
        std::unique_ptr<BlockDriverPort> port, void* private_data);
    // The same, never through the tap (the tap's own way to create a disk).
    Result<std::shared_ptr<Disk>> create_disk(Module& owner, BusDevice* device, nk_blk_disk_params const& params,
        std::unique_ptr<BlockDriverPort> port, void* private_data);
    // A failed driver's disk: unregistered, unless the tap keeps it for the
    // driver's next instance (never once the kernel is shutting down).
    void release_disk(Disk& disk, Module& failed_owner);

    // Installs a tap (a shadow driver) before any disk is registered (null:
    // none). Not owned; it must outlive the disks it made.
    void set_tap(BlockTap* tap) { m_tap.store(tap, std::memory_order_release); }
    // Kills and forgets the disk. NotFound if it is not registered.
    Result<void> unregister_disk(Disk& disk);
    // Releases every disk `owner` holds (release_disk each).
    void unregister_all(Module& owner);

    std::shared_ptr<Disk> find(std::string const& name) const;
    // Requests that failed on any disk ever registered, unregistered ones included.
    uint64_t failed_requests_total() const;
    std::vector<std::shared_ptr<Disk>> disks() const;

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

    std::atomic<bool> m_shutting_down { false };
    mutable Mutex m_mutex;
    std::vector<std::shared_ptr<Disk>> m_disks NK_GUARDED_BY(m_mutex);
    // Killed disks are kept until shutdown: softirqs and late completions may
    // still name them, and they must find a dead disk, not freed memory.
    std::vector<std::shared_ptr<Disk>> m_graveyard NK_GUARDED_BY(m_mutex);
    std::vector<BlockLayerListener*> m_listeners NK_GUARDED_BY(m_mutex);
    std::atomic<BlockTap*> m_tap { nullptr };
    uint64_t m_next_id NK_GUARDED_BY(m_mutex) { 1 };

    void watchdog();
    std::atomic<uint64_t> m_timeout_ns { 30'000'000'000ull };
    Mutex m_watchdog_mutex;
    ConditionVariable m_watchdog_changed;
    bool m_stopping NK_GUARDED_BY(m_watchdog_mutex) { false };
    bool m_rerun_stalled NK_GUARDED_BY(m_watchdog_mutex) { false };
    bool m_rerun_at_once NK_GUARDED_BY(m_watchdog_mutex) { false };
    std::thread m_watchdog;
};

} // namespace nk
