// SPDX-License-Identifier: MIT
// Entry thunks of the block class (src/abi/block/Calls.h).

#include "nooks/runtime/Entries.h"
#include "nooks/runtime/Runtime.h"

#include <nooks/block.h>

namespace nk::runtime {

EntryView view_block_entry(abi::DriverEntry entry, void const* args)
{
    if (entry == abi::DriverEntry::blk_queue_rq) {
        auto const& a = args_as<abi::BlkQueueRqArgs>(args);
        return { Runtime::the().recall(a.disk), a.request.sector };
    }
    if (entry == abi::DriverEntry::blk_ioctl)
        return { Runtime::the().recall(args_as<abi::BlkIoctlArgs>(args).disk), {} };
    return { Runtime::the().recall(args_as<abi::BlkOpArgs>(args).disk), {} };
}

int64_t run_block_entry(abi::DriverEntry entry, void const* args)
{
    switch (entry) {
    case abi::DriverEntry::blk_open: {
        auto const& a = args_as<abi::BlkOpArgs>(args);
        return resolve<int (*)(nk_disk*)>(a.fn, "bad open handle")(reinterpret_cast<nk_disk*>(a.disk));
    }
    case abi::DriverEntry::blk_release: {
        auto const& a = args_as<abi::BlkOpArgs>(args);
        resolve<void (*)(nk_disk*)>(a.fn, "bad release handle")(reinterpret_cast<nk_disk*>(a.disk));
        return 0;
    }
    case abi::DriverEntry::blk_ioctl: {
        auto const& a = args_as<abi::BlkIoctlArgs>(args);
        return resolve<int (*)(nk_disk*, uint32_t, uint64_t)>(a.fn, "bad ioctl handle")(reinterpret_cast<nk_disk*>(a.disk), a.cmd, a.arg);
    }
    case abi::DriverEntry::blk_queue_rq: {
        auto const& a = args_as<abi::BlkQueueRqArgs>(args);
        AtomicSection atomic;
        // The request is the copy in the kernel area: read-only here.
        return resolve<int (*)(nk_disk*, nk_blk_request const*, bool)>(a.fn, "bad queue_rq handle")(reinterpret_cast<nk_disk*>(a.disk),
            &a.request, a.last != 0);
    }
    case abi::DriverEntry::blk_commit_rqs: {
        auto const& a = args_as<abi::BlkOpArgs>(args);
        AtomicSection atomic;
        resolve<void (*)(nk_disk*)>(a.fn, "bad commit_rqs handle")(reinterpret_cast<nk_disk*>(a.disk));
        return 0;
    }
    default:
        break;
    }
    Runtime::the().die(abi::FaultKind::RuntimeError, "not a block entry point");
}

} // namespace nk::runtime
