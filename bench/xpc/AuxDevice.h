// SPDX-License-Identifier: MIT
#pragma once

// The auxiliary device the nktest driver binds besides the disk controller
// (drivers/test/nktest/nktest.h): FIFO writes are counted, COUNT reads how
// many, SCRATCH is a plain register. Unlike the tests' device it keeps no log,
// so millions of posted writes cost no memory.

#include "devices/HardwareDevice.h"

#include <atomic>

namespace nk::bench {

class AuxDevice final : public HardwareDevice {
public:
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

private:
    std::string m_name;
    std::atomic<uint64_t> m_fifo_writes { 0 };
    std::atomic<uint64_t> m_scratch { 0 };
};

} // namespace nk::bench
