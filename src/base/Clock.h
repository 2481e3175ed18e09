// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <ctime>

namespace nk {

// Monotonic time in nanoseconds (CLOCK_MONOTONIC, vDSO: no system call).
inline uint64_t monotonic_ns()
{
    timespec ts {};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1'000'000'000ull + uint64_t(ts.tv_nsec);
}

} // namespace nk
