// SPDX-License-Identifier: MIT
// Driver locks (spinlocks, mutexes). The lock word lives in driver memory, so
// these run wherever the driver runs, without crossing into the kernel: they
// are linked into the kernel process (native) and into the domain runtime.

#include "kernel/api/DriverMisuse.h"
#include "kernel/exec/Context.h"

#include <nooks/kernel.h>

#include <atomic>
#include <climits>
#include <ctime>
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace {

uint32_t thread_id()
{
    thread_local uint32_t id = static_cast<uint32_t>(::syscall(SYS_gettid));
    return id;
}

void cpu_relax() { __builtin_ia32_pause(); }

// Not FUTEX_PRIVATE_FLAG: in a protection domain the word is in shared memory.
long futex(uint32_t* word, int op, uint32_t value)
{
    return ::syscall(SYS_futex, word, op, value, nullptr, nullptr, 0);
}

} // namespace

extern "C" {

void nk_spin_lock_init(nk_spinlock_t* lock)
{
    lock->locked = 0;
    lock->owner = 0;
    nk::note_lock_initialized(lock, 1);
}

void nk_spin_lock(nk_spinlock_t* lock)
{
    std::atomic_ref<uint32_t> word(lock->locked);
    if (lock->owner == thread_id() && word.load(std::memory_order_relaxed) != 0)
        nk::report_driver_misuse("nk_spin_lock", "recursive acquisition (deadlock)");
    for (unsigned spins = 0;; ++spins) {
        if (word.load(std::memory_order_relaxed) == 0 && word.exchange(1, std::memory_order_acquire) == 0)
            break;
        // With 2 vCPUs the holder may be preempted: give it the CPU instead of burning it.
        if (spins < 128)
            cpu_relax();
        else
            sched_yield();
    }
    lock->owner = thread_id();
    nk::current_context().atomic_depth++;
}

void nk_spin_unlock(nk_spinlock_t* lock)
{
    std::atomic_ref<uint32_t> word(lock->locked);
    if (word.load(std::memory_order_relaxed) == 0) {
        nk::report_driver_misuse("nk_spin_unlock", "unlocking a spinlock that is not locked");
        return;
    }
    lock->owner = 0;
    word.store(0, std::memory_order_release);
    auto& context = nk::current_context();
    if (context.atomic_depth > 0)
        context.atomic_depth--;
}

uint64_t nk_spin_lock_irqsave(nk_spinlock_t* lock)
{
    nk_spin_lock(lock);
    auto& context = nk::current_context();
    uint64_t flags = context.irqs_off ? 1 : 0;
    context.irqs_off = true;
    return flags;
}

void nk_spin_unlock_irqrestore(nk_spinlock_t* lock, uint64_t flags)
{
    auto& context = nk::current_context();
    context.irqs_off = flags != 0;
    nk_spin_unlock(lock);
    // Interrupts held back while this thread had them off are delivered now.
    if (!context.irqs_off && context.crossing_depth == 0 && !context.softirqs.empty())
        nk::run_softirqs();
}

void nk_mutex_init(nk_mutex_t* mutex)
{
    mutex->state = 0;
    mutex->owner = 0;
    nk::note_lock_initialized(mutex, 2);
}

// Drepper's three-state mutex: 0 unlocked, 1 locked, 2 locked with waiters.
void nk_mutex_lock(nk_mutex_t* mutex)
{
    if (nk::current_context().atomic_depth > 0)
        nk::report_driver_misuse("nk_mutex_lock", "may sleep, called in atomic context");
    std::atomic_ref<uint32_t> state(mutex->state);
    if (mutex->owner == thread_id() && state.load(std::memory_order_relaxed) != 0)
        nk::report_driver_misuse("nk_mutex_lock", "recursive acquisition (deadlock)");
    uint32_t expected = 0;
    if (!state.compare_exchange_strong(expected, 1, std::memory_order_acquire)) {
        // About to sleep: let queued device work and interrupts run first.
        nk::run_softirqs();
        if (expected != 2)
            expected = state.exchange(2, std::memory_order_acquire);
        while (expected != 0) {
            futex(&mutex->state, FUTEX_WAIT, 2);
            expected = state.exchange(2, std::memory_order_acquire);
        }
    }
    mutex->owner = thread_id();
}

bool nk_mutex_trylock(nk_mutex_t* mutex)
{
    std::atomic_ref<uint32_t> state(mutex->state);
    uint32_t expected = 0;
    if (!state.compare_exchange_strong(expected, 1, std::memory_order_acquire))
        return false;
    mutex->owner = thread_id();
    return true;
}

void nk_mutex_unlock(nk_mutex_t* mutex)
{
    std::atomic_ref<uint32_t> state(mutex->state);
    if (state.load(std::memory_order_relaxed) == 0) {
        nk::report_driver_misuse("nk_mutex_unlock", "unlocking a mutex that is not locked");
        return;
    }
    mutex->owner = 0;
    if (state.exchange(0, std::memory_order_release) == 2)
        futex(&mutex->state, FUTEX_WAKE, 1);
}

} // extern "C"
