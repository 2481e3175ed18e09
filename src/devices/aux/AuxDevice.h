// SPDX-License-Identifier: MIT
#pragma once

// The NKAUX auxiliary test device (<hw/nkaux.h>): FIFO writes are counted and
// (the first `log_capacity`) logged in order, COUNT reads how many, SCRATCH is
// a plain register. What the crossing tests and the XPC benchmark observe.
//
// Thread-safety: register accesses from any kernel thread.

#include "base/Mutex.h"
#include "devices/DeviceKind.h"
#include "kernel/bus/HardwareDevice.h"

#include <atomic>
#include <vector>

namespace nk {

class AuxDevice final : public HardwareDevice {
public:
    static constexpr size_t log_capacity = 1 << 16;

    explicit AuxDevice(std::string name)
        : m_name(std::move(name))
    {
    }
    uint16_t vendor_id() const override;
    uint16_t device_id() const override;
    std::string const& name() const override { return m_name; }
    uint32_t window_count() const override { return 1; }
    uint32_t window_size(uint32_t) const override { return 4096; }
    uint32_t vector_count() const override { return 1; }
    uint64_t read_register(uint32_t window, uint32_t offset, unsigned width) override;
    void write_register(uint32_t window, uint32_t offset, unsigned width, uint64_t value) override;
    void hard_reset() override;

    uint64_t fifo_writes() const { return m_fifo_writes.load(std::memory_order_relaxed); }
    // The values written to FIFO, in order (the first log_capacity of them).
    std::vector<uint64_t> log() const;

private:
    std::string m_name;
    std::atomic<uint64_t> m_fifo_writes { 0 };
    std::atomic<uint64_t> m_scratch { 0 };
    mutable Mutex m_mutex;
    std::vector<uint64_t> m_log NK_GUARDED_BY(m_mutex);
};

// [[aux]] tables: test devices with no driver of their own (the driver that
// matches them takes them: nktest) and no settings.
class AuxKind final : public DeviceKind {
public:
    std::string_view table() const override { return "aux"; }
    std::string_view driver_class() const override { return "test"; }
    std::string_view default_driver() const override { return ""; }
    unsigned default_count() const override { return 0; }
    Result<std::shared_ptr<DeviceSettings const>> parse(std::string const& name, ConfigTable const& table) const override;
    Result<std::unique_ptr<HardwareDevice>> create(std::string const& name, DeviceSettings const& settings) const override;
};

} // namespace nk
