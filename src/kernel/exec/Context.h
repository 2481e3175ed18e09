// SPDX-License-Identifier: MIT
#pragma once

// The execution context of a kernel thread: which driver's code it is running
// (or calling into), how deep, and whether it is atomic (interrupt handler,
// timer callback, spinlock held).
//
// Deferred kernel work ("softirqs"): device work started by a driver's register
// write, and interrupts raised while a driver runs, must not re-enter the
// driver in the middle of its call. They are queued on the calling thread and
// run when its outermost crossing into driver code returns, on the same CPU,
// with no wakeup of another thread. That is also where posted register writes
// from an isolated driver land, so one crossing carries a whole batch.

#include <cstdint>
#include <vector>

namespace nk {

class Module;

using SoftirqFn = void (*)(void* argument);

struct ThreadContext {
    Module* module { nullptr };   // The driver called into, innermost crossing; null outside.
    uint32_t crossing_depth { 0 }; // Nested kernel->driver calls in progress on this thread.
    uint32_t atomic_depth { 0 };   // > 0: interrupt handler, timer callback or spinlock held.
    bool irqs_off { false };       // spin_lock_irqsave held: no interrupt delivery here.
    bool draining { false };       // Softirqs are being run (do not recurse).

    struct Softirq {
        SoftirqFn fn;
        void* argument;
    };
    std::vector<Softirq> softirqs;
};

// This thread's context (thread-local; never null).
ThreadContext& current_context();

// Runs `fn(argument)` now if this thread is outside every crossing, else when the
// outermost crossing returns. Called from any kernel thread.
void raise_softirq(SoftirqFn fn, void* argument);

// Runs every queued softirq of this thread (including ones they queue). Called
// by CrossingScope at depth 0 and before a thread blocks inside a crossing.
void run_softirqs();

// Entered around every call from the kernel into driver code (native or
// isolated). Records the driver for attribution and runs softirqs on exit.
class CrossingScope {
public:
    enum class Kind : unsigned char { Process, Atomic };
    CrossingScope(Module& module, Kind kind);
    ~CrossingScope();
    CrossingScope(CrossingScope const&) = delete;
    CrossingScope& operator=(CrossingScope const&) = delete;

private:
    Module* m_previous_module;
    Kind m_kind;
};

} // namespace nk
