// SPDX-License-Identifier: MIT
// The table of every core kernel API function a native driver may import. The
// kernel references it at start-up, which links every entry point into the
// program (the --dynamic-list then exports them) and fails the build if a
// function declared in <nooks/kernel.h> has no implementation. Each class
// keeps its own table (src/classes/<class>/api).

#include "kernel/api/NativeApi.h"

#include <nooks/kernel.h>

namespace nk::native_api {

// `used`: kept with its relocations even though only its size is read.
[[gnu::used]] static void const* const symbols[] = {
    reinterpret_cast<void const*>(&nk_bug),
    reinterpret_cast<void const*>(&nk_bus_register_driver),
    reinterpret_cast<void const*>(&nk_bus_unregister_driver),
    reinterpret_cast<void const*>(&nk_dev_get_drvdata),
    reinterpret_cast<void const*>(&nk_dev_info),
    reinterpret_cast<void const*>(&nk_dev_irq),
    reinterpret_cast<void const*>(&nk_dev_set_drvdata),
    reinterpret_cast<void const*>(&nk_disable_irq),
    reinterpret_cast<void const*>(&nk_disable_irq_nosync),
    reinterpret_cast<void const*>(&nk_dma_alloc_coherent),
    reinterpret_cast<void const*>(&nk_dma_free_coherent),
    reinterpret_cast<void const*>(&nk_enable_irq),
    reinterpret_cast<void const*>(&nk_free_irq),
    reinterpret_cast<void const*>(&nk_iomap),
    reinterpret_cast<void const*>(&nk_iomem_size),
    reinterpret_cast<void const*>(&nk_iounmap),
    reinterpret_cast<void const*>(&nk_kfree),
    reinterpret_cast<void const*>(&nk_kmalloc),
    reinterpret_cast<void const*>(&nk_kzalloc),
    reinterpret_cast<void const*>(&nk_log),
    reinterpret_cast<void const*>(&nk_msleep),
    reinterpret_cast<void const*>(&nk_mutex_init),
    reinterpret_cast<void const*>(&nk_mutex_lock),
    reinterpret_cast<void const*>(&nk_mutex_trylock),
    reinterpret_cast<void const*>(&nk_mutex_unlock),
    reinterpret_cast<void const*>(&nk_panic),
    reinterpret_cast<void const*>(&nk_readl),
    reinterpret_cast<void const*>(&nk_readq),
    reinterpret_cast<void const*>(&nk_request_irq),
    reinterpret_cast<void const*>(&nk_spin_lock),
    reinterpret_cast<void const*>(&nk_spin_lock_init),
    reinterpret_cast<void const*>(&nk_spin_lock_irqsave),
    reinterpret_cast<void const*>(&nk_spin_unlock),
    reinterpret_cast<void const*>(&nk_spin_unlock_irqrestore),
    reinterpret_cast<void const*>(&nk_time_ns),
    reinterpret_cast<void const*>(&nk_timer_create),
    reinterpret_cast<void const*>(&nk_timer_del_sync),
    reinterpret_cast<void const*>(&nk_timer_destroy),
    reinterpret_cast<void const*>(&nk_timer_mod),
    reinterpret_cast<void const*>(&nk_udelay),
    reinterpret_cast<void const*>(&nk_vlog),
    reinterpret_cast<void const*>(&nk_work_create),
    reinterpret_cast<void const*>(&nk_work_destroy),
    reinterpret_cast<void const*>(&nk_work_flush),
    reinterpret_cast<void const*>(&nk_work_queue),
    reinterpret_cast<void const*>(&nk_writel),
    reinterpret_cast<void const*>(&nk_writeq),
};

size_t exported_symbol_count()
{
    size_t count = 0;
    for (auto const* symbol : symbols)
        count += symbol != nullptr ? 1 : 0;
    return count;
}

} // namespace nk::native_api
