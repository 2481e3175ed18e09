// SPDX-License-Identifier: MIT
#pragma once

// The block class's port into an isolated driver.
//
// Submission: a batch of n requests costs one crossing. Each request travels
// by value in its queue_rq arguments (in the kernel's half of the channel or
// its deferred ring: read-only for the driver, which gets a pointer to it, the
// copy the ABI promises). The first n-1 queue_rq calls are deferred and the
// last one is a synchronous call; the domain runs the deferred calls first, so
// when the call returns every answer is there. Completions come back as
// deferred nk_blk_end_request calls with the domain's next message (usually
// the return of its interrupt handler). Every answer is checked (Tainted).

#include "abi/block/Calls.h"
#include "classes/block/BlockDriverPort.h"

#include <nooks/block.h>

#include <atomic>
#include <memory>

namespace nk {

class IsolatedModule;

class IsolatedBlockPort final : public BlockDriverPort {
public:
    IsolatedBlockPort(IsolatedModule& module, abi::BlkOps functions)
        : m_module(module)
        , m_functions(functions)
    {
    }

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
    Result<int> checked_status(int64_t status);
    Result<uint64_t> registered_handle(char const* operation) const;

    IsolatedModule& m_module;
    abi::BlkOps m_functions;
    std::atomic<uint64_t> m_disk { 0 };
    std::atomic<bool> m_ready { false };
};

} // namespace nk
