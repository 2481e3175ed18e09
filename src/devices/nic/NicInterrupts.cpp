// SPDX-License-Identifier: MIT
#include "devices/nic/NicInterrupts.h"

namespace nk {

NicInterrupts::Decision& NicInterrupts::Decision::operator|=(Decision const& other)
{
    raise = raise || other.raise;
    if (other.defer)
        defer = other.defer;
    return *this;
}

NicInterrupts::Decision NicInterrupts::set(uint32_t causes, Clock::time_point now)
{
    m_icr |= causes;
    return update(now);
}

uint32_t NicInterrupts::read_and_clear()
{
    auto causes = m_icr;
    m_icr = 0;
    m_asserted = false;
    return causes;
}

NicInterrupts::Decision NicInterrupts::enable(uint32_t causes, Clock::time_point now)
{
    m_ims |= causes;
    return update(now);
}

void NicInterrupts::disable(uint32_t causes)
{
    m_ims &= ~causes;
    if ((m_icr & m_ims) == 0)
        m_asserted = false;
}

NicInterrupts::Decision NicInterrupts::expired(Clock::time_point now)
{
    if (!m_deferred || now < m_due)
        return {}; // a reset came in between, or this is an older schedule's callback
    return flush(now);
}

NicInterrupts::Decision NicInterrupts::flush(Clock::time_point now)
{
    if (!m_deferred)
        return {};
    m_deferred = false;
    if ((m_icr & m_ims) == 0) {
        m_asserted = false;
        return {};
    }
    return fire(now);
}

NicInterrupts::Decision NicInterrupts::update(Clock::time_point now)
{
    if ((m_icr & m_ims) == 0) {
        m_asserted = false;
        return {};
    }
    if (m_asserted)
        return {};
    m_asserted = true;
    if (m_deferred)
        return {}; // the armed timer fires it
    auto const spacing = std::chrono::nanoseconds(uint64_t(m_itr) * 256);
    if (m_itr != 0 && m_last_fired && now < *m_last_fired + spacing) {
        m_deferred = true;
        m_due = *m_last_fired + spacing;
        return { .defer = m_due - now };
    }
    return fire(now);
}

NicInterrupts::Decision NicInterrupts::fire(Clock::time_point now)
{
    m_asserted = true;
    m_last_fired = now;
    return { .raise = true };
}

} // namespace nk
