// SPDX-License-Identifier: MIT
#include "nooks/wrappers/block/IsolatedBlockPort.h"

#include "classes/block/Disk.h"
#include "classes/block/NativeBlockPort.h"
#include "nooks/module/IsolatedModule.h"

#include <array>
#include <span>
#include <vector>

namespace nk {

Result<int> IsolatedBlockPort::open(Disk&)
{
    if (m_functions.open == 0)
        return 0;
    auto handle = TRY(registered_handle("open"));
    auto reply = TRY(m_module.call<abi::DriverEntry::blk_open>(CrossingScope::Kind::Process, { m_functions.open, handle }));
    return reply.verify_errno();
}

Result<void> IsolatedBlockPort::release(Disk&)
{
    if (m_functions.release == 0)
        return {};
    auto handle = TRY(registered_handle("release"));
    TRY(m_module.call<abi::DriverEntry::blk_release>(CrossingScope::Kind::Process, { m_functions.release, handle }));
    return {};
}

Result<int> IsolatedBlockPort::ioctl(Disk&, uint32_t cmd, uint64_t arg)
{
    if (m_functions.ioctl == 0)
        return -ENOTTY;
    auto handle = TRY(registered_handle("ioctl"));
    auto reply = TRY(m_module.call<abi::DriverEntry::blk_ioctl>(CrossingScope::Kind::Process, { m_functions.ioctl, handle, cmd, 0, arg }));
    // Any non-negative value is a result; a negative one must be an errno.
    auto result = TRY(reply.verify([](int64_t v) { return v >= -4095 && v <= INT32_MAX; }, "not a result or a negative errno"));
    return static_cast<int>(result);
}

void IsolatedBlockPort::queue_stalled(Disk& disk, uint64_t stalled_ns)
{
    m_module.fail({ .cause = FailureCause::Livelock, .module = m_module.name(),
        .message = fmt::format("the driver refused every request on {} for {} ms with none in flight", disk.name(), stalled_ns / 1'000'000) });
}

void IsolatedBlockPort::request_timed_out(Disk& disk, uint32_t tag, uint64_t age_ns)
{
    m_module.fail({ .cause = FailureCause::Livelock, .module = m_module.name(),
        .message = fmt::format("request {} on {} did not complete within {} ms (a lost completion)", tag, disk.name(), age_ns / 1'000'000) });
}

Result<uint64_t> IsolatedBlockPort::registered_handle(char const* operation) const
{
    auto handle = m_disk.load(std::memory_order_acquire);
    if (handle == 0 || !m_ready.load(std::memory_order_acquire))
        return make_error(ErrorCode::Unavailable, "{}: the disk is still being registered by {}", operation, m_module.name());
    return handle;
}

Result<int> IsolatedBlockPort::checked_status(int64_t status)
{
    auto checked = TRY(m_module.taint(status, "blk_queue_rq")
            .verify_one_of({ NK_BLK_STS_OK, NK_BLK_STS_IOERR, NK_BLK_STS_RESOURCE, NK_BLK_STS_NOTSUPP }, "not an nk_blk_status"));
    return static_cast<int>(checked);
}

Result<size_t> IsolatedBlockPort::queue_rqs(Disk&, std::span<BlockRequest* const> batch, std::span<int> statuses)
{
    if (batch.empty())
        return 0;
    auto handle = registered_handle("queue_rq");
    if (!handle) {
        // Registered a moment ago; the driver does not know the disk yet: the block layer retries shortly.
        std::ranges::fill(statuses.first(batch.size()), NK_BLK_STS_RESOURCE);
        return 0;
    }
    auto active = TRY(m_module.enter());
    CrossingScope crossing(m_module, CrossingScope::Kind::Atomic);
    auto& xpc = m_module.xpc();
    // One crossing for the batch (see XpcEndpoint: the doorbell writes come back in order).
    // Small batches (the common case) need no allocation.
    std::array<abi::BlkQueueRqArgs, 16> inline_args;
    std::array<int64_t, 16> inline_results;
    std::vector<abi::BlkQueueRqArgs> more_args;
    std::vector<int64_t> more_results;
    std::span<abi::BlkQueueRqArgs> args(inline_args.data(), std::min(batch.size(), inline_args.size()));
    std::span<int64_t> results(inline_results.data(), args.size());
    if (batch.size() > inline_args.size()) {
        more_args.resize(batch.size());
        more_results.resize(batch.size());
        args = more_args;
        results = more_results;
    }
    for (size_t i = 0; i < batch.size(); ++i)
        args[i] = { m_functions.queue_rq, *handle, to_driver_request(*batch[i]), i + 1 == batch.size() ? 1u : 0u, 0 };
    TRY(xpc.call_batch<abi::DriverEntry::blk_queue_rq>(std::span<abi::BlkQueueRqArgs const>(args), results));
    bool took_some = false;
    for (size_t i = 0; i < batch.size(); ++i) {
        statuses[i] = TRY(checked_status(results[i]));
        took_some = took_some || (i + 1 < batch.size() && statuses[i] == NK_BLK_STS_OK);
    }
    // The last request was refused for now, so its doorbell was not rung for the rest.
    if (statuses[batch.size() - 1] == NK_BLK_STS_RESOURCE && took_some && m_functions.commit_rqs != 0)
        TRY(xpc.call<abi::DriverEntry::blk_commit_rqs>({ m_functions.commit_rqs, *handle }));
    return batch.size();
}

} // namespace nk
