// SPDX-License-Identifier: MIT
#pragma once

// Progress lines on stdout, "[  12.3 s] ...", timed from the start of the
// benchmark, flushed at once so a slow or hung step is visible as it happens.

#include "base/Clock.h"

#include <cstdio>
#include <fmt/format.h>

namespace nk::bench {

class Progress {
public:
    Progress()
        : m_start(monotonic_ns())
    {
    }

    template<typename... Args>
    void line(fmt::format_string<Args...> format, Args&&... args)
    {
        auto text = fmt::format(format, std::forward<Args>(args)...);
        std::printf("[%7.1f s] %s\n", elapsed_seconds(), text.c_str());
        std::fflush(stdout);
    }

    double elapsed_seconds() const { return static_cast<double>(monotonic_ns() - m_start) / 1e9; }

private:
    uint64_t m_start;
};

} // namespace nk::bench
