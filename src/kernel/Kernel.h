// SPDX-License-Identifier: MIT
#pragma once

// The kernel: the trusted core that owns the emulated machine, the services
// drivers call (interrupts, DMA, timers, work, bus, events), the registered
// driver classes, and every loaded module.
//
// Created by Kernel::create; classes are registered, devices plugged in and
// modules loaded by the caller (System, which builds a machine from its
// description; tests). Destruction shuts everything down: modules are stopped
// in reverse load order, then the classes go, then service threads end.
//
// Thread-safety: modules may be loaded from several threads at once (each
// driver's recovery starts its own); whoever loads a module owns it until
// load_module/adopt_module returns and must not unload it meanwhile. Unloads
// are serialized. register_class is for boot, before any module loads; the
// accessors may be used from any thread.

#include "base/Error.h"
#include "base/Mutex.h"
#include "kernel/bus/Bus.h"
#include "kernel/class/DriverClass.h"
#include "kernel/events/EventLoop.h"
#include "kernel/irq/IrqController.h"
#include "kernel/module/Module.h"
#include "kernel/time/TimerService.h"
#include "kernel/work/WorkQueue.h"

#include <memory>
#include <vector>

namespace nk {

class Kernel {
public:
    struct Options {
        unsigned work_threads { 2 };
    };

    static Result<std::unique_ptr<Kernel>> create(Options options);
    ~Kernel();
    Kernel(Kernel const&) = delete;
    Kernel& operator=(Kernel const&) = delete;

    IrqController& irqs() { return m_irqs; }
    Bus& bus() { return m_bus; }
    TimerService& timers() { return m_timers; }
    WorkQueue& work() { return m_work; }
    // Where devices driven from outside (a NIC's receive path, a sound card's clock) run.
    EventLoop& events() { return *m_events; }

    // Registers a driver class (at boot, before modules load). AlreadyExists
    // for a second class of the same name.
    Result<DriverClass*> register_class(std::unique_ptr<DriverClass> driver_class);
    DriverClass* find_class(std::string_view name) const;
    std::vector<DriverClass*> classes() const;
    // The registered class of type T (T::class_name names it), or null.
    template<typename T>
    T* driver_class() const
    {
        return dynamic_cast<T*>(find_class(T::class_name));
    }

    // Loads the driver at `path` and runs its init (which probes devices).
    // `binding`: the device the instance is for (its name becomes
    // "<module>@<binding>" and it probes only that device and devices reserved
    // for no instance); empty for a driver that takes what it matches.
    // NotFound: no such file; InvalidArgument: not a nooks driver or built for
    // another API version; the driver's init error otherwise.
    Result<Module*> load_module(std::string const& path, std::string const& binding = {});
    // Takes a module loaded elsewhere (an isolated one) and starts it like load_module.
    Result<Module*> adopt_module(std::unique_ptr<Module> module);
    // Stops the module (remove + exit) and forgets it.
    Result<void> unload_module(Module& module);
    // Stops every module, newest first.
    void unload_all();

    // Takes a failed module out of the list of loaded ones (recovery). It is
    // kept, stopped, until the kernel ends: disks and requests that outlived
    // the driver may still point at it.
    void retire_module(Module& module);

    // Snapshots for readers on other threads (control, tests). Shared
    // ownership keeps each module object alive while it is looked at, even if
    // recovery retires it or a failed start drops it meanwhile. A retired
    // isolated module has no domain any more: pin it with enter() before
    // touching its domain or memory.
    std::vector<std::shared_ptr<Module>> modules() const;
    std::shared_ptr<Module> find_module(std::string const& name) const;

    // Releases what the kernel still holds for `module` after its exit ran
    // (or after it failed): what it registered with each class (disks...),
    // its bus bindings. Safe to call more than once.
    void release_module_objects(Module& module);

private:
    Kernel(Options options, std::unique_ptr<EventLoop> events);

    IrqController m_irqs;
    // Before the bus: devices (and their event sources) go before the loop.
    std::unique_ptr<EventLoop> m_events;
    Bus m_bus;
    TimerService m_timers;
    WorkQueue m_work;

    // Declared before the modules: destroyed after them (disks that outlived
    // their driver still name it).
    mutable Mutex m_classes_mutex;
    std::vector<std::unique_ptr<DriverClass>> m_classes NK_GUARDED_BY(m_classes_mutex);

    mutable Mutex m_modules_mutex;
    std::vector<std::shared_ptr<Module>> m_modules NK_GUARDED_BY(m_modules_mutex);
    std::vector<std::shared_ptr<Module>> m_retired NK_GUARDED_BY(m_modules_mutex);
    // Serializes unloads (exit may take long; the list lock is not held then).
    Mutex m_unload_mutex;
};

} // namespace nk
