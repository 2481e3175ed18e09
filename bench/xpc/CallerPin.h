// SPDX-License-Identifier: MIT
#pragma once

// Pins the calling thread to one CPU for as long as the object lives, then
// restores its previous CPU mask. Kernel threads are not pinned in a real run;
// the pinned variants show what the XPC hand-off costs when the scheduler
// cannot move the caller away from its domain worker.

#include "base/Error.h"

#include <sched.h>

namespace nk::bench {

class CallerPin {
public:
    // To the CPU the thread is running on.
    static Result<CallerPin> pin_here();
    static Result<CallerPin> pin_to(int cpu);
    ~CallerPin();
    CallerPin(CallerPin&& other) noexcept;
    CallerPin(CallerPin const&) = delete;
    CallerPin& operator=(CallerPin const&) = delete;
    CallerPin& operator=(CallerPin&&) = delete;

private:
    explicit CallerPin(cpu_set_t previous)
        : m_previous(previous)
    {
    }
    cpu_set_t m_previous;
    bool m_active { true };
};

} // namespace nk::bench
