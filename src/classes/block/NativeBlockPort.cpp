// SPDX-License-Identifier: MIT
#include "classes/block/NativeBlockPort.h"

#include "classes/block/Disk.h"
#include "kernel/exec/Context.h"
#include "kernel/native/NativeModule.h"

namespace nk {

nk_blk_request to_driver_request(BlockRequest const& request)
{
    nk_blk_request out {};
    out.tag = request.tag;
    out.op = static_cast<uint8_t>(request.op);
    out.flags = request.fua ? NK_BLK_FUA : 0;
    out.sector = request.sector;
    out.nr_sectors = request.op == BlockOp::Flush ? 0 : request.nr_sectors;
    out.dma_addr = request.dma_addr;
    out.len = request.op == BlockOp::Flush ? 0 : request.bytes();
    return out;
}

Result<int> NativeBlockPort::open(Disk& disk)
{
    if (m_ops.open == nullptr)
        return 0;
    CrossingScope crossing(m_owner, CrossingScope::Kind::Process);
    if (native_inject(m_owner, abi::DriverEntry::blk_open, disk.private_data()))
        return 0;
    return m_ops.open(disk.handle());
}

Result<void> NativeBlockPort::release(Disk& disk)
{
    if (m_ops.release == nullptr)
        return {};
    CrossingScope crossing(m_owner, CrossingScope::Kind::Process);
    if (native_inject(m_owner, abi::DriverEntry::blk_release, disk.private_data()))
        return {};
    m_ops.release(disk.handle());
    return {};
}

Result<int> NativeBlockPort::ioctl(Disk& disk, uint32_t cmd, uint64_t arg)
{
    if (m_ops.ioctl == nullptr)
        return -ENOTTY;
    CrossingScope crossing(m_owner, CrossingScope::Kind::Process);
    if (native_inject(m_owner, abi::DriverEntry::blk_ioctl, disk.private_data()))
        return 0;
    return m_ops.ioctl(disk.handle(), cmd, arg);
}

Result<size_t> NativeBlockPort::queue_rqs(Disk& disk, std::span<BlockRequest* const> batch, std::span<int> statuses)
{
    // queue_rq may not sleep: run it as atomic so a sleeping call is caught.
    CrossingScope crossing(m_owner, CrossingScope::Kind::Atomic);
    for (size_t i = 0; i < batch.size(); ++i) {
        auto copy = to_driver_request(*batch[i]);
        bool last = i + 1 == batch.size();
        if (native_inject(m_owner, abi::DriverEntry::blk_queue_rq, disk.private_data(), batch[i]->sector)) {
            statuses[i] = NK_BLK_STS_OK; // "taken", never to complete: what a skipped queue_rq means
            continue;
        }
        statuses[i] = m_ops.queue_rq(disk.handle(), &copy, last);
        if (statuses[i] == NK_BLK_STS_RESOURCE) {
            if (i > 0 && m_ops.commit_rqs != nullptr)
                m_ops.commit_rqs(disk.handle());
            return i + 1;
        }
    }
    return batch.size();
}

} // namespace nk
