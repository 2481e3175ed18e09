// SPDX-License-Identifier: MIT
#pragma once

// Isolated ports of the core services: how the kernel reaches an isolated
// driver's bus probe/remove, interrupt handlers, timers and work. Each call is
// an XPC naming the driver function by the handle the domain gave it; every
// value that comes back is tainted and checked (Tainted::verify) before the
// kernel uses it.

#include "kernel/bus/BusDriver.h"
#include "kernel/irq/IrqAction.h"
#include "kernel/time/TimerService.h"
#include "kernel/work/WorkQueue.h"

#include <atomic>

namespace nk {

class IsolatedModule;

class IsolatedBusDriverPort final : public BusDriverPort {
public:
    IsolatedBusDriverPort(IsolatedModule& module, uint64_t probe, uint64_t remove)
        : m_module(module)
        , m_probe(probe)
        , m_remove(remove)
    {
    }
    // The device becomes a tracked object of the driver for as long as it is bound.
    Result<int> probe(BusDevice& device, nk_device_id const& id) override;
    void remove(BusDevice& device) override;

private:
    IsolatedModule& m_module;
    uint64_t m_probe;
    uint64_t m_remove;
};

class IsolatedIrqAction final : public IrqAction {
public:
    IsolatedIrqAction(IsolatedModule& module, std::string name, uint64_t handler, uint64_t dev_id);
    nk_irqreturn_t handle(uint32_t irq) override;
    // A handler still waiting for a channel gives up (see IrqAction::withdraw).
    void withdraw() override;
    void readmit() override;

private:
    IsolatedModule& m_module;
    uint64_t m_handler;
    std::atomic<unsigned> m_withdrawn { 0 };
};

class IsolatedTimerCallback final : public TimerCallback {
public:
    IsolatedTimerCallback(IsolatedModule& module, uint64_t function, uint64_t data)
        : m_module(module)
        , m_function(function)
        , m_data(data)
    {
    }
    void fire() override;

private:
    IsolatedModule& m_module;
    uint64_t m_function;
    uint64_t m_data;
};

class IsolatedWorkCallback final : public WorkCallback {
public:
    IsolatedWorkCallback(IsolatedModule& module, uint64_t function, uint64_t data)
        : m_module(module)
        , m_function(function)
        , m_data(data)
    {
    }
    void run() override;

private:
    IsolatedModule& m_module;
    uint64_t m_function;
    uint64_t m_data;
};

} // namespace nk
