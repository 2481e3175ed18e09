// SPDX-License-Identifier: MIT
#include "devices/aux/AuxDevice.h"

#include <hw/nkaux.h>

namespace nk {

uint16_t AuxDevice::vendor_id() const { return NKAUX_VENDOR_ID; }

uint16_t AuxDevice::device_id() const { return NKAUX_DEVICE_ID; }

uint64_t AuxDevice::read_register(uint32_t, uint32_t offset, unsigned)
{
    switch (offset) {
    case NKAUX_REG_COUNT: return fifo_writes();
    case NKAUX_REG_SCRATCH: return m_scratch.load(std::memory_order_relaxed);
    default: return 0;
    }
}

void AuxDevice::write_register(uint32_t, uint32_t offset, unsigned, uint64_t value)
{
    switch (offset) {
    case NKAUX_REG_FIFO:
        if (m_fifo_writes.fetch_add(1, std::memory_order_relaxed) < log_capacity) {
            MutexLocker lock(m_mutex);
            m_log.push_back(value);
        }
        break;
    case NKAUX_REG_SCRATCH: m_scratch.store(value, std::memory_order_relaxed); break;
    default: break;
    }
}

void AuxDevice::hard_reset()
{
    MutexLocker lock(m_mutex);
    m_log.clear();
    m_fifo_writes.store(0, std::memory_order_relaxed);
    m_scratch.store(0, std::memory_order_relaxed);
}

std::vector<uint64_t> AuxDevice::log() const
{
    MutexLocker lock(m_mutex);
    return m_log;
}

namespace {

struct NoSettings final : DeviceSettings {
    std::string describe() const override { return "test device"; }
};

} // namespace

Result<std::shared_ptr<DeviceSettings const>> AuxKind::parse(std::string const&, ConfigTable const& table) const
{
    TRY(table.allow_only({}));
    return std::make_shared<NoSettings>();
}

Result<std::unique_ptr<HardwareDevice>> AuxKind::create(std::string const& name, DeviceSettings const&) const
{
    return std::make_unique<AuxDevice>(name);
}

} // namespace nk
