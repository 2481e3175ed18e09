// SPDX-License-Identifier: MIT
#pragma once

// A device plugged into the kernel's bus: what a driver calls nk_device.
//
// It owns the emulated hardware, the device's IOMMU and its interrupt lines,
// and records which driver is bound to it. The kernel creates it when the
// hardware is plugged in and keeps it until shutdown; drivers come and go.

#include "base/ThreadAnnotations.h"
#include "kernel/bus/HardwareDevice.h"
#include "kernel/dma/Iommu.h"

#include <nooks/kernel.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

namespace nk {

struct BusDriver;
class EventLoop;
class IrqController;
class IoWindow;

class BusDevice final : public InterruptSink {
public:
    BusDevice(std::unique_ptr<HardwareDevice> hardware, IrqController& irqs, EventLoop* events, std::string reserved_for = {});
    ~BusDevice() override;

    HardwareDevice& hardware() const { return *m_hardware; }
    Iommu& iommu() { return m_iommu; }
    std::string const& name() const { return m_hardware->name(); }
    // The module binding allowed to take the device, or empty: any driver (see Bus::plug).
    std::string const& reserved_for() const { return m_reserved_for; }
    nk_device_info info() const;

    // Kernel interrupt number of vector `index`, or 0 if there is none.
    uint32_t irq(uint32_t index) const;
    std::vector<uint32_t> const& irqs() const { return m_irqs_by_vector; }

    // The window handle for `index`, or null if there is no such window.
    IoWindow* window(uint32_t index) const;

    // Binding (guarded by the bus).
    BusDriver* driver() const { return m_driver; }
    void set_driver(BusDriver* driver) { m_driver = driver; }
    void* drvdata() const { return m_drvdata.load(std::memory_order_acquire); }
    void set_drvdata(void* data) { m_drvdata.store(data, std::memory_order_release); }

    // InterruptSink: the hardware fired vector `vector`.
    void raise(uint32_t vector) override;

    // The C handle drivers hold, and back.
    nk_device* handle() { return reinterpret_cast<nk_device*>(this); }
    static BusDevice& from_handle(nk_device* device) { return *reinterpret_cast<BusDevice*>(device); }

private:
    std::unique_ptr<HardwareDevice> m_hardware;
    IrqController& m_controller;
    std::string m_reserved_for;
    Iommu m_iommu;
    std::vector<uint32_t> m_irqs_by_vector;
    std::vector<std::unique_ptr<IoWindow>> m_windows;
    BusDriver* m_driver { nullptr };
    std::atomic<void*> m_drvdata { nullptr };
};

} // namespace nk
