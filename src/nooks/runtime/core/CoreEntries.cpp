// SPDX-License-Identifier: MIT
// Entry thunks of the core entries (src/abi/core/Calls.h).

#include "nooks/runtime/Entries.h"
#include "nooks/runtime/Runtime.h"

#include <nooks/kernel.h>

namespace nk::runtime {

EntryView view_core_entry(abi::DriverEntry entry, void const* args)
{
    switch (entry) {
    case abi::DriverEntry::irq_handler: return { reinterpret_cast<void*>(args_as<abi::IrqHandlerArgs>(args).dev_id), {} };
    case abi::DriverEntry::timer_fn:
    case abi::DriverEntry::work_fn: return { reinterpret_cast<void*>(args_as<abi::CallbackRunArgs>(args).data), {} };
    case abi::DriverEntry::bus_remove: return { Runtime::the().recall(args_as<abi::RemoveArgs>(args).dev), {} };
    default: return {};
    }
}

int64_t run_core_entry(abi::DriverEntry entry, void const* args)
{
    auto& runtime = Runtime::the();
    switch (entry) {
    case abi::DriverEntry::null:
    case abi::DriverEntry::flush:
        return 0;
    case abi::DriverEntry::inject:
        return arm_injection(args_as<abi::InjectionSpec>(args));
    case abi::DriverEntry::module_init:
        return runtime.module()->init();
    case abi::DriverEntry::module_exit:
        if (runtime.module()->exit != nullptr)
            runtime.module()->exit();
        return 0;
    case abi::DriverEntry::bus_probe: {
        auto const& a = args_as<abi::ProbeArgs>(args);
        auto id = a.id;
        return resolve<int (*)(nk_device*, nk_device_id const*)>(a.probe, "bad probe handle")(reinterpret_cast<nk_device*>(a.dev), &id);
    }
    case abi::DriverEntry::bus_remove: {
        auto const& a = args_as<abi::RemoveArgs>(args);
        resolve<void (*)(nk_device*)>(a.remove, "bad remove handle")(reinterpret_cast<nk_device*>(a.dev));
        return 0;
    }
    case abi::DriverEntry::irq_handler: {
        auto const& a = args_as<abi::IrqHandlerArgs>(args);
        AtomicSection atomic;
        return resolve<nk_irq_handler_t>(a.handler, "bad irq handler handle")(a.irq, reinterpret_cast<void*>(a.dev_id));
    }
    case abi::DriverEntry::timer_fn: {
        auto const& a = args_as<abi::CallbackRunArgs>(args);
        AtomicSection atomic;
        resolve<nk_timer_fn>(a.fn, "bad timer handle")(reinterpret_cast<void*>(a.data));
        return 0;
    }
    case abi::DriverEntry::work_fn: {
        auto const& a = args_as<abi::CallbackRunArgs>(args);
        resolve<nk_work_fn>(a.fn, "bad work handle")(reinterpret_cast<void*>(a.data));
        return 0;
    }
    default:
        break;
    }
    runtime.die(abi::FaultKind::RuntimeError, "not a core entry point");
}

} // namespace nk::runtime
