// SPDX-License-Identifier: MIT
// Entry thunks: one per kernel -> driver entry in abi/Interface.h, each calling
// the driver function its handle names with that entry's C signature.

#include "nooks/runtime/Entries.h"

#include "kernel/exec/Context.h"
#include "nooks/runtime/Runtime.h"
#include "tools/inject/Fault.h"

#include <nooks/block.h>

namespace nk::runtime {

namespace {

template<typename Function>
Function resolve(uint64_t handle, char const* what)
{
    auto* function = Runtime::the().function(handle);
    if (function == nullptr)
        Runtime::the().die(abi::FaultKind::RuntimeError, what);
    return reinterpret_cast<Function>(function);
}

// Interrupt handlers, timer callbacks and queue_rq run atomic: sleeping there is a driver bug.
struct AtomicSection {
    AtomicSection() { current_context().atomic_depth++; }
    ~AtomicSection() { current_context().atomic_depth--; }
};

inject::Injector injector;

// The driver data an entry call is about: what wild-write-own scribbles on.
void* own_data(abi::DriverEntry entry, uint64_t const* w)
{
    switch (entry) {
    case abi::DriverEntry::irq_handler: return reinterpret_cast<void*>(w[2]);
    case abi::DriverEntry::timer_fn:
    case abi::DriverEntry::work_fn: return reinterpret_cast<void*>(w[1]);
    case abi::DriverEntry::bus_remove:
    case abi::DriverEntry::blk_open:
    case abi::DriverEntry::blk_release:
    case abi::DriverEntry::blk_ioctl:
    case abi::DriverEntry::blk_queue_rq:
    case abi::DriverEntry::blk_commit_rqs: return Runtime::the().recall(w[1]);
    default: return nullptr;
    }
}

} // namespace

void arm_injection(uint32_t fault, uint32_t entry, uint32_t after, uint64_t sector, bool repeat)
{
    if (fault >= static_cast<uint32_t>(inject::Fault::Count)) {
        injector.disarm();
        return;
    }
    inject::Trigger trigger;
    if (entry < abi::driver_entry_count)
        trigger.entry = static_cast<abi::DriverEntry>(entry);
    trigger.after = after;
    if (sector != ~0ull)
        trigger.sector = sector;
    trigger.repeat = repeat;
    injector.arm(static_cast<inject::Fault>(fault), trigger);
}

int64_t run_entry(abi::DriverEntry entry, uint64_t const* w, uint64_t& word)
{
    auto& runtime = Runtime::the();
    word = 0;
    std::optional<uint64_t> sector;
    if (entry == abi::DriverEntry::blk_queue_rq && w[2] != 0)
        sector = reinterpret_cast<nk_blk_request const*>(w[2])->sector;
    if (auto fault = injector.check(entry, sector)) {
        // The kernel area is mapped read-only here: the wild write's target.
        inject::Target target { own_data(entry, w), const_cast<abi::Bootstrap*>(&runtime.bootstrap()) };
        inject::perform(*fault, target);
        if (inject::skips_call(*fault))
            return 0;
    }
    switch (entry) {
    case abi::DriverEntry::null:
    case abi::DriverEntry::flush:
        return 0;
    case abi::DriverEntry::inject:
        arm_injection(static_cast<uint32_t>(std::min<uint64_t>(w[0], 0xff)), static_cast<uint32_t>(std::min<uint64_t>(w[1], 0xffff)),
            static_cast<uint32_t>(w[2]), w[3], w[4] != 0);
        return 0;
    case abi::DriverEntry::module_init:
        return runtime.module()->init();
    case abi::DriverEntry::module_exit:
        if (runtime.module()->exit != nullptr)
            runtime.module()->exit();
        return 0;
    case abi::DriverEntry::bus_probe: {
        auto probe = resolve<int (*)(nk_device*, nk_device_id const*)>(w[0], "bad probe handle");
        nk_device_id id { static_cast<uint16_t>(w[2]), static_cast<uint16_t>(w[3]) };
        return probe(reinterpret_cast<nk_device*>(w[1]), &id);
    }
    case abi::DriverEntry::bus_remove:
        resolve<void (*)(nk_device*)>(w[0], "bad remove handle")(reinterpret_cast<nk_device*>(w[1]));
        return 0;
    case abi::DriverEntry::irq_handler: {
        AtomicSection atomic;
        return resolve<nk_irq_handler_t>(w[0], "bad irq handler handle")(static_cast<uint32_t>(w[1]), reinterpret_cast<void*>(w[2]));
    }
    case abi::DriverEntry::timer_fn: {
        AtomicSection atomic;
        resolve<nk_timer_fn>(w[0], "bad timer handle")(reinterpret_cast<void*>(w[1]));
        return 0;
    }
    case abi::DriverEntry::work_fn:
        resolve<nk_work_fn>(w[0], "bad work handle")(reinterpret_cast<void*>(w[1]));
        return 0;
    case abi::DriverEntry::blk_open:
        return resolve<int (*)(nk_disk*)>(w[0], "bad open handle")(reinterpret_cast<nk_disk*>(w[1]));
    case abi::DriverEntry::blk_release:
        resolve<void (*)(nk_disk*)>(w[0], "bad release handle")(reinterpret_cast<nk_disk*>(w[1]));
        return 0;
    case abi::DriverEntry::blk_ioctl:
        return resolve<int (*)(nk_disk*, uint32_t, uint64_t)>(w[0], "bad ioctl handle")(reinterpret_cast<nk_disk*>(w[1]),
            static_cast<uint32_t>(w[2]), w[3]);
    case abi::DriverEntry::blk_queue_rq: {
        AtomicSection atomic;
        // w[2] points at the request copy in the kernel area: read-only here.
        return resolve<int (*)(nk_disk*, nk_blk_request const*, bool)>(w[0], "bad queue_rq handle")(
            reinterpret_cast<nk_disk*>(w[1]), reinterpret_cast<nk_blk_request const*>(w[2]), w[3] != 0);
    }
    case abi::DriverEntry::blk_commit_rqs: {
        AtomicSection atomic;
        resolve<void (*)(nk_disk*)>(w[0], "bad commit_rqs handle")(reinterpret_cast<nk_disk*>(w[1]));
        return 0;
    }
    case abi::DriverEntry::Count:
        break;
    }
    runtime.die(abi::FaultKind::RuntimeError, "unknown entry point");
}

} // namespace nk::runtime
