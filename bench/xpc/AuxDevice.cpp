// SPDX-License-Identifier: MIT
// The nktest auxiliary device: counting FIFO, COUNT and SCRATCH registers.

#include "AuxDevice.h"

#include <nktest.h>

namespace nk::bench {

uint16_t AuxDevice::vendor_id() const { return NKTEST_AUX_VENDOR; }

uint16_t AuxDevice::device_id() const { return NKTEST_AUX_DEVICE; }

uint64_t AuxDevice::read_register(uint32_t, uint32_t offset, unsigned)
{
    switch (offset) {
    case NKTEST_REG_COUNT: return fifo_writes();
    case NKTEST_REG_SCRATCH: return m_scratch.load(std::memory_order_relaxed);
    default: return 0;
    }
}

void AuxDevice::write_register(uint32_t, uint32_t offset, unsigned, uint64_t value)
{
    switch (offset) {
    case NKTEST_REG_FIFO: m_fifo_writes.fetch_add(1, std::memory_order_relaxed); break;
    case NKTEST_REG_SCRATCH: m_scratch.store(value, std::memory_order_relaxed); break;
    default: break;
    }
}

void AuxDevice::hard_reset()
{
    m_fifo_writes.store(0, std::memory_order_relaxed);
    m_scratch.store(0, std::memory_order_relaxed);
}

} // namespace nk::bench
