// SPDX-License-Identifier: MIT
// The kernel API inside a protection domain (block class): each stub fills its
// call's arguments struct (src/abi/block/Calls.h) and crosses.

#include "nooks/runtime/Runtime.h"

#include <nooks/block.h>

#include <cstring>

using nk::abi::KernelCall;
using nk::runtime::Runtime;

namespace {

uint64_t value(void const* pointer) { return reinterpret_cast<uint64_t>(pointer); }
uint64_t function(void const* pointer) { return Runtime::the().function_handle(pointer); }

} // namespace

extern "C" {

int nk_blk_register_disk(nk_device* dev, nk_blk_disk_params const* params, nk_blk_ops const* ops, void* private_data,
    nk_disk** out)
{
    auto& runtime = Runtime::the();
    nk::abi::BlkRegisterDiskArgs args {};
    args.dev = value(dev);
    std::strncpy(args.params.name, params->name != nullptr ? params->name : "", sizeof(args.params.name) - 1);
    args.params.capacity_sectors = params->capacity_sectors;
    args.params.logical_block_size = params->logical_block_size;
    args.params.max_sectors = params->max_sectors;
    args.params.queue_depth = params->queue_depth;
    args.params.features = params->features;
    args.ops = { function(reinterpret_cast<void const*>(ops->open)), function(reinterpret_cast<void const*>(ops->release)),
        function(reinterpret_cast<void const*>(ops->ioctl)), function(reinterpret_cast<void const*>(ops->queue_rq)),
        function(reinterpret_cast<void const*>(ops->commit_rqs)) };
    // The private pointer stays here: nk_blk_disk_private() is answered without crossing.
    auto reply = runtime.call<KernelCall::blk_register_disk>(args);
    if (reply.result == 0) {
        runtime.remember(reply.word, private_data);
        *out = reinterpret_cast<nk_disk*>(reply.word);
        // The kernel holds requests for the disk until it hears this (with the
        // driver's next message): the driver then knows its disk by the handle,
        // as it would the moment a native nk_blk_register_disk returns.
        runtime.defer<KernelCall::blk_disk_ready>({ reply.word });
    }
    return static_cast<int>(reply.result);
}

void nk_blk_unregister_disk(nk_disk* disk)
{
    Runtime::the().call<KernelCall::blk_unregister_disk>({ value(disk) });
    Runtime::the().forget(value(disk));
}

void* nk_blk_disk_private(nk_disk* disk) { return Runtime::the().recall(value(disk)); }

void nk_blk_end_request(nk_disk* disk, uint32_t tag, int status) { Runtime::the().defer<KernelCall::blk_end_request>({ value(disk), tag, status }); }

void nk_blk_run_queue(nk_disk* disk) { Runtime::the().defer<KernelCall::blk_run_queue>({ value(disk) }); }

} // extern "C"
