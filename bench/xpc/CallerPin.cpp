// SPDX-License-Identifier: MIT
// Pinning the calling thread for the pinned benchmark variants.

#include "CallerPin.h"

#include <utility>

namespace nk::bench {

Result<CallerPin> CallerPin::pin_here()
{
    int cpu = ::sched_getcpu();
    if (cpu < 0)
        return errno_error("sched_getcpu");
    return pin_to(cpu);
}

Result<CallerPin> CallerPin::pin_to(int cpu)
{
    cpu_set_t previous;
    CPU_ZERO(&previous);
    if (::sched_getaffinity(0, sizeof(previous), &previous) != 0)
        return errno_error("sched_getaffinity");
    cpu_set_t here;
    CPU_ZERO(&here);
    CPU_SET(cpu, &here);
    if (::sched_setaffinity(0, sizeof(here), &here) != 0)
        return errno_error(fmt::format("pin to CPU {}", cpu));
    return CallerPin(previous);
}

CallerPin::CallerPin(CallerPin&& other) noexcept
    : m_previous(other.m_previous)
    , m_active(std::exchange(other.m_active, false))
{
}

CallerPin::~CallerPin()
{
    if (m_active)
        (void)::sched_setaffinity(0, sizeof(m_previous), &m_previous);
}

} // namespace nk::bench
