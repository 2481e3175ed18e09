// SPDX-License-Identifier: MIT
// Kernel wrappers: the block class.

#include "nooks/wrappers/KernelWrappers.h"

#include "classes/block/Disk.h"
#include "kernel/Kernel.h"
#include "nooks/abi/Wire.h"
#include "nooks/module/IsolatedModule.h"
#include "nooks/wrappers/IsolatedBlockPort.h"

#include <cstring>

namespace nk {

Result<XpcReply> KernelWrappers::blk_register_disk(IncomingCall const& call, ReplyPayload&)
{
    TRY(check_quota(call));
    auto* dev = TRY(device(call, 0, "dev"));
    abi::WireDiskParams wire;
    if (call.payload.size() != sizeof(wire))
        return NK_REJECT(call, "params: malformed ({} bytes)", call.payload.size());
    std::memcpy(&wire, call.payload.data(), sizeof(wire));
    if (strnlen(wire.name, sizeof(wire.name)) == sizeof(wire.name))
        return NK_REJECT(call, "params->name: not terminated");
    IsolatedBlockPort::Functions functions { call.words[1], call.words[2], call.words[3], call.words[4], call.words[5] };
    if (functions.queue_rq == 0)
        return NK_REJECT(call, "ops->queue_rq: missing");
    nk_blk_disk_params params {};
    params.name = wire.name;
    params.capacity_sectors = wire.capacity_sectors;
    params.logical_block_size = wire.logical_block_size;
    params.max_sectors = wire.max_sectors;
    params.queue_depth = wire.queue_depth;
    params.features = wire.features;
    // The geometry checks are the block class's own (the native path runs them too).
    auto geometry = DiskGeometry::from_params(params);
    if (!geometry)
        return NK_REJECT(call, "{}", geometry.error().message());
    auto port = TRY(IsolatedBlockPort::create(m_module, functions, geometry->queue_depth));
    auto* port_raw = port.get();
    auto& block = m_module.kernel().block();
    auto disk = block.register_disk(m_module, dev, params, std::move(port), nullptr);
    if (!disk)
        return XpcReply { -disk.error().to_errno(), 0 };
    auto* raw = disk->get();
    auto& module = m_module;
    // Released with a failed driver: the block class (or its shadow) decides the disk's fate.
    auto handle = m_module.tracker().add(ObjectType::Disk, Lifetime::Explicit, raw, 0,
        fmt::format("disk {} ({} sectors)", raw->name(), raw->geometry().capacity_sectors),
        [&block, raw, &module] { block.release_disk(*raw, module); });
    port_raw->set_disk_handle(handle);
    {
        std::scoped_lock lock(m_unready_mutex);
        m_unready[handle] = port_raw;
    }
    return XpcReply { 0, handle };
}

Result<XpcReply> KernelWrappers::blk_unregister_disk(IncomingCall const& call, ReplyPayload&)
{
    auto ref = TRY(m_module.tracker().lookup(call.words[0], ObjectType::Disk, "nk_blk_unregister_disk", "disk"));
    (void)m_module.tracker().remove(call.words[0]);
    (void)m_module.kernel().block().unregister_disk(*static_cast<Disk*>(ref.object));
    return XpcReply {};
}

Result<XpcReply> KernelWrappers::blk_end_request(IncomingCall const& call, ReplyPayload&)
{
    auto ref = TRY(m_module.tracker().lookup(call.words[0], ObjectType::Disk, "nk_blk_end_request", "disk"));
    auto tag = call.words[1];
    auto status = static_cast<int64_t>(call.words[2]);
    if (status != NK_BLK_STS_OK && status != NK_BLK_STS_IOERR && status != NK_BLK_STS_NOTSUPP)
        return NK_REJECT(call, "status {}: not a completion status", status);
    auto& disk = *static_cast<Disk*>(ref.object);
    if (tag > UINT32_MAX || !disk.queue().end_request(static_cast<uint32_t>(tag), static_cast<int>(status)))
        return NK_REJECT(call, "tag {}: not a request this driver holds on {}", tag, disk.name());
    return XpcReply {};
}

Result<XpcReply> KernelWrappers::blk_disk_ready(IncomingCall const& call, ReplyPayload&)
{
    // A disk this driver holds, and one it has not said it knows yet.
    TRY(m_module.tracker().lookup(call.words[0], ObjectType::Disk, "nk_blk_register_disk (ready)", "disk"));
    IsolatedBlockPort* port = nullptr;
    {
        std::scoped_lock lock(m_unready_mutex);
        if (auto it = m_unready.find(call.words[0]); it != m_unready.end()) {
            port = it->second;
            m_unready.erase(it);
        }
    }
    if (port == nullptr)
        return NK_REJECT(call, "disk {:#x}: not a disk waiting to be ready", call.words[0]);
    port->mark_ready();
    // Requests held meanwhile were answered RESOURCE: dispatch them (not from
    // this thread, which is in the middle of the domain's message).
    m_module.kernel().block().request_rerun(BlockLayer::Rerun::AtOnce);
    return XpcReply {};
}

Result<XpcReply> KernelWrappers::blk_run_queue(IncomingCall const& call, ReplyPayload&)
{
    auto ref = TRY(m_module.tracker().lookup(call.words[0], ObjectType::Disk, "nk_blk_run_queue", "disk"));
    static_cast<Disk*>(ref.object)->queue().run();
    return XpcReply {};
}

} // namespace nk
