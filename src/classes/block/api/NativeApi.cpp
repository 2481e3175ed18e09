// SPDX-License-Identifier: MIT
// The kernel API (block class), native mode.

#include "classes/block/api/NativeApi.h"

#include "base/Log.h"
#include "classes/block/BlockLayer.h"
#include "classes/block/NativeBlockPort.h"
#include "kernel/Kernel.h"
#include "kernel/api/DriverMisuse.h"
#include "kernel/api/NativeApi.h"

#include <nooks/block.h>

using namespace nk;
using nk::native_api::caller;
using nk::native_api::caller_kernel;

extern "C" {

int nk_blk_register_disk(nk_device* dev, nk_blk_disk_params const* params, nk_blk_ops const* ops, void* private_data,
    nk_disk** out)
{
    auto* kernel = caller_kernel(__func__);
    if (kernel == nullptr || params == nullptr || ops == nullptr || ops->queue_rq == nullptr || out == nullptr)
        return -EINVAL;
    auto* block = kernel->driver_class<BlockLayer>();
    if (block == nullptr)
        return -ENODEV; // a kernel with no block class
    auto* device = dev != nullptr ? &BusDevice::from_handle(dev) : nullptr;
    auto disk = block->register_disk(*caller(), device, *params, std::make_unique<NativeBlockPort>(*caller(), *ops),
        private_data);
    if (!disk) {
        log::get(caller()->name())->error("{}", disk.error());
        return -disk.error().to_errno();
    }
    *out = (*disk)->handle();
    return 0;
}

void nk_blk_unregister_disk(nk_disk* disk)
{
    auto* kernel = caller_kernel(__func__);
    auto* block = kernel != nullptr ? kernel->driver_class<BlockLayer>() : nullptr;
    if (block != nullptr && disk != nullptr)
        (void)block->unregister_disk(Disk::from_handle(disk));
}

void* nk_blk_disk_private(nk_disk* disk) { return Disk::from_handle(disk).private_data(); }

void nk_blk_end_request(nk_disk* disk, uint32_t tag, int status)
{
    auto& target = Disk::from_handle(disk);
    if (!target.alive())
        return; // unregistered: its requests were already failed
    if (auto ended = target.queue().end_request(tag, status); !ended)
        report_driver_misuse(__func__, ended.error().message().c_str());
}

void nk_blk_run_queue(nk_disk* disk) { Disk::from_handle(disk).queue().run(); }

} // extern "C"

namespace nk {

// `used`: kept with its relocations even though only its size is read.
[[gnu::used]] static void const* const block_symbols[] = {
    reinterpret_cast<void const*>(&nk_blk_disk_private),
    reinterpret_cast<void const*>(&nk_blk_end_request),
    reinterpret_cast<void const*>(&nk_blk_register_disk),
    reinterpret_cast<void const*>(&nk_blk_run_queue),
    reinterpret_cast<void const*>(&nk_blk_unregister_disk),
};

size_t block_api_symbol_count()
{
    size_t count = 0;
    for (auto const* symbol : block_symbols)
        count += symbol != nullptr ? 1 : 0;
    return count;
}

} // namespace nk
