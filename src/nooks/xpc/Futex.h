// SPDX-License-Identifier: MIT
#pragma once

// Futex helpers for words in memory shared between processes (never
// FUTEX_PRIVATE_FLAG: the kernel process and a protection domain wait on the
// same physical words through different mappings).

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <ctime>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace nk::xpc {

// Sleeps while *word == expected, at most `timeout_ns` (0: no limit). Returns
// false on timeout. Spurious returns are possible; callers re-check.
inline bool futex_wait(std::atomic<uint32_t>& word, uint32_t expected, uint64_t timeout_ns)
{
    timespec timeout { static_cast<time_t>(timeout_ns / 1'000'000'000ull), static_cast<long>(timeout_ns % 1'000'000'000ull) };
    long result = ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT, expected,
        timeout_ns != 0 ? &timeout : nullptr, nullptr, 0);
    return !(result != 0 && errno == ETIMEDOUT);
}

inline void futex_wake(std::atomic<uint32_t>& word, int count = 1)
{
    ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAKE, count, nullptr, nullptr, 0);
}

inline void cpu_relax() { __builtin_ia32_pause(); }

} // namespace nk::xpc
