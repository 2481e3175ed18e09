// SPDX-License-Identifier: MIT
// Kernel wrappers: the bodies of the block class's calls.

#include "nooks/wrappers/block/BlockWrappers.h"

#include "classes/block/BlockLayer.h"
#include "classes/block/Disk.h"
#include "kernel/Kernel.h"
#include "nooks/module/IsolatedModule.h"
#include "nooks/wrappers/block/IsolatedBlockPort.h"

namespace nk {

std::unique_ptr<ClassWrappers> make_block_wrappers(IsolatedModule& module) { return std::make_unique<BlockWrappers>(module); }

BlockWrappers::BlockWrappers(IsolatedModule& module)
    : ClassWrappers(module)
    , m_block(module.kernel().driver_class<BlockLayer>())
{
    name_object_type(disk_object, "disk");
}

Result<XpcReply> BlockWrappers::handle(IncomingCall const& call, ReplyPayload& reply)
{
    switch (call.id) {
#define NK_X(cls, name, delivery, Args) \
    case abi::KernelCall::name: return name(call, TRY(decode<abi::Args>(call)), reply);
        NOOKS_BLOCK_KERNEL_CALLS(NK_X)
#undef NK_X
    default: break;
    }
    return NK_REJECT(call, "not a block call");
}

Result<XpcReply> BlockWrappers::blk_register_disk(IncomingCall const& call, abi::BlkRegisterDiskArgs const& args, ReplyPayload&)
{
    TRY(check_quota(call));
    BusDevice* dev = args.dev != 0 ? TRY(device(call, args.dev, "dev")) : nullptr;
    auto disk_name = TRY(name(call, args.params.name, "params->name"));
    if (args.ops.queue_rq == 0)
        return NK_REJECT(call, "ops->queue_rq: missing");
    nk_blk_disk_params params {};
    params.name = disk_name.c_str();
    params.capacity_sectors = args.params.capacity_sectors;
    params.logical_block_size = args.params.logical_block_size;
    params.max_sectors = args.params.max_sectors;
    params.queue_depth = args.params.queue_depth;
    params.features = args.params.features;
    // The geometry checks are the block class's own (the native path runs them too).
    if (auto geometry = DiskGeometry::from_params(params); !geometry)
        return NK_REJECT(call, "{}", geometry.error().message());
    if (m_block == nullptr)
        return XpcReply { -ENODEV, 0 }; // a kernel with no block class
    auto port = std::make_unique<IsolatedBlockPort>(m_module, args.ops);
    auto* port_raw = port.get();
    auto& block = *m_block;
    auto disk = block.register_disk(m_module, dev, params, std::move(port), nullptr);
    if (!disk)
        return XpcReply { -disk.error().to_errno(), 0 };
    auto* raw = disk->get();
    auto& module = m_module;
    // Released with a failed driver: the block class (or its shadow) decides the disk's fate.
    auto handle = m_module.tracker().add({ .type = disk_object, .lifetime = Lifetime::Explicit, .object = raw,
                                             .description = fmt::format("disk {} ({} sectors)", raw->name(), raw->geometry().capacity_sectors) },
        [&block, raw, &module] { block.release_disk(*raw, module); });
    port_raw->set_disk_handle(handle);
    {
        MutexLocker lock(m_unready_mutex);
        m_unready[handle] = port_raw;
    }
    return XpcReply { 0, handle };
}

Result<XpcReply> BlockWrappers::blk_unregister_disk(IncomingCall const& call, abi::BlkDiskArgs const& args, ReplyPayload&)
{
    auto ref = TRY(m_module.tracker().lookup(args.disk, disk_object, abi::name_of(call.id), "disk"));
    (void)m_module.tracker().remove(args.disk);
    {
        MutexLocker lock(m_unready_mutex);
        m_unready.erase(args.disk);
    }
    // A disk handle exists only where a block class made the disk.
    (void)m_block->unregister_disk(*static_cast<Disk*>(ref.object));
    return XpcReply {};
}

Result<XpcReply> BlockWrappers::blk_end_request(IncomingCall const& call, abi::BlkEndRequestArgs const& args, ReplyPayload&)
{
    auto ref = TRY(m_module.tracker().lookup(args.disk, disk_object, abi::name_of(call.id), "disk"));
    if (args.status != NK_BLK_STS_OK && args.status != NK_BLK_STS_IOERR && args.status != NK_BLK_STS_NOTSUPP)
        return NK_REJECT(call, "status {}: not a completion status", args.status);
    auto& disk = *static_cast<Disk*>(ref.object);
    if (!disk.queue().end_request(args.tag, args.status))
        return NK_REJECT(call, "tag {}: not a request this driver holds on {}", args.tag, disk.name());
    return XpcReply {};
}

Result<XpcReply> BlockWrappers::blk_disk_ready(IncomingCall const& call, abi::BlkDiskArgs const& args, ReplyPayload&)
{
    // A disk this driver holds, and one it has not said it knows yet.
    TRY(m_module.tracker().lookup(args.disk, disk_object, abi::name_of(call.id), "disk"));
    IsolatedBlockPort* port = nullptr;
    {
        MutexLocker lock(m_unready_mutex);
        if (auto it = m_unready.find(args.disk); it != m_unready.end()) {
            port = it->second;
            m_unready.erase(it);
        }
    }
    if (port == nullptr)
        return NK_REJECT(call, "disk {:#x}: not a disk waiting to be ready", args.disk);
    port->mark_ready();
    // Requests held meanwhile were answered RESOURCE: dispatch them (not from
    // this thread, which is in the middle of the domain's message).
    m_block->request_rerun(BlockLayer::Rerun::AtOnce);
    return XpcReply {};
}

Result<XpcReply> BlockWrappers::blk_run_queue(IncomingCall const& call, abi::BlkDiskArgs const& args, ReplyPayload&)
{
    auto ref = TRY(m_module.tracker().lookup(args.disk, disk_object, abi::name_of(call.id), "disk"));
    static_cast<Disk*>(ref.object)->queue().run();
    return XpcReply {};
}

} // namespace nk
