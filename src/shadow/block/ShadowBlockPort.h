// SPDX-License-Identifier: MIT
#pragma once

// The block shadow driver's tap on one disk: the port the block class talks
// to, wrapped around the real driver's port.
//
// Passive (the driver is healthy): every call goes to the driver; the tap logs
// the configuration (opens, the write-cache setting) and counts suspects.
// Active (the driver failed, recovery is under way): the tap answers for the
// driver. Requests are refused for now (NK_BLK_STS_RESOURCE): they wait in
// the request queue, up to its depth, after which submitters block; opens and
// releases are counted; the write-cache setting is answered from the log and
// a new one logged for replay; other configuration is "busy" (-EAGAIN).
//
// Probation (after a failure with requests in flight): requests go to the
// driver one at a time until every request that was in flight during a
// failure has completed, so a request that kills the driver every time is
// the only one in flight when it does.
//
// Thread-safety: called by the block class from any kernel thread; the
// shadow (BlockShadow) switches modes from the recovery thread.

#include "base/Mutex.h"
#include "base/ThreadAnnotations.h"
#include "classes/block/BlockDriverPort.h"
#include "kernel/module/Module.h"

#include <atomic>
#include <memory>
#include <optional>

namespace nk {

class ShadowBlockPort final : public BlockDriverPort {
public:
    ShadowBlockPort(std::unique_ptr<BlockDriverPort> driver, Module& owner)
        : m_driver(std::shared_ptr<BlockDriverPort>(std::move(driver)))
        , m_owner(&owner)
    {
    }

    Result<int> open(Disk& disk) override;
    Result<void> release(Disk& disk) override;
    Result<int> ioctl(Disk& disk, uint32_t cmd, uint64_t arg) override;
    Result<size_t> queue_rqs(Disk& disk, std::span<BlockRequest* const> batch, std::span<int> statuses) override;
    void request_timed_out(Disk& disk, uint32_t tag, uint64_t age_ns) override;
    void queue_stalled(Disk& disk, uint64_t stalled_ns) override;
    void completed(Disk& disk, BlockRequest& request, int status) override;

    // Mode changes (the shadow, on the recovery thread).
    void go_active();
    // The driver's next instance took the disk: its port replaces the failed one's.
    void attach(std::unique_ptr<BlockDriverPort> driver, Module& owner);
    // Replays the logged configuration into the attached driver.
    Result<void> replay(Disk& disk);
    // Back to passive. `suspects`: requests re-issued after being in flight at a
    // failure; while any is outstanding, requests go to the driver one at a time.
    void go_passive(uint32_t suspects);

    bool active() const { return m_active.load(std::memory_order_acquire); }
    bool probation() const { return m_probation.load(std::memory_order_acquire); }
    uint32_t opens() const;
    std::optional<uint32_t> write_cache() const;

private:
    // The driver's port, or null while it cannot be used (active mode).
    std::shared_ptr<BlockDriverPort> usable_driver() const;

    // Swapped atomically: a thread calling the failed driver's port keeps it
    // alive until it returns.
    std::atomic<std::shared_ptr<BlockDriverPort>> m_driver;
    std::atomic<Module*> m_owner;
    std::atomic<bool> m_active { false };
    std::atomic<bool> m_probation { false };
    std::atomic<uint32_t> m_suspects_outstanding { 0 };
    std::atomic<uint32_t> m_suspects_in_flight { 0 };
    mutable Mutex m_mutex; // the configuration log
    uint32_t m_opens NK_GUARDED_BY(m_mutex) { 0 };
    std::optional<uint32_t> m_write_cache NK_GUARDED_BY(m_mutex);
};

} // namespace nk
