// SPDX-License-Identifier: MIT
#pragma once

// The core crossings (<nooks/kernel.h>): bus, register windows, DMA,
// interrupts, timers, work, logging. One arguments struct per crossing, the
// same type on both sides: the domain's stub fills it, the kernel's wrapper
// copies it out of shared memory once and checks every field before it acts
// (src/nooks/wrappers/core). Kinds of value:
//
//   ObjectHandle    a kernel object, as the object tracker named it to the driver
//   FunctionHandle  a driver function, as the domain named it (never an address)
//   DriverValue     a driver pointer or cookie the kernel stores and hands back,
//                   never dereferences (drvdata, dev_id, a driver struct's address)
//   DomainAddress   an address in the domain's memory, checked against it
//
// See src/abi/Interface.h for how the lists are joined and what X() means.

#include "abi/Injection.h"

#include <nooks/kernel.h>

#include <cstdint>

namespace nk::abi {

using ObjectHandle = uint64_t;
using FunctionHandle = uint64_t;
using DriverValue = uint64_t;
using DomainAddress = uint64_t;

constexpr unsigned name_size = 32;
constexpr unsigned max_device_ids = 64;
constexpr unsigned max_text = 1024;

// A string by value: `length` bytes of `bytes` count (no terminator needed).
template<unsigned Capacity>
struct Text {
    uint32_t length;
    char bytes[Capacity];
};

struct NoArgs { };

// --- driver -> kernel ------------------------------------------------------------

struct BusRegisterDriverArgs {
    DriverValue key; // the driver's struct nk_bus_driver: names it on unregister
    FunctionHandle probe;
    FunctionHandle remove; // 0: none
    char name[name_size];  // NUL-terminated
    uint32_t id_count;
    uint32_t reserved;
    nk_device_id ids[max_device_ids];
};
struct BusUnregisterDriverArgs {
    DriverValue key;
};
struct DevArgs {
    ObjectHandle dev;
};
struct DevSetDrvdataArgs {
    ObjectHandle dev;
    DriverValue data;
};
struct IomapArgs {
    ObjectHandle dev;
    uint32_t index;
    uint32_t reserved;
};
struct WindowArgs {
    ObjectHandle window;
};
struct RegisterReadArgs {
    ObjectHandle window;
    uint32_t offset;
    uint32_t reserved;
};
struct RegisterWriteArgs {
    ObjectHandle window;
    uint32_t offset;
    uint32_t reserved;
    uint64_t value; // writel: must fit 32 bits
};
struct DmaMapArgs {
    ObjectHandle dev;
    DomainAddress cpu;
    uint64_t size;
};
struct DmaUnmapArgs {
    ObjectHandle dev;
    DomainAddress cpu;
    uint64_t size;
    uint64_t dma;
};
struct DevIrqArgs {
    ObjectHandle dev;
    uint32_t index;
    uint32_t reserved;
};
struct RequestIrqArgs {
    uint32_t irq;
    uint32_t reserved;
    FunctionHandle handler;
    DriverValue dev_id;
    Text<name_size> name;
    uint32_t reserved2;
};
struct FreeIrqArgs {
    uint32_t irq;
    uint32_t reserved;
    DriverValue dev_id;
};
struct IrqArgs {
    uint32_t irq;
};
struct MsleepArgs {
    uint32_t ms;
};
struct CallbackArgs {
    FunctionHandle fn;
    DriverValue data;
};
struct TimerModArgs {
    ObjectHandle timer;
    uint32_t delay_ms;
    uint32_t reserved;
};
struct TimerArgs {
    ObjectHandle timer;
};
struct WorkArgs {
    ObjectHandle work;
};
struct LogArgs {
    uint32_t level; // enum nk_log_level
    Text<max_text> message;
};
struct MessageArgs {
    Text<max_text> message;
};

// --- kernel -> driver ------------------------------------------------------------

struct ProbeArgs {
    FunctionHandle probe;
    ObjectHandle dev;
    nk_device_id id;
    uint32_t reserved;
};
struct RemoveArgs {
    FunctionHandle remove;
    ObjectHandle dev;
};
struct IrqHandlerArgs {
    FunctionHandle handler;
    uint32_t irq;
    uint32_t reserved;
    DriverValue dev_id;
};
struct CallbackRunArgs {
    FunctionHandle fn;
    DriverValue data;
};

// X(class, name, delivery, Args): driver -> kernel.
//   Sync      the domain waits for the kernel's answer.
//   Deferred  queued in the domain, executed by the kernel in order at the next
//             crossing (posted register writes). Arguments of at most
//             deferred_args_capacity bytes.
#define NOOKS_CORE_KERNEL_CALLS(X)                                                        \
    X(core, flush, Sync, NoArgs) /* no-op: carries the deferred queue when it is full */ \
    X(core, bus_register_driver, Sync, BusRegisterDriverArgs)                             \
    X(core, bus_unregister_driver, Sync, BusUnregisterDriverArgs)                         \
    X(core, dev_info, Sync, DevArgs)                                                      \
    X(core, dev_set_drvdata, Sync, DevSetDrvdataArgs)                                     \
    X(core, iomap, Sync, IomapArgs)                                                       \
    X(core, iounmap, Sync, WindowArgs)                                                    \
    X(core, iomem_size, Sync, WindowArgs)                                                 \
    X(core, readl, Sync, RegisterReadArgs)                                                \
    X(core, readq, Sync, RegisterReadArgs)                                                \
    X(core, writel, Deferred, RegisterWriteArgs)                                          \
    X(core, writeq, Deferred, RegisterWriteArgs)                                          \
    X(core, dma_map_coherent, Sync, DmaMapArgs)                                           \
    X(core, dma_unmap_coherent, Sync, DmaUnmapArgs)                                       \
    X(core, dev_irq, Sync, DevIrqArgs)                                                    \
    X(core, request_irq, Sync, RequestIrqArgs)                                            \
    X(core, free_irq, Sync, FreeIrqArgs)                                                  \
    X(core, disable_irq, Sync, IrqArgs)                                                   \
    X(core, disable_irq_nosync, Sync, IrqArgs)                                            \
    X(core, enable_irq, Sync, IrqArgs)                                                    \
    X(core, msleep, Sync, MsleepArgs)                                                     \
    X(core, timer_create, Sync, CallbackArgs)                                             \
    X(core, timer_mod, Sync, TimerModArgs)                                                \
    X(core, timer_del_sync, Sync, TimerArgs)                                              \
    X(core, timer_destroy, Sync, TimerArgs)                                               \
    X(core, work_create, Sync, CallbackArgs)                                              \
    X(core, work_queue, Sync, WorkArgs)                                                   \
    X(core, work_flush, Sync, WorkArgs)                                                   \
    X(core, work_destroy, Sync, WorkArgs)                                                 \
    X(core, log, Sync, LogArgs)                                                           \
    X(core, panic, Sync, MessageArgs)                                                     \
    X(core, misuse, Sync, MessageArgs)

// X(class, name, Args): kernel -> driver, each with a thunk in the domain that
// calls the driver function its handle names, with that entry's C signature.
#define NOOKS_CORE_DRIVER_ENTRIES(X)                                                     \
    X(core, null, NoArgs)           /* does nothing: round trips and liveness */        \
    X(core, flush, NoArgs)          /* runs the kernel's deferred queue, nothing else */ \
    X(core, inject, InjectionSpec)  /* arms the runtime's fault injector */             \
    X(core, module_init, NoArgs)                                                         \
    X(core, module_exit, NoArgs)                                                         \
    X(core, bus_probe, ProbeArgs)                                                        \
    X(core, bus_remove, RemoveArgs)                                                      \
    X(core, irq_handler, IrqHandlerArgs)                                                 \
    X(core, timer_fn, CallbackRunArgs)                                                   \
    X(core, work_fn, CallbackRunArgs)

} // namespace nk::abi
