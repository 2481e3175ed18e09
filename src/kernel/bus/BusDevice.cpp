// SPDX-License-Identifier: MIT
#include "kernel/bus/BusDevice.h"

#include "kernel/bus/IoWindow.h"
#include "kernel/irq/IrqController.h"

#include <algorithm>
#include <cstring>

namespace nk {

BusDevice::BusDevice(std::unique_ptr<HardwareDevice> hardware, IrqController& irqs, EventLoop* events, std::string reserved_for)
    : m_hardware(std::move(hardware))
    , m_controller(irqs)
    , m_reserved_for(std::move(reserved_for))
{
    for (uint32_t vector = 0; vector < m_hardware->vector_count(); ++vector)
        m_irqs_by_vector.push_back(irqs.allocate_line(fmt::format("{}:{}", m_hardware->name(), vector)));
    for (uint32_t index = 0; index < m_hardware->window_count(); ++index)
        m_windows.push_back(std::make_unique<IoWindow>(*this, index, m_hardware->window_size(index)));
    m_hardware->connect(*this, m_iommu, events);
}

BusDevice::~BusDevice()
{
    // The hardware goes first: until its engines stop (a clock on the event
    // loop, a controller's worker) they may raise interrupts and use the
    // IOMMU and windows below.
    m_hardware.reset();
}

nk_device_info BusDevice::info() const
{
    nk_device_info info {};
    info.vendor = m_hardware->vendor_id();
    info.device = m_hardware->device_id();
    info.nr_windows = m_hardware->window_count();
    info.nr_irqs = m_hardware->vector_count();
    auto const& name = m_hardware->name();
    std::memcpy(info.name, name.data(), std::min(name.size(), sizeof(info.name) - 1));
    return info;
}

uint32_t BusDevice::irq(uint32_t index) const
{
    return index < m_irqs_by_vector.size() ? m_irqs_by_vector[index] : 0;
}

IoWindow* BusDevice::window(uint32_t index) const
{
    return index < m_windows.size() ? m_windows[index].get() : nullptr;
}

void BusDevice::raise(uint32_t vector)
{
    if (vector < m_irqs_by_vector.size())
        m_controller.raise(m_irqs_by_vector[vector]);
}

uint64_t IoWindow::read(uint32_t offset, unsigned width)
{
    if (!valid_access(offset, width))
        return width == 8 ? ~0ull : 0xffff'ffffull;
    return m_device.hardware().read_register(m_index, offset, width);
}

void IoWindow::write(uint32_t offset, unsigned width, uint64_t value)
{
    if (!valid_access(offset, width))
        return;
    m_device.hardware().write_register(m_index, offset, width, value);
}

} // namespace nk
