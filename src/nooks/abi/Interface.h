// SPDX-License-Identifier: MIT
#pragma once

// The interface description of the kernel/driver boundary under isolation:
// every crossing, in one list per direction. Everything else is generated from
// these lists by the preprocessor and templates: the call ids both sides use,
// the names in rejection messages and statistics, the kernel's dispatch table
// (which binds each id to its hand-written wrapper body) and the domain's
// entry table. Adding a crossing means adding a line here, a wrapper body
// (kernel side, src/nooks/wrappers) and a stub or thunk (domain side,
// src/nooks/runtime); the build fails until all three exist.
//
// Delivery of driver->kernel calls:
//   Sync      the domain waits for the kernel's answer.
//   Deferred  queued in the domain and executed by the kernel, in order, at the
//             next crossing (any message to the kernel, or the return of the
//             current call): posted register writes, request completions.
// Functions of <nooks/kernel.h> not listed here run inside the domain without
// crossing (memory allocation, locks, time).

#include <cstdint>

// X(name, delivery)
#define NOOKS_KERNEL_CALLS(X)                                                            \
    X(flush, Sync) /* no-op: carries the deferred queue when it is full */               \
    X(bus_register_driver, Sync)                                                         \
    X(bus_unregister_driver, Sync)                                                       \
    X(dev_info, Sync)                                                                    \
    X(dev_set_drvdata, Sync)                                                             \
    X(iomap, Sync)                                                                       \
    X(iounmap, Sync)                                                                     \
    X(iomem_size, Sync)                                                                  \
    X(readl, Sync)                                                                       \
    X(readq, Sync)                                                                       \
    X(writel, Deferred)                                                                  \
    X(writeq, Deferred)                                                                  \
    X(dma_map_coherent, Sync)                                                            \
    X(dma_unmap_coherent, Sync)                                                          \
    X(dev_irq, Sync)                                                                     \
    X(request_irq, Sync)                                                                 \
    X(free_irq, Sync)                                                                    \
    X(disable_irq, Sync)                                                                 \
    X(disable_irq_nosync, Sync)                                                          \
    X(enable_irq, Sync)                                                                  \
    X(msleep, Sync)                                                                      \
    X(timer_create, Sync)                                                                \
    X(timer_mod, Sync)                                                                   \
    X(timer_del_sync, Sync)                                                              \
    X(timer_destroy, Sync)                                                               \
    X(work_create, Sync)                                                                 \
    X(work_queue, Sync)                                                                  \
    X(work_flush, Sync)                                                                  \
    X(work_destroy, Sync)                                                                \
    X(log, Sync)                                                                         \
    X(panic, Sync)                                                                       \
    X(misuse, Sync)                                                                      \
    X(blk_register_disk, Sync)                                                           \
    X(blk_unregister_disk, Sync)                                                         \
    X(blk_end_request, Deferred)                                                         \
    X(blk_run_queue, Deferred)                                                           \
    X(blk_disk_ready, Deferred)

// X(name): kernel -> driver entry points, each with a thunk in the domain that
// calls the driver function the handle names, with the right signature.
#define NOOKS_DRIVER_ENTRIES(X)                                                          \
    X(null)           /* does nothing: round-trip benchmark and liveness probe */       \
    X(flush)          /* runs the kernel's deferred queue, nothing else */              \
    X(inject)         /* arms the runtime's fault injector: fault, entry, after */      \
    X(module_init)                                                                       \
    X(module_exit)                                                                       \
    X(bus_probe)                                                                         \
    X(bus_remove)                                                                        \
    X(irq_handler)                                                                       \
    X(timer_fn)                                                                          \
    X(work_fn)                                                                           \
    X(blk_open)                                                                          \
    X(blk_release)                                                                       \
    X(blk_ioctl)                                                                         \
    X(blk_queue_rq)                                                                      \
    X(blk_commit_rqs)

namespace nk::abi {

enum class Delivery : uint8_t { Sync, Deferred };

enum class KernelCall : uint16_t {
#define NK_X(name, delivery) name,
    NOOKS_KERNEL_CALLS(NK_X)
#undef NK_X
        Count
};

enum class DriverEntry : uint16_t {
#define NK_X(name) name,
    NOOKS_DRIVER_ENTRIES(NK_X)
#undef NK_X
        Count
};

constexpr unsigned kernel_call_count = static_cast<unsigned>(KernelCall::Count);
constexpr unsigned driver_entry_count = static_cast<unsigned>(DriverEntry::Count);

constexpr char const* kernel_call_names[] = {
#define NK_X(name, delivery) "nk_" #name,
    NOOKS_KERNEL_CALLS(NK_X)
#undef NK_X
};

constexpr Delivery kernel_call_delivery[] = {
#define NK_X(name, delivery) Delivery::delivery,
    NOOKS_KERNEL_CALLS(NK_X)
#undef NK_X
};

constexpr char const* driver_entry_names[] = {
#define NK_X(name) #name,
    NOOKS_DRIVER_ENTRIES(NK_X)
#undef NK_X
};

constexpr char const* name_of(KernelCall call)
{
    return static_cast<unsigned>(call) < kernel_call_count ? kernel_call_names[static_cast<unsigned>(call)] : "nk_?";
}
constexpr char const* name_of(DriverEntry entry)
{
    return static_cast<unsigned>(entry) < driver_entry_count ? driver_entry_names[static_cast<unsigned>(entry)] : "?";
}
constexpr Delivery delivery_of(KernelCall call) { return kernel_call_delivery[static_cast<unsigned>(call)]; }

} // namespace nk::abi
