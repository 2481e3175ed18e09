// SPDX-License-Identifier: MIT
#pragma once

// The block class's port into an isolated driver.
//
// Submission: a batch of n requests costs one crossing. Each request's copy is
// written to a slot in the kernel area (read-only for the driver: queue_rq
// gets a pointer to it, as the ABI promises a copy), the first n-1 queue_rq
// calls are deferred, and the last one is a synchronous call; the domain runs
// the deferred calls first, so when the call returns every answer is there.
// Completions come back as deferred nk_blk_end_request calls with the domain's
// next message (usually the return of its interrupt handler).

#include "classes/block/BlockDriverPort.h"

#include <nooks/block.h>

#include <atomic>
#include <memory>

namespace nk {

class IsolatedModule;

class IsolatedBlockPort final : public BlockDriverPort {
public:
    struct Functions {
        uint64_t open { 0 };
        uint64_t release { 0 };
        uint64_t ioctl { 0 };
        uint64_t queue_rq { 0 };
        uint64_t commit_rqs { 0 };
    };

    static Result<std::unique_ptr<IsolatedBlockPort>> create(IsolatedModule& module, Functions functions, uint32_t depth);
    // The handle the driver knows the disk by, set when the registration is
    // tracked. The disk is live from its registration on (the block class, or
    // the shadow replaying requests, dispatches as soon as it exists), but the
    // driver learns the handle only from the registration's reply: until the
    // domain says it has it (mark_ready, from nk_blk_register_disk's deferred
    // blk_disk_ready), requests are answered RESOURCE and rerun by the block
    // layer, and open/release/ioctl are Unavailable.
    void set_disk_handle(uint64_t handle) { m_disk.store(handle, std::memory_order_release); }
    void mark_ready() { m_ready.store(true, std::memory_order_release); }

    Result<int> open(Disk& disk) override;
    Result<void> release(Disk& disk) override;
    Result<int> ioctl(Disk& disk, uint32_t cmd, uint64_t arg) override;
    Result<size_t> queue_rqs(Disk& disk, std::span<BlockRequest* const> batch, std::span<int> statuses) override;
    // A lost completion: the driver is failed (and recovered).
    void request_timed_out(Disk& disk, uint32_t tag, uint64_t age_ns) override;
    void queue_stalled(Disk& disk, uint64_t stalled_ns) override;

private:
    IsolatedBlockPort(IsolatedModule& module, Functions functions, nk_blk_request* slots, uint32_t depth)
        : m_module(module)
        , m_functions(functions)
        , m_slots(slots)
        , m_depth(depth)
    {
    }
    Result<int> checked_status(int64_t status);
    Result<uint64_t> registered_handle(char const* operation) const;

    IsolatedModule& m_module;
    Functions m_functions;
    nk_blk_request* m_slots; // by tag, in the kernel area
    uint32_t m_depth;
    std::atomic<uint64_t> m_disk { 0 };
    std::atomic<bool> m_ready { false };
};

} // namespace nk
