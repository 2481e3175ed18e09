// SPDX-License-Identifier: MIT
#pragma once

// The kernel's device bus: devices plugged in at boot, drivers registered by
// modules, and the matching between them (probe and remove).
//
// Thread-safety: every method takes the bus lock around its bookkeeping but
// calls probe/remove without it, so a driver may register more drivers or
// disks from inside probe. Registration calls come from module init/exit,
// which the kernel serializes.

#include "base/Error.h"
#include "base/Mutex.h"
#include "kernel/bus/BusDevice.h"
#include "kernel/bus/BusDriver.h"

#include <memory>
#include <vector>

namespace nk {

class EventLoop;
class IrqController;

class Bus {
public:
    // `events`: the loop devices driven from outside run on (null: none).
    Bus(IrqController& irqs, EventLoop* events)
        : m_irqs(irqs)
        , m_events(events)
    {
    }
    Bus(Bus const&) = delete;
    Bus& operator=(Bus const&) = delete;
    ~Bus();

    // Plugs in a device. Drivers already registered probe it at once.
    // `reserved_for`: only drivers of module instances with that binding may
    // take it (Module::binding); empty: any driver that matches.
    Result<BusDevice*> plug(std::unique_ptr<HardwareDevice> hardware, std::string reserved_for = {});

    // Registers a driver and probes every unbound device it matches. A probe
    // that fails is logged and leaves the device unbound; it does not fail
    // the registration (as on Linux). AlreadyExists for a duplicate key.
    Result<void> register_driver(std::unique_ptr<BusDriver> driver);
    // Removes every device bound to the driver, then forgets it.
    Result<void> unregister_driver(Module& owner, uintptr_t key);
    // Unregisters every driver `owner` registered (module unload, recovery).
    void unregister_all(Module& owner);
    // Forgets `owner`'s drivers without calling remove(): the driver is gone
    // (recovery). Devices become unbound.
    void forget_all(Module& owner);

    std::vector<BusDevice*> devices() const;
    BusDevice* find_device(std::string const& name) const;
    // The name of the module whose driver is bound to `device` now, or empty.
    std::string bound_owner_name(BusDevice const& device) const;

private:
    void probe_unbound(BusDriver& driver);
    static bool may_take(BusDriver const& driver, BusDevice const& device);

    IrqController& m_irqs;
    EventLoop* m_events;
    mutable Mutex m_mutex;
    std::vector<std::unique_ptr<BusDevice>> m_devices NK_GUARDED_BY(m_mutex);
    std::vector<std::unique_ptr<BusDriver>> m_drivers NK_GUARDED_BY(m_mutex);
};

} // namespace nk
