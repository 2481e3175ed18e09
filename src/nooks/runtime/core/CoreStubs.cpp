// SPDX-License-Identifier: MIT
// The kernel API inside a protection domain (core functions). Each stub fills
// its call's arguments struct (src/abi/core/Calls.h) and crosses into the
// kernel, which checks every field; structures and strings travel by value,
// functions as handles. Memory, locks (kernel/api/locks.cpp) and time stay in
// the domain without crossing.

#include "kernel/api/DriverMisuse.h"
#include "kernel/exec/Context.h"
#include "nooks/runtime/Runtime.h"

#include <nooks/kernel.h>

#include <cstdio>
#include <cstring>
#include <ctime>

using nk::abi::KernelCall;
using nk::runtime::Runtime;

namespace {

uint64_t value(void const* pointer) { return reinterpret_cast<uint64_t>(pointer); }
uint64_t function(void const* pointer) { return Runtime::the().function_handle(pointer); }

template<unsigned N>
nk::abi::Text<N> text(char const* string)
{
    nk::abi::Text<N> out {};
    if (string == nullptr)
        string = "?";
    out.length = static_cast<uint32_t>(strnlen(string, N));
    std::memcpy(out.bytes, string, out.length);
    return out;
}

template<size_t N>
void copy_name(char (&out)[N], char const* name)
{
    std::strncpy(out, name != nullptr ? name : "", N - 1);
}

} // namespace

namespace nk {

void report_driver_misuse(char const* function, char const* what)
{
    char message[abi::max_text];
    std::snprintf(message, sizeof(message), "%s: %s", function, what);
    // The kernel treats a misuse as a driver fault; it does not return.
    Runtime::the().call<KernelCall::misuse>({ text<abi::max_text>(message) });
    Runtime::the().die(abi::FaultKind::RuntimeError, message);
}

void note_lock_initialized(void const* lock, unsigned kind) { Runtime::the().register_lock(lock, kind); }

} // namespace nk

extern "C" {

// --- Bus ---------------------------------------------------------------------

int nk_bus_register_driver(nk_bus_driver const* drv)
{
    nk::abi::BusRegisterDriverArgs args {};
    args.key = value(drv);
    args.probe = function(reinterpret_cast<void const*>(drv->probe));
    args.remove = function(reinterpret_cast<void const*>(drv->remove));
    copy_name(args.name, drv->name);
    if (drv->id_table != nullptr) {
        for (auto const* id = drv->id_table; (id->vendor != 0 || id->device != 0) && args.id_count < nk::abi::max_device_ids; ++id)
            args.ids[args.id_count++] = *id;
    }
    return static_cast<int>(Runtime::the().call<KernelCall::bus_register_driver>(args).result);
}

void nk_bus_unregister_driver(nk_bus_driver const* drv) { Runtime::the().call<KernelCall::bus_unregister_driver>({ value(drv) }); }

int nk_dev_info(nk_device* dev, nk_device_info* info)
{
    nk_device_info answer {};
    auto reply = Runtime::the().call<KernelCall::dev_info>({ value(dev) }, { reinterpret_cast<std::byte*>(&answer), sizeof(answer) });
    if (reply.result == 0) {
        answer.name[sizeof(answer.name) - 1] = '\0';
        *info = answer;
    }
    return static_cast<int>(reply.result);
}

void nk_dev_set_drvdata(nk_device* dev, void* data)
{
    Runtime::the().call<KernelCall::dev_set_drvdata>({ value(dev), value(data) });
    Runtime::the().remember(value(dev), data);
}

void* nk_dev_get_drvdata(nk_device* dev) { return Runtime::the().recall(value(dev)); }

// --- Register windows --------------------------------------------------------

int nk_iomap(nk_device* dev, uint32_t index, nk_iomem** out)
{
    auto reply = Runtime::the().call<KernelCall::iomap>({ value(dev), index, 0 });
    if (reply.result == 0)
        *out = reinterpret_cast<nk_iomem*>(reply.word);
    return static_cast<int>(reply.result);
}

void nk_iounmap(nk_iomem* win) { Runtime::the().call<KernelCall::iounmap>({ value(win) }); }
uint32_t nk_iomem_size(nk_iomem* win) { return static_cast<uint32_t>(Runtime::the().call<KernelCall::iomem_size>({ value(win) }).result); }

// A read is synchronous; it carries the posted writes queued before it, which
// the kernel performs first, so the read sees their effect (as on PCI).
uint32_t nk_readl(nk_iomem* win, uint32_t offset) { return static_cast<uint32_t>(Runtime::the().call<KernelCall::readl>({ value(win), offset, 0 }).word); }
uint64_t nk_readq(nk_iomem* win, uint32_t offset) { return Runtime::the().call<KernelCall::readq>({ value(win), offset, 0 }).word; }
void nk_writel(nk_iomem* win, uint32_t offset, uint32_t data) { Runtime::the().defer<KernelCall::writel>({ value(win), offset, 0, data }); }
void nk_writeq(nk_iomem* win, uint32_t offset, uint64_t data) { Runtime::the().defer<KernelCall::writeq>({ value(win), offset, 0, data }); }

// --- DMA: the memory is the domain's; the kernel maps it for the device --------

void* nk_dma_alloc_coherent(nk_device* dev, size_t size, nk_dma_addr_t* dma)
{
    auto& runtime = Runtime::the();
    if (size == 0)
        return nullptr;
    void* memory = runtime.heap().allocate_pages(size);
    if (memory == nullptr)
        return nullptr;
    auto reply = runtime.call<KernelCall::dma_map_coherent>({ value(dev), value(memory), size });
    if (reply.result != 0) {
        (void)runtime.heap().free(memory);
        return nullptr;
    }
    *dma = reply.word;
    return memory;
}

void nk_dma_free_coherent(nk_device* dev, size_t size, void* cpu, nk_dma_addr_t dma)
{
    auto& runtime = Runtime::the();
    if (cpu == nullptr)
        return;
    auto reply = runtime.call<KernelCall::dma_unmap_coherent>({ value(dev), value(cpu), size, dma });
    if (reply.result == 0) {
        if (auto const* problem = runtime.heap().free(cpu))
            nk::report_driver_misuse("nk_dma_free_coherent", problem);
    }
}

// --- Interrupts --------------------------------------------------------------

int nk_dev_irq(nk_device* dev, uint32_t index) { return static_cast<int>(Runtime::the().call<KernelCall::dev_irq>({ value(dev), index, 0 }).result); }

int nk_request_irq(uint32_t irq, nk_irq_handler_t handler, char const* name, void* dev_id)
{
    nk::abi::RequestIrqArgs args {};
    args.irq = irq;
    args.handler = function(reinterpret_cast<void const*>(handler));
    args.dev_id = value(dev_id);
    args.name = text<nk::abi::name_size>(name);
    return static_cast<int>(Runtime::the().call<KernelCall::request_irq>(args).result);
}

void nk_free_irq(uint32_t irq, void* dev_id) { Runtime::the().call<KernelCall::free_irq>({ irq, 0, value(dev_id) }); }
void nk_disable_irq(uint32_t irq) { Runtime::the().call<KernelCall::disable_irq>({ irq }); }
void nk_disable_irq_nosync(uint32_t irq) { Runtime::the().call<KernelCall::disable_irq_nosync>({ irq }); }
void nk_enable_irq(uint32_t irq) { Runtime::the().call<KernelCall::enable_irq>({ irq }); }

// --- Memory: the domain's own heap, no crossing ---------------------------------

void* nk_kmalloc(size_t size, uint32_t gfp) { return Runtime::the().heap().allocate(size, (gfp & NK_GFP_ZERO) != 0); }
void* nk_kzalloc(size_t size, uint32_t gfp) { return Runtime::the().heap().allocate(size, true); }

void nk_kfree(void const* ptr)
{
    if (auto const* problem = Runtime::the().heap().free(ptr))
        nk::report_driver_misuse("nk_kfree", problem);
}

// --- Time, timers, work ------------------------------------------------------

uint64_t nk_time_ns(void)
{
    timespec ts {};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1'000'000'000ull + uint64_t(ts.tv_nsec);
}

// The kernel sleeps for the driver: the domain never waits on its own clock,
// so a sleeping driver is not mistaken for a hung one.
void nk_msleep(uint32_t ms)
{
    if (nk::current_context().atomic_depth > 0)
        nk::report_driver_misuse("nk_msleep", "may sleep, called in atomic context");
    Runtime::the().call<KernelCall::msleep>({ ms });
}

void nk_udelay(uint32_t us)
{
    auto until = nk_time_ns() + uint64_t(us) * 1000;
    while (nk_time_ns() < until)
        __builtin_ia32_pause();
}

nk_timer* nk_timer_create(nk_timer_fn fn, void* data)
{
    auto reply = Runtime::the().call<KernelCall::timer_create>({ function(reinterpret_cast<void const*>(fn)), value(data) });
    return reply.result == 0 ? reinterpret_cast<nk_timer*>(reply.word) : nullptr;
}

int nk_timer_mod(nk_timer* timer, uint32_t delay_ms) { return static_cast<int>(Runtime::the().call<KernelCall::timer_mod>({ value(timer), delay_ms, 0 }).result); }
int nk_timer_del_sync(nk_timer* timer) { return static_cast<int>(Runtime::the().call<KernelCall::timer_del_sync>({ value(timer) }).result); }
void nk_timer_destroy(nk_timer* timer) { Runtime::the().call<KernelCall::timer_destroy>({ value(timer) }); }

nk_work* nk_work_create(nk_work_fn fn, void* data)
{
    auto reply = Runtime::the().call<KernelCall::work_create>({ function(reinterpret_cast<void const*>(fn)), value(data) });
    return reply.result == 0 ? reinterpret_cast<nk_work*>(reply.word) : nullptr;
}

bool nk_work_queue(nk_work* work) { return Runtime::the().call<KernelCall::work_queue>({ value(work) }).result > 0; }
void nk_work_flush(nk_work* work) { Runtime::the().call<KernelCall::work_flush>({ value(work) }); }
void nk_work_destroy(nk_work* work) { Runtime::the().call<KernelCall::work_destroy>({ value(work) }); }

// --- Logging and fatal errors ------------------------------------------------

void nk_vlog(nk_log_level level, char const* fmt, va_list args)
{
    char message[nk::abi::max_text];
    std::vsnprintf(message, sizeof(message), fmt, args);
    Runtime::the().call<KernelCall::log>({ static_cast<uint32_t>(level), text<nk::abi::max_text>(message) });
}

void nk_panic(char const* fmt, ...)
{
    char message[nk::abi::max_text];
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(message, sizeof(message), fmt, args);
    va_end(args);
    // The kernel fails the driver and ends this domain; it never answers.
    Runtime::the().call<KernelCall::panic>({ text<nk::abi::max_text>(message) });
    Runtime::the().die(nk::abi::FaultKind::Panic, message);
}

} // extern "C"
