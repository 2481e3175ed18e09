// SPDX-License-Identifier: MIT
#pragma once

// The NKTICK test device (<hw/nktick.h>): a clock that raises an interrupt
// every period once its driver sets RUN. Its engine is a timer source of the
// kernel's event loop, so its interrupts arrive from the loop thread, outside
// any call into the driver: the smallest device the event service drives.
//
// Thread-safety: register accesses from any kernel thread, never waiting for
// the engine (clearing RUN stops the clock; a tick already under way may
// still raise its interrupt); the engine on the loop thread. hard_reset()
// stops the clock synchronously (no tick after it returns until a driver sets
// RUN again).

#include "base/Mutex.h"
#include "devices/DeviceKind.h"
#include "kernel/bus/HardwareDevice.h"
#include "kernel/events/EventLoop.h"

#include <memory>

namespace nk {

class TickDevice final : public HardwareDevice {
public:
    explicit TickDevice(std::string name)
        : m_name(std::move(name))
    {
    }
    ~TickDevice() override;

    uint16_t vendor_id() const override;
    uint16_t device_id() const override;
    std::string const& name() const override { return m_name; }
    uint32_t window_count() const override { return 1; }
    uint32_t window_size(uint32_t) const override { return 4096; }
    uint32_t vector_count() const override { return 1; }
    uint64_t read_register(uint32_t window, uint32_t offset, unsigned width) override;
    void write_register(uint32_t window, uint32_t offset, unsigned width, uint64_t value) override;
    void hard_reset() override;

    // Ticks since reset, and whether the clock is running now.
    uint32_t ticks() const;
    bool running() const;

private:
    void tick(uint64_t expirations);
    // Starts or stops the clock to match the registers; with no lock held
    // (the running tick's interrupt handler may write the registers).
    void apply(bool run, uint32_t period_us);
    // The clock source, made on first use if `create`; it lives as long as the device.
    EventSource* clock(bool create);

    std::string m_name;
    mutable Mutex m_mutex;
    bool m_run NK_GUARDED_BY(m_mutex) { false };
    uint32_t m_period_us NK_GUARDED_BY(m_mutex) { 1000 };
    uint32_t m_ticks NK_GUARDED_BY(m_mutex) { 0 };
    uint32_t m_status NK_GUARDED_BY(m_mutex) { 0 };
    // Created on the first RUN, destroyed with the device; started and stopped
    // without the lock held.
    Mutex m_clock_mutex;
    std::unique_ptr<EventSource> m_clock NK_GUARDED_BY(m_clock_mutex);
};

// [[tick]] tables: test clocks with no driver of their own (nktest takes them).
class TickKind final : public DeviceKind {
public:
    std::string_view table() const override { return "tick"; }
    std::string_view driver_class() const override { return "test"; }
    std::string_view default_driver() const override { return ""; }
    unsigned default_count() const override { return 0; }
    Result<std::shared_ptr<DeviceSettings const>> parse(std::string const& name, ConfigTable const& table) const override;
    Result<std::unique_ptr<HardwareDevice>> create(std::string const& name, DeviceSettings const& settings) const override;
};

} // namespace nk
