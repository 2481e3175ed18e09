// SPDX-License-Identifier: MIT
#pragma once

// The contract between emulated hardware and the bus it is plugged into.
// It lives with the bus (the kernel's side of the contract); the devices in
// src/devices implement it.
//
// A device exposes register windows (read/write at an offset and width, like
// MMIO), raises interrupt vectors through the sink the bus connects, and reaches
// memory only through its IOMMU. The bus calls every method from any kernel
// thread; a device serializes itself. A device never trusts what a driver wrote
// into its registers or rings: misprogramming is an error status on the device.
//
// A device runs when a driver touches it (its engine as a softirq of the
// calling thread), or, for one that the outside world drives (a NIC receiving
// frames, a sound card's clock), from event sources of the kernel's event loop
// (kernel/events/EventLoop.h), which call it outside any crossing into a
// driver. Lifecycle of those sources, which recovery relies on: hard_reset()
// stops them synchronously (when it returns, no engine callback runs, and none
// will until the driver programs the device to run again), resets the device,
// and the next driver instance starts it again by programming it.

#include "kernel/dma/Iommu.h"

#include <cstdint>
#include <string>

namespace nk {

class EventLoop;

// Where a device's interrupt vectors go (the kernel's interrupt controller).
class InterruptSink {
public:
    virtual ~InterruptSink() = default;
    // Called by the device, from any thread, when vector `vector` fires (edge).
    virtual void raise(uint32_t vector) = 0;
};

class HardwareDevice {
public:
    virtual ~HardwareDevice() = default;

    virtual uint16_t vendor_id() const = 0;
    virtual uint16_t device_id() const = 0;
    // Stable name of the slot the device sits in ("disk0").
    virtual std::string const& name() const = 0;

    virtual uint32_t window_count() const = 0;
    virtual uint32_t window_size(uint32_t window) const = 0;
    virtual uint32_t vector_count() const = 0;

    // Register access; the bus has checked window, alignment and range.
    // width is 4 or 8 bytes.
    virtual uint64_t read_register(uint32_t window, uint32_t offset, unsigned width) = 0;
    virtual void write_register(uint32_t window, uint32_t offset, unsigned width, uint64_t value) = 0;

    // Power-cycles the device to its power-on state, as a bus reset would:
    // stops DMA, forgets rings and pending interrupts. Used by recovery.
    virtual void hard_reset() = 0;

    // Plugged in by the bus before any register access. All outlive the
    // device's use; `events` is null where no event loop runs (device tests).
    void connect(InterruptSink& interrupts, Iommu& iommu, EventLoop* events = nullptr)
    {
        m_interrupts = &interrupts;
        m_iommu = &iommu;
        m_events = events;
        connected();
    }

protected:
    // Called once, at the end of connect(): the sinks are in place and no
    // register has been accessed yet. A device that runs on its own from
    // power-on (a NIC negotiating its link) starts its event sources here.
    // On the thread that plugs the device in.
    virtual void connected() { }

    void raise_interrupt(uint32_t vector)
    {
        if (m_interrupts != nullptr)
            m_interrupts->raise(vector);
    }
    Iommu& iommu() { return *m_iommu; }
    EventLoop* events() const { return m_events; }

private:
    InterruptSink* m_interrupts { nullptr };
    Iommu* m_iommu { nullptr };
    EventLoop* m_events { nullptr };
};

} // namespace nk
