// SPDX-License-Identifier: MIT
#include "nooks/wrappers/IsolatedBlockPort.h"

#include "classes/block/Disk.h"
#include "classes/block/NativeBlockPort.h"
#include "nooks/module/IsolatedModule.h"

#include <vector>

namespace nk {

Result<std::unique_ptr<IsolatedBlockPort>> IsolatedBlockPort::create(IsolatedModule& module, Functions functions, uint32_t depth)
{
    auto* slots = TRY(module.memory().allocate_readonly(sizeof(nk_blk_request) * depth, 64));
    return std::unique_ptr<IsolatedBlockPort>(new IsolatedBlockPort(module, functions, static_cast<nk_blk_request*>(slots), depth));
}

Result<int> IsolatedBlockPort::open(Disk&)
{
    if (m_functions.open == 0)
        return 0;
    auto reply = TRY(m_module.call(CrossingScope::Kind::Process, abi::DriverEntry::blk_open, { m_functions.open, TRY(registered_handle("open")) }));
    if (!IsolatedModule::is_errno_result(reply.result)) {
        m_module.fail({ .cause = FailureCause::Rejection, .module = m_module.name(), .message = fmt::format("open returned {}", reply.result) });
        return make_error(ErrorCode::DriverFailed, "open returned garbage");
    }
    return static_cast<int>(reply.result);
}

Result<void> IsolatedBlockPort::release(Disk&)
{
    if (m_functions.release == 0)
        return {};
    TRY(m_module.call(CrossingScope::Kind::Process, abi::DriverEntry::blk_release, { m_functions.release, TRY(registered_handle("release")) }));
    return {};
}

Result<int> IsolatedBlockPort::ioctl(Disk&, uint32_t cmd, uint64_t arg)
{
    if (m_functions.ioctl == 0)
        return -ENOTTY;
    auto reply = TRY(m_module.call(CrossingScope::Kind::Process, abi::DriverEntry::blk_ioctl, { m_functions.ioctl, TRY(registered_handle("ioctl")), cmd, arg }));
    // Any non-negative value is a result; a negative one must be an errno.
    if (reply.result < -4095 || reply.result > INT32_MAX) {
        m_module.fail({ .cause = FailureCause::Rejection, .module = m_module.name(), .message = fmt::format("ioctl returned {}", reply.result) });
        return make_error(ErrorCode::DriverFailed, "ioctl returned garbage");
    }
    return static_cast<int>(reply.result);
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
    if (status == NK_BLK_STS_OK || status == NK_BLK_STS_IOERR || status == NK_BLK_STS_RESOURCE || status == NK_BLK_STS_NOTSUPP)
        return static_cast<int>(status);
    m_module.fail({ .cause = FailureCause::Rejection, .module = m_module.name(),
        .message = fmt::format("queue_rq returned {} (not an nk_blk_status)", status) });
    return make_error(ErrorCode::DriverFailed, "queue_rq returned garbage");
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
    std::vector<uint64_t> sequences(batch.size() - 1);
    for (size_t i = 0; i < batch.size(); ++i) {
        auto& slot = m_slots[batch[i]->tag];
        slot = to_driver_request(*batch[i]);
        uint64_t words[] = { m_functions.queue_rq, *handle, reinterpret_cast<uint64_t>(&slot), i + 1 == batch.size() ? 1u : 0u };
        if (i + 1 < batch.size()) {
            sequences[i] = TRY(xpc.defer(abi::DriverEntry::blk_queue_rq, words));
            continue;
        }
        // The synchronous call runs the deferred ones first, in order.
        auto reply = TRY(xpc.call(abi::DriverEntry::blk_queue_rq, words));
        statuses[i] = TRY(checked_status(reply.result));
    }
    bool took_some = false;
    for (size_t i = 0; i + 1 < batch.size(); ++i) {
        auto result = TRY(xpc.collect(sequences[i]));
        statuses[i] = TRY(checked_status(result));
        took_some = took_some || statuses[i] == NK_BLK_STS_OK;
    }
    // The last request was refused for now, so its doorbell was not rung for the rest.
    if (statuses[batch.size() - 1] == NK_BLK_STS_RESOURCE && took_some && m_functions.commit_rqs != 0)
        TRY(xpc.call(abi::DriverEntry::blk_commit_rqs, std::initializer_list<uint64_t> { m_functions.commit_rqs, *handle }));
    return batch.size();
}

} // namespace nk
