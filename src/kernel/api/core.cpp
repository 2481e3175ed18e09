// SPDX-License-Identifier: MIT
// The kernel API (core), native mode: what a driver loaded into the kernel
// process calls. No checks beyond what Linux does: a native driver is trusted,
// and its bugs are the kernel's bugs. The nooks-mode wrappers check every
// argument before reaching the same services.

#include "base/Log.h"
#include "kernel/api/DriverMisuse.h"
#include "kernel/api/NativeApi.h"
#include "kernel/bus/IoWindow.h"
#include "kernel/native/NativePorts.h"

#include <nooks/kernel.h>

#include <cstdlib>
#include <cstring>
#include <thread>

namespace nk {

void report_driver_misuse(char const* function, char const* what)
{
    auto* module = current_context().module;
    log::get(module != nullptr ? module->name() : "kernel")->error("BUG: {}: {}", function, what);
}

void note_lock_initialized(void const*, unsigned) { }

namespace native_api {

Kernel* caller_kernel(char const* function)
{
    auto* module = caller();
    if (module == nullptr) {
        report_driver_misuse(function, "called from outside driver code");
        return nullptr;
    }
    return &module->kernel();
}

void might_sleep(char const* function)
{
    auto& context = current_context();
    if (context.atomic_depth > 0)
        report_driver_misuse(function, "may sleep, called in atomic context");
    // Work this thread queued (device work, interrupts) must not wait for our sleep.
    run_softirqs();
}

} // namespace native_api
} // namespace nk

using namespace nk;
using nk::native_api::caller;
using nk::native_api::caller_kernel;
using nk::native_api::might_sleep;

extern "C" {

// --- Bus ---------------------------------------------------------------------

int nk_bus_register_driver(nk_bus_driver const* drv)
{
    auto* kernel = caller_kernel(__func__);
    if (kernel == nullptr || drv == nullptr || drv->name == nullptr || drv->id_table == nullptr || drv->probe == nullptr)
        return -EINVAL;
    auto driver = std::make_unique<BusDriver>();
    driver->owner = caller();
    driver->name = drv->name;
    for (auto const* id = drv->id_table; id->vendor != 0 || id->device != 0; ++id)
        driver->ids.push_back(*id);
    driver->port = std::make_unique<NativeBusDriverPort>(*caller(), *drv);
    driver->key = reinterpret_cast<uintptr_t>(drv);
    auto result = kernel->bus().register_driver(std::move(driver));
    return result ? 0 : -result.error().to_errno();
}

void nk_bus_unregister_driver(nk_bus_driver const* drv)
{
    if (auto* kernel = caller_kernel(__func__))
        (void)kernel->bus().unregister_driver(*caller(), reinterpret_cast<uintptr_t>(drv));
}

int nk_dev_info(nk_device* dev, nk_device_info* info)
{
    if (dev == nullptr || info == nullptr)
        return -EINVAL;
    *info = BusDevice::from_handle(dev).info();
    return 0;
}

void nk_dev_set_drvdata(nk_device* dev, void* data) { BusDevice::from_handle(dev).set_drvdata(data); }
void* nk_dev_get_drvdata(nk_device* dev) { return BusDevice::from_handle(dev).drvdata(); }

// --- Register windows --------------------------------------------------------

int nk_iomap(nk_device* dev, uint32_t index, nk_iomem** out)
{
    if (dev == nullptr || out == nullptr)
        return -EINVAL;
    auto* window = BusDevice::from_handle(dev).window(index);
    if (window == nullptr)
        return -EINVAL;
    if (!window->claim())
        return -EBUSY;
    *out = window->handle();
    return 0;
}

void nk_iounmap(nk_iomem* win)
{
    if (win != nullptr)
        IoWindow::from_handle(win).release();
}

uint32_t nk_iomem_size(nk_iomem* win) { return IoWindow::from_handle(win).size(); }
uint32_t nk_readl(nk_iomem* win, uint32_t offset) { return static_cast<uint32_t>(IoWindow::from_handle(win).read(offset, 4)); }
uint64_t nk_readq(nk_iomem* win, uint32_t offset) { return IoWindow::from_handle(win).read(offset, 8); }
void nk_writel(nk_iomem* win, uint32_t offset, uint32_t value) { IoWindow::from_handle(win).write(offset, 4, value); }
void nk_writeq(nk_iomem* win, uint32_t offset, uint64_t value) { IoWindow::from_handle(win).write(offset, 8, value); }

// --- DMA ---------------------------------------------------------------------

void* nk_dma_alloc_coherent(nk_device* dev, size_t size, nk_dma_addr_t* dma)
{
    might_sleep(__func__);
    if (dev == nullptr || dma == nullptr || size == 0 || size > (1ull << 30))
        return nullptr;
    auto rounded = (size + 4095) & ~size_t(4095);
    void* memory = std::aligned_alloc(4096, rounded);
    if (memory == nullptr)
        return nullptr;
    std::memset(memory, 0, rounded);
    auto iova = BusDevice::from_handle(dev).iommu().map(memory, size, DmaDirection::Bidirectional);
    if (!iova) {
        std::free(memory);
        return nullptr;
    }
    *dma = *iova;
    return memory;
}

void nk_dma_free_coherent(nk_device* dev, size_t, void* cpu, nk_dma_addr_t dma)
{
    if (dev == nullptr || cpu == nullptr)
        return;
    if (auto unmapped = BusDevice::from_handle(dev).iommu().unmap(dma); !unmapped) {
        report_driver_misuse(__func__, unmapped.error().message().c_str());
        return;
    }
    std::free(cpu);
}

// --- Interrupts --------------------------------------------------------------

int nk_dev_irq(nk_device* dev, uint32_t index)
{
    auto irq = BusDevice::from_handle(dev).irq(index);
    return irq == 0 ? -EINVAL : static_cast<int>(irq);
}

int nk_request_irq(uint32_t irq, nk_irq_handler_t handler, char const* name, void* dev_id)
{
    auto* kernel = caller_kernel(__func__);
    if (kernel == nullptr || handler == nullptr)
        return -EINVAL;
    auto action = std::make_unique<NativeIrqAction>(*caller(), name != nullptr ? name : "?", handler, dev_id);
    auto result = kernel->irqs().request(irq, std::move(action));
    return result ? 0 : -result.error().to_errno();
}

void nk_free_irq(uint32_t irq, void* dev_id)
{
    if (auto* kernel = caller_kernel(__func__)) {
        if (auto freed = kernel->irqs().free(irq, dev_id); !freed)
            report_driver_misuse(__func__, freed.error().message().c_str());
    }
}

void nk_disable_irq(uint32_t irq)
{
    if (auto* kernel = caller_kernel(__func__))
        (void)kernel->irqs().disable(irq, true);
}

void nk_disable_irq_nosync(uint32_t irq)
{
    if (auto* kernel = caller_kernel(__func__))
        (void)kernel->irqs().disable(irq, false);
}

void nk_enable_irq(uint32_t irq)
{
    if (auto* kernel = caller_kernel(__func__)) {
        if (auto enabled = kernel->irqs().enable(irq); !enabled)
            report_driver_misuse(__func__, enabled.error().message().c_str());
    }
}

// --- Memory ------------------------------------------------------------------

void* nk_kmalloc(size_t size, uint32_t gfp)
{
    if ((gfp & NK_GFP_ATOMIC) == 0)
        might_sleep(__func__);
    if (size == 0 || size > (1ull << 30))
        return nullptr;
    return (gfp & NK_GFP_ZERO) != 0 ? std::calloc(1, size) : std::malloc(size);
}

void* nk_kzalloc(size_t size, uint32_t gfp) { return nk_kmalloc(size, gfp | NK_GFP_ZERO); }

void nk_kfree(void const* ptr) { std::free(const_cast<void*>(ptr)); }

// --- Time, timers, work ------------------------------------------------------

uint64_t nk_time_ns(void) { return monotonic_ns(); }

void nk_msleep(uint32_t ms)
{
    might_sleep(__func__);
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

void nk_udelay(uint32_t us)
{
    auto until = monotonic_ns() + uint64_t(us) * 1000;
    while (monotonic_ns() < until)
        __builtin_ia32_pause();
}

nk_timer* nk_timer_create(nk_timer_fn fn, void* data)
{
    auto* kernel = caller_kernel(__func__);
    if (kernel == nullptr || fn == nullptr)
        return nullptr;
    auto* timer = kernel->timers().create(*caller(), std::make_unique<NativeTimerCallback>(*caller(), fn, data));
    return reinterpret_cast<nk_timer*>(timer);
}

int nk_timer_mod(nk_timer* timer, uint32_t delay_ms)
{
    auto* kernel = caller_kernel(__func__);
    if (kernel == nullptr || timer == nullptr)
        return -EINVAL;
    return kernel->timers().mod(*reinterpret_cast<Timer*>(timer), delay_ms) ? 1 : 0;
}

int nk_timer_del_sync(nk_timer* timer)
{
    auto* kernel = caller_kernel(__func__);
    if (kernel == nullptr || timer == nullptr)
        return -EINVAL;
    might_sleep(__func__);
    return kernel->timers().del_sync(*reinterpret_cast<Timer*>(timer)) ? 1 : 0;
}

void nk_timer_destroy(nk_timer* timer)
{
    auto* kernel = caller_kernel(__func__);
    if (kernel == nullptr || timer == nullptr)
        return;
    might_sleep(__func__);
    kernel->timers().destroy(*reinterpret_cast<Timer*>(timer));
}

nk_work* nk_work_create(nk_work_fn fn, void* data)
{
    auto* kernel = caller_kernel(__func__);
    if (kernel == nullptr || fn == nullptr)
        return nullptr;
    auto* work = kernel->work().create(*caller(), std::make_unique<NativeWorkCallback>(*caller(), fn, data));
    return reinterpret_cast<nk_work*>(work);
}

bool nk_work_queue(nk_work* work)
{
    auto* kernel = caller_kernel(__func__);
    return kernel != nullptr && work != nullptr && kernel->work().queue(*reinterpret_cast<Work*>(work));
}

void nk_work_flush(nk_work* work)
{
    auto* kernel = caller_kernel(__func__);
    if (kernel == nullptr || work == nullptr)
        return;
    might_sleep(__func__);
    kernel->work().flush(*reinterpret_cast<Work*>(work));
}

void nk_work_destroy(nk_work* work)
{
    auto* kernel = caller_kernel(__func__);
    if (kernel == nullptr || work == nullptr)
        return;
    might_sleep(__func__);
    kernel->work().destroy(*reinterpret_cast<Work*>(work));
}

// --- Logging and fatal errors ------------------------------------------------

void nk_vlog(nk_log_level level, char const* fmt, va_list args)
{
    char message[512];
    std::vsnprintf(message, sizeof(message), fmt, args);
    auto length = strnlen(message, sizeof(message));
    while (length > 0 && message[length - 1] == '\n')
        message[--length] = '\0';
    auto* module = caller();
    auto logger = log::get(module != nullptr ? module->name() : "driver");
    switch (level) {
    case NK_LOG_DEBUG: logger->debug("{}", message); break;
    case NK_LOG_INFO: logger->info("{}", message); break;
    case NK_LOG_WARN: logger->warn("{}", message); break;
    default: logger->error("{}", message); break;
    }
}

// Native mode has no protection: a driver's panic is the kernel's panic.
void nk_panic(char const* fmt, ...)
{
    char message[512];
    va_list args;
    va_start(args, fmt);
    std::vsnprintf(message, sizeof(message), fmt, args);
    va_end(args);
    auto* module = caller();
    log::get("kernel")->critical("Kernel panic - driver {}: {}", module != nullptr ? module->name() : "?", message);
    spdlog::shutdown();
    std::abort();
}

} // extern "C"
