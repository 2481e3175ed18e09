// SPDX-License-Identifier: MIT
#pragma once

// Native-mode ports: the kernel calls a driver's function pointers directly,
// inside a CrossingScope (for attribution and softirq timing), with no checks.

#include "kernel/bus/BusDevice.h"
#include "kernel/bus/BusDriver.h"
#include "kernel/exec/Context.h"
#include "kernel/irq/IrqAction.h"
#include "kernel/native/NativeModule.h"
#include "kernel/time/TimerService.h"
#include "kernel/work/WorkQueue.h"

namespace nk {

class NativeBusDriverPort final : public BusDriverPort {
public:
    NativeBusDriverPort(Module& owner, nk_bus_driver const& driver)
        : m_owner(owner)
        , m_driver(driver)
    {
    }
    Result<int> probe(BusDevice& device, nk_device_id const& id) override
    {
        CrossingScope crossing(m_owner, CrossingScope::Kind::Process);
        if (native_inject(m_owner, abi::DriverEntry::bus_probe, nullptr))
            return 0;
        return m_driver.probe(device.handle(), &id);
    }
    void remove(BusDevice& device) override
    {
        if (m_driver.remove == nullptr)
            return;
        CrossingScope crossing(m_owner, CrossingScope::Kind::Process);
        if (native_inject(m_owner, abi::DriverEntry::bus_remove, device.drvdata()))
            return;
        m_driver.remove(device.handle());
    }

private:
    Module& m_owner;
    nk_bus_driver const& m_driver;
};

class NativeIrqAction final : public IrqAction {
public:
    NativeIrqAction(Module& owner, std::string name, nk_irq_handler_t handler, void* dev_id)
        : IrqAction(owner, std::move(name), dev_id)
        , m_handler(handler)
    {
    }
    nk_irqreturn_t handle(uint32_t irq) override
    {
        CrossingScope crossing(owner(), CrossingScope::Kind::Atomic);
        if (native_inject(owner(), abi::DriverEntry::irq_handler, dev_id()))
            return NK_IRQ_HANDLED;
        return m_handler(irq, dev_id());
    }

private:
    nk_irq_handler_t m_handler;
};

class NativeTimerCallback final : public TimerCallback {
public:
    NativeTimerCallback(Module& owner, nk_timer_fn fn, void* data)
        : m_owner(owner)
        , m_fn(fn)
        , m_data(data)
    {
    }
    void fire() override
    {
        CrossingScope crossing(m_owner, CrossingScope::Kind::Atomic);
        if (native_inject(m_owner, abi::DriverEntry::timer_fn, m_data))
            return;
        m_fn(m_data);
    }

private:
    Module& m_owner;
    nk_timer_fn m_fn;
    void* m_data;
};

class NativeWorkCallback final : public WorkCallback {
public:
    NativeWorkCallback(Module& owner, nk_work_fn fn, void* data)
        : m_owner(owner)
        , m_fn(fn)
        , m_data(data)
    {
    }
    void run() override
    {
        CrossingScope crossing(m_owner, CrossingScope::Kind::Process);
        if (native_inject(m_owner, abi::DriverEntry::work_fn, m_data))
            return;
        m_fn(m_data);
    }

private:
    Module& m_owner;
    nk_work_fn m_fn;
    void* m_data;
};

} // namespace nk
