// SPDX-License-Identifier: MIT
#pragma once

// How the block layer reaches a block driver's entry points (struct nk_blk_ops):
// directly in native mode, across a protection domain under isolation, and
// through the shadow driver's taps in shadow mode. The block layer is written
// once against this interface.
//
// Every method is called in process context by a kernel thread; an error
// Result means the driver could not run (it failed), not that it refused.

#include "base/Error.h"
#include "classes/block/BlockRequest.h"

#include <cstddef>
#include <span>

namespace nk {

class Disk;

class BlockDriverPort {
public:
    virtual ~BlockDriverPort() = default;

    virtual Result<int> open(Disk& disk) = 0;
    virtual Result<void> release(Disk& disk) = 0;
    virtual Result<int> ioctl(Disk& disk, uint32_t cmd, uint64_t arg) = 0;

    // Hands `batch` to the driver in order (queue_rq, last=true on the final
    // one) and returns how many requests queue_rq was called for; statuses[i]
    // holds its answer. A port may stop after the first NK_BLK_STS_RESOURCE
    // (calling commit_rqs if the driver took any before it) or hand over the
    // whole batch at once; requests answered RESOURCE, and those not
    // attempted, are retried after a completion. The port must not touch a
    // request after queue_rq accepted it: it may already be complete.
    virtual Result<size_t> queue_rqs(Disk& disk, std::span<BlockRequest* const> batch, std::span<int> statuses) = 0;

    // The driver has held request `tag` longer than the block layer's timeout:
    // a lost completion. Called by the block watchdog thread. The default logs
    // it (native drivers have no timeout handler); isolated ports fail the driver.
    virtual void request_timed_out(Disk& disk, uint32_t tag, uint64_t age_ns);

    // The driver has answered RESOURCE to every request for `stalled_ns`
    // (longer than the timeout) with none in flight: it takes no work and
    // none will complete. Called by the block watchdog thread. The default
    // logs it; isolated ports fail the driver.
    virtual void queue_stalled(Disk& disk, uint64_t stalled_ns);

    // A request the driver held has ended (called by the request queue, from
    // the completing thread, before the submitter is woken). For taps.
    virtual void completed(Disk& disk, BlockRequest& request, int status) { }
};

} // namespace nk
