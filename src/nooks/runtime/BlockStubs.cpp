// SPDX-License-Identifier: MIT
// The kernel API inside a protection domain (block class).

#include "nooks/abi/Wire.h"
#include "nooks/runtime/Runtime.h"

#include <nooks/block.h>

#include <cstring>

using nk::abi::KernelCall;
using nk::runtime::Runtime;

extern "C" {

int nk_blk_register_disk(nk_device* dev, nk_blk_disk_params const* params, nk_blk_ops const* ops, void* private_data,
    nk_disk** out)
{
    auto& runtime = Runtime::the();
    nk::abi::WireDiskParams wire {};
    std::strncpy(wire.name, params->name != nullptr ? params->name : "", sizeof(wire.name) - 1);
    wire.capacity_sectors = params->capacity_sectors;
    wire.logical_block_size = params->logical_block_size;
    wire.max_sectors = params->max_sectors;
    wire.queue_depth = params->queue_depth;
    wire.features = params->features;
    auto function = [&](auto pointer) { return runtime.function_handle(reinterpret_cast<void const*>(pointer)); };
    // The private pointer stays here: nk_blk_disk_private() is answered without crossing.
    auto reply = runtime.call(KernelCall::blk_register_disk,
        { reinterpret_cast<uint64_t>(dev), function(ops->open), function(ops->release), function(ops->ioctl), function(ops->queue_rq),
            function(ops->commit_rqs) },
        { reinterpret_cast<std::byte const*>(&wire), sizeof(wire) });
    if (reply.result == 0) {
        runtime.remember(reply.word, private_data);
        *out = reinterpret_cast<nk_disk*>(reply.word);
        // The kernel holds requests for the disk until it hears this (with the
        // driver's next message): the driver then knows its disk by the handle,
        // as it would the moment a native nk_blk_register_disk returns.
        runtime.defer(KernelCall::blk_disk_ready, reply.word, 0, 0);
    }
    return static_cast<int>(reply.result);
}

void nk_blk_unregister_disk(nk_disk* disk)
{
    Runtime::the().call(KernelCall::blk_unregister_disk, { reinterpret_cast<uint64_t>(disk) });
    Runtime::the().forget(reinterpret_cast<uint64_t>(disk));
}

void* nk_blk_disk_private(nk_disk* disk) { return Runtime::the().recall(reinterpret_cast<uint64_t>(disk)); }

void nk_blk_end_request(nk_disk* disk, uint32_t tag, int status)
{
    Runtime::the().defer(KernelCall::blk_end_request, reinterpret_cast<uint64_t>(disk), tag, static_cast<uint64_t>(static_cast<int64_t>(status)));
}

void nk_blk_run_queue(nk_disk* disk) { Runtime::the().defer(KernelCall::blk_run_queue, reinterpret_cast<uint64_t>(disk), 0, 0); }

} // extern "C"
