// SPDX-License-Identifier: MIT
#pragma once

// The kernel's interrupt controller: numbered lines, one action per line.
//
// Delivery model. A device raises a line from whatever kernel thread it runs
// on. If that thread is outside every crossing into driver code, the handler
// runs right there; otherwise it runs when the thread's outermost crossing
// returns (a softirq). A line's handler never runs concurrently with itself: a
// raise while it runs makes it run once more afterwards (edge semantics).
// Disabled lines remember raises and deliver them when enabled again.
//
// Thread-safety: all methods may be called from any kernel thread.

#include "base/Error.h"
#include "base/Mutex.h"
#include "base/ThreadAnnotations.h"
#include "kernel/irq/IrqAction.h"

#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace nk {

class IrqController {
public:
    struct LineStats {
        uint32_t irq;
        std::string device;
        std::string handler; // empty if none
        uint64_t raised;
        uint64_t handled;
        uint64_t unhandled; // handler said NK_IRQ_NONE, or no handler
        uint32_t disable_depth;
    };

    IrqController() = default;
    IrqController(IrqController const&) = delete;
    IrqController& operator=(IrqController const&) = delete;

    // Allocates a line for a device vector ("disk0:0"). Lines live as long as the controller.
    uint32_t allocate_line(std::string device_name);

    // Installs `action` on `irq` and enables the line. InvalidArgument for an
    // unknown line, AlreadyExists if the line has an action.
    Result<void> request(uint32_t irq, std::unique_ptr<IrqAction> action);
    // Disables the line, waits for a running handler (withdrawing it: see
    // IrqAction::withdraw), removes and returns the
    // action whose dev_id matches (NotFound otherwise). Must not be called from
    // the line's own handler.
    Result<std::unique_ptr<IrqAction>> free(uint32_t irq, void* dev_id);

    // Masks the line (nests). With `wait`, also waits for a running handler;
    // a handler withdrawn on its way in (IrqAction::withdraw) leaves the
    // interrupt pending for enable().
    Result<void> disable(uint32_t irq, bool wait);
    // Undoes one disable; delivers a raise that arrived while disabled.
    Result<void> enable(uint32_t irq);

    // Device side: the line fired.
    void raise(uint32_t irq);

    bool is_valid(uint32_t irq) const;
    std::vector<LineStats> stats() const;

private:
    struct Line {
        uint32_t number;
        IrqController* controller;
        std::string device;
        Mutex mutex;
        ConditionVariable idle;
        std::unique_ptr<IrqAction> action NK_GUARDED_BY(mutex);
        uint32_t disable_depth NK_GUARDED_BY(mutex) { 0 };
        bool running NK_GUARDED_BY(mutex) { false };
        bool pending NK_GUARDED_BY(mutex) { false };
        uint64_t raised NK_GUARDED_BY(mutex) { 0 };
        uint64_t handled NK_GUARDED_BY(mutex) { 0 };
        uint64_t unhandled NK_GUARDED_BY(mutex) { 0 };
    };

    Line* line(uint32_t irq) const;
    static void deliver_softirq(void* line);
    static void deliver(Line& line);

    mutable Mutex m_mutex;
    // deque: stable addresses; lines are only added.
    std::deque<Line> m_lines NK_GUARDED_BY(m_mutex);
};

} // namespace nk
