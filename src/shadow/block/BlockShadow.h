// SPDX-License-Identifier: MIT
#pragma once

// The shadow driver of the block class: makes a disk driver's failure and
// recovery invisible to applications (shadow mode).
//
//   passive  every disk's port is a ShadowBlockPort tap: calls go to the driver
//            and the configuration is logged; the request queue already holds
//            every request in flight with its buffer.
//   active   (from the moment the driver fails) the taps answer for the driver;
//            the failed driver's disks are kept, not unregistered, so the FUSE
//            file, the loop device and ext4 above never notice.
//   restart  when the driver's next instance registers a disk of the same name
//            and geometry, the shadow plays the kernel's part: it hands back
//            the same disk, replays the configuration (opens, write cache),
//            re-issues the requests that were in flight (disks tolerate
//            duplicates; the queue never has conflicting requests in flight),
//            then the queued ones, and goes passive.
//
// Deterministic faults: a request in flight at `max_attempts` failures (each
// time alone in flight, see ShadowBlockPort probation) fails alone with EIO;
// the rest of the disk is served.
//
// Thread-safety: register_disk/keep_disk come from kernel threads doing
// (un)registration; the driver_* calls from the recovering driver's recovery
// thread (several drivers may recover at once, each on its own thread).

#include "base/Mutex.h"
#include "classes/block/BlockLayer.h"
#include "classes/block/BlockTap.h"
#include "nooks/recovery/RecoveryObserver.h"
#include "shadow/ClassShadow.h"
#include "shadow/block/ShadowBlockPort.h"

#include <map>

namespace nk {

class BlockShadow final : public ClassShadow, public BlockTap, public RecoveryObserver {
public:
    struct Options {
        uint32_t max_attempts { 3 };
    };

    BlockShadow(BlockLayer& block, Options options);

    // BlockTap
    Result<std::shared_ptr<Disk>> register_disk(Module& owner, BusDevice* device, nk_blk_disk_params const& params,
        std::unique_ptr<BlockDriverPort> port, void* private_data) override;
    bool keep_disk(Disk& disk, Module& owner) override;

    // RecoveryObserver. The driver's next instance is up (re-initialized).
    void driver_restarted(IsolatedModule& fresh) override;
    // Recovery gave up on `failed`: the disks its driver had kept answer with
    // errors and go; other drivers' disks are untouched.
    void driver_given_up(IsolatedModule& failed) override;

    struct DiskStatus {
        std::string name;
        bool active { false };
        bool probation { false };
        uint32_t failures { 0 };        // driver failures the disk lived through
        uint64_t reissued { 0 };        // requests re-issued to a new instance
        uint64_t failed_alone { 0 };    // requests failed with EIO as deterministic faults
        uint64_t longest_stall_ns { 0 }; // longest time the disk was active
        uint64_t last_stall_ns { 0 };
        uint32_t opens { 0 };
        std::optional<uint32_t> write_cache;
    };
    std::vector<DiskStatus> disks() const;
    // ClassShadow: the disks' status as JSON.
    nlohmann::json status() const override;

private:
    struct Shadowed {
        std::weak_ptr<Disk> disk;
        ShadowBlockPort* port { nullptr }; // owned by the disk
        DiskGeometry geometry;
        // While active: the instance that failed last (compared, never
        // dereferenced: it may be gone), and the driver it was an instance of.
        Module const* failed_owner { nullptr };
        std::string failed_driver; // Module::driver_identity() of the failed instance
        std::string failed_name;
        uint64_t active_since { 0 };
        DiskStatus stats;
    };

    BlockLayer& m_block;
    Options m_options;
    mutable Mutex m_mutex;
    std::map<std::string, Shadowed> m_disks NK_GUARDED_BY(m_mutex); // by disk name
};

} // namespace nk
