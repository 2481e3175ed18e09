// SPDX-License-Identifier: MIT
#pragma once

// The kernel: the trusted core that owns the emulated machine, the services
// drivers call (interrupts, DMA, timers, work, bus), the driver classes, and
// every loaded module.
//
// Created by Kernel::create; devices are plugged in and modules loaded by the
// caller (the `nooks run` command, tests). Destruction shuts everything down:
// modules are stopped in reverse load order, then service threads end.
//
// Thread-safety: load/unload are serialized by the kernel; the accessors may
// be used from any thread.

#include "base/Error.h"
#include "base/ThreadAnnotations.h"
#include "classes/block/BlockLayer.h"
#include "kernel/bus/Bus.h"
#include "kernel/irq/IrqController.h"
#include "kernel/module/Module.h"
#include "kernel/time/TimerService.h"
#include "kernel/work/WorkQueue.h"

#include <memory>
#include <mutex>
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
    BlockLayer& block() { return m_block; }

    // Loads the driver at `path` and runs its init (which probes devices).
    // NotFound: no such file; InvalidArgument: not a nooks driver or built for
    // another API version; the driver's init error otherwise.
    Result<Module*> load_module(std::string const& path);
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
    // (or after it failed): disks, bus bindings. Safe to call more than once.
    void release_module_objects(Module& module);

private:
    explicit Kernel(Options options);

    IrqController m_irqs;
    Bus m_bus;
    TimerService m_timers;
    WorkQueue m_work;
    BlockLayer m_block;

    mutable std::mutex m_modules_mutex;
    std::vector<std::shared_ptr<Module>> m_modules NK_GUARDED_BY(m_modules_mutex);
    std::vector<std::shared_ptr<Module>> m_retired NK_GUARDED_BY(m_modules_mutex);
    // Serializes load/unload (module init/exit may take long; the list lock is not held then).
    std::mutex m_load_mutex;
};

} // namespace nk
