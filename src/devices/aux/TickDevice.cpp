// SPDX-License-Identifier: MIT
#include "devices/aux/TickDevice.h"

#include "base/Log.h"

#include <hw/nktick.h>

namespace nk {

TickDevice::~TickDevice()
{
    MutexLocker lock(m_clock_mutex);
    m_clock.reset();
}

uint16_t TickDevice::vendor_id() const { return NKTICK_VENDOR_ID; }

uint16_t TickDevice::device_id() const { return NKTICK_DEVICE_ID; }

uint64_t TickDevice::read_register(uint32_t, uint32_t offset, unsigned)
{
    MutexLocker lock(m_mutex);
    switch (offset) {
    case NKTICK_REG_CTRL: return m_run ? NKTICK_CTRL_RUN : 0;
    case NKTICK_REG_PERIOD_US: return m_period_us;
    case NKTICK_REG_TICKS: return m_ticks;
    case NKTICK_REG_STATUS: return m_status;
    default: return 0;
    }
}

void TickDevice::write_register(uint32_t, uint32_t offset, unsigned, uint64_t value)
{
    bool run = false;
    uint32_t period = 0;
    {
        MutexLocker lock(m_mutex);
        switch (offset) {
        case NKTICK_REG_CTRL: m_run = (value & NKTICK_CTRL_RUN) != 0; break;
        case NKTICK_REG_PERIOD_US:
            if (value < NKTICK_PERIOD_MIN_US || value > NKTICK_PERIOD_MAX_US) {
                m_status |= NKTICK_STATUS_ERROR;
                m_run = false;
            } else {
                m_period_us = static_cast<uint32_t>(value);
            }
            break;
        case NKTICK_REG_STATUS: m_status &= ~static_cast<uint32_t>(value); return;
        default: return;
        }
        run = m_run;
        period = m_period_us;
    }
    apply(run, period);
}

EventSource* TickDevice::clock(bool create)
{
    MutexLocker lock(m_clock_mutex);
    if (!m_clock && create && events() != nullptr) {
        auto clock = events()->timer(m_name + " clock", [this](uint64_t expirations) { tick(expirations); });
        if (clock)
            m_clock = std::move(*clock);
        else
            log::get("devices")->error("{}: no clock: {}", m_name, clock.error());
    }
    return m_clock.get();
}

void TickDevice::apply(bool run, uint32_t period_us)
{
    auto* source = clock(run);
    if (!run) {
        // Not stop(): the writer may be a driver's remove, running inside a
        // crossing the tick in progress waits for (it raises that driver's
        // interrupt). A tick already past its check may still raise one, as
        // on hardware; none starts after this.
        if (source != nullptr)
            source->cancel();
        return;
    }
    if (source == nullptr) {
        MutexLocker lock(m_mutex);
        m_status |= NKTICK_STATUS_ERROR; // plugged in without an event loop
        return;
    }
    auto period = std::chrono::microseconds(period_us);
    if (auto started = source->start_timer(period, period); !started)
        log::get("devices")->error("{}: clock: {}", m_name, started.error());
}

// On the loop thread, outside any crossing: the interrupt's handler runs here.
void TickDevice::tick(uint64_t expirations)
{
    {
        MutexLocker lock(m_mutex);
        if (!m_run)
            return;
        m_ticks += static_cast<uint32_t>(expirations);
        m_status |= NKTICK_STATUS_TICK;
    }
    raise_interrupt(0);
}

void TickDevice::hard_reset()
{
    if (auto* source = clock(false))
        source->stop(); // synchronous: the last tick has returned
    MutexLocker lock(m_mutex);
    m_run = false;
    m_period_us = 1000;
    m_ticks = 0;
    m_status = 0;
}

uint32_t TickDevice::ticks() const
{
    MutexLocker lock(m_mutex);
    return m_ticks;
}

bool TickDevice::running() const
{
    MutexLocker lock(m_mutex);
    return m_run;
}

namespace {

struct ClockSettings final : DeviceSettings {
    std::string describe() const override { return "test clock"; }
};

} // namespace

Result<std::shared_ptr<DeviceSettings const>> TickKind::parse(std::string const&, ConfigTable const& table) const
{
    TRY(table.allow_only({}));
    return std::make_shared<ClockSettings>();
}

Result<std::unique_ptr<HardwareDevice>> TickKind::create(std::string const& name, DeviceSettings const&) const
{
    return std::make_unique<TickDevice>(name);
}

} // namespace nk
