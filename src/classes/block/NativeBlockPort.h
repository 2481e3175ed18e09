// SPDX-License-Identifier: MIT
#pragma once

// Native-mode block port: calls the driver's nk_blk_ops directly. One
// CrossingScope covers a whole batch, so device work started by the batch's
// doorbell runs once, after the batch.

#include "classes/block/BlockDriverPort.h"

#include <nooks/block.h>

namespace nk {

class Module;

class NativeBlockPort final : public BlockDriverPort {
public:
    NativeBlockPort(Module& owner, nk_blk_ops const& ops)
        : m_owner(owner)
        , m_ops(ops)
    {
    }

    Result<int> open(Disk& disk) override;
    Result<void> release(Disk& disk) override;
    Result<int> ioctl(Disk& disk, uint32_t cmd, uint64_t arg) override;
    Result<size_t> queue_rqs(Disk& disk, std::span<BlockRequest* const> batch, std::span<int> statuses) override;

private:
    Module& m_owner;
    nk_blk_ops const& m_ops;
};

// The driver's view of a request (a copy, as the ABI promises).
nk_blk_request to_driver_request(BlockRequest const& request);

} // namespace nk
