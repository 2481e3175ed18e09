/* SPDX-License-Identifier: MIT */
/*
 * nooks kernel API: core services (C ABI).
 *
 * This is the only interface a driver may use. A driver is a shared object built
 * against this header and <nooks/block.h> (or net/sound); it never sees a kernel
 * type's layout. The same binary runs in every mode:
 *   - native: loaded into the kernel process; these functions are called directly.
 *   - nooks/shadow: loaded into a protection domain; these functions are wrappers
 *     that check every argument and cross into the kernel (XPC).
 *
 * Conventions (read these once; each function below relies on them):
 *   - Errors are negative errno values (-EINVAL, -ENOMEM, ...) from <errno.h>;
 *     0 means success. Pointer-returning functions return NULL on failure.
 *   - Context: "process" context may sleep (mutexes, msleep, GFP_KERNEL);
 *     "atomic" context (interrupt handlers, timer callbacks, code holding a
 *     spinlock) must not. Calling a sleeping function in atomic context is a
 *     driver bug: native mode logs it, nooks mode treats it as a driver fault.
 *   - Handles (nk_device*, nk_iomem*, nk_timer* ...) are opaque kernel objects.
 *     The kernel owns them; a driver holds them between the call that returns
 *     one and the call that releases it, and must not dereference them.
 *     Passing a handle the driver does not hold is a driver fault in nooks mode.
 *   - Memory a driver passes in (strings, structures) is only read during the
 *     call unless the function says otherwise; the kernel keeps its own copy.
 *   - Callbacks a driver registers (probe, handlers, ops tables) are called by
 *     the kernel in the context each one documents. In nooks mode the kernel
 *     never calls a driver's function pointer itself: it crosses into the
 *     domain, which calls it.
 */
#ifndef NOOKS_KERNEL_H
#define NOOKS_KERNEL_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on every incompatible change; a module built for another version is refused. */
#define NK_API_VERSION 1

/* ------------------------------------------------------------------------ */
/* Modules                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * Every driver exports exactly one `nk_module` (use NK_MODULE). The kernel reads
 * it after loading the shared object, refuses a wrong api_version, then calls
 * init() once in process context. init() registers the driver's bus driver(s)
 * and returns 0, or a negative errno (the module is then unloaded and exit() is
 * not called). exit() is called once before unload, in process context, after
 * which the driver must hold no kernel objects.
 */
struct nk_module {
    uint32_t api_version; /* NK_API_VERSION */
    const char *name;     /* short, unique: "nkdisk" */
    const char *description;
    int (*init)(void);
    void (*exit)(void);
};

#define NK_MODULE(name_, description_, init_, exit_)                                   \
    __attribute__((visibility("default"))) const struct nk_module nk_module = {        \
        NK_API_VERSION, (name_), (description_), (init_), (exit_)}

/* ------------------------------------------------------------------------ */
/* Bus, devices and drivers                                                  */
/* ------------------------------------------------------------------------ */

/* A device on the emulated bus (think PCI function). Opaque; owned by the kernel. */
typedef struct nk_device nk_device;

struct nk_device_id {
    uint16_t vendor;
    uint16_t device;
};

/*
 * A bus driver. The kernel matches every unclaimed device against id_table
 * (terminated by an all-zero entry) and calls probe() in process context for
 * each match. probe() returns 0 to claim the device or a negative errno; on
 * error it must have released everything it acquired. remove() is called in
 * process context when the device goes away or the driver is unregistered; it
 * releases everything probe() acquired. The structure must stay valid (static)
 * until nk_bus_unregister_driver returns.
 */
struct nk_bus_driver {
    const char *name;
    const struct nk_device_id *id_table;
    int (*probe)(nk_device *dev, const struct nk_device_id *id);
    void (*remove)(nk_device *dev);
};

/* Process context. Probes matching devices before returning. 0, -EINVAL, -EEXIST. */
int nk_bus_register_driver(const struct nk_bus_driver *drv);
/* Process context. Calls remove() for every device the driver holds, then forgets it. */
void nk_bus_unregister_driver(const struct nk_bus_driver *drv);

struct nk_device_info {
    uint16_t vendor;
    uint16_t device;
    uint32_t nr_windows; /* register windows (BARs): 0 .. nr_windows-1 */
    uint32_t nr_irqs;    /* interrupt vectors: 0 .. nr_irqs-1 */
    char name[32];       /* "disk0" */
};

/* Any context. Fills *info. 0 or -EINVAL. */
int nk_dev_info(nk_device *dev, struct nk_device_info *info);
/* Any context. Driver-private pointer stored with the device; the kernel never dereferences it. */
void nk_dev_set_drvdata(nk_device *dev, void *data);
void *nk_dev_get_drvdata(nk_device *dev);

/* ------------------------------------------------------------------------ */
/* Register windows (memory-mapped I/O)                                      */
/* ------------------------------------------------------------------------ */

typedef struct nk_iomem nk_iomem;

/*
 * Process context. Maps register window `index` of `dev`; *out receives the handle.
 * 0, -EINVAL (no such window), -EBUSY (already mapped by this driver).
 */
int nk_iomap(nk_device *dev, uint32_t index, nk_iomem **out);
/* Process context. The handle is invalid afterwards. */
void nk_iounmap(nk_iomem *win);
/* Size of the window in bytes. */
uint32_t nk_iomem_size(nk_iomem *win);

/*
 * Any context. Register accesses; `offset` must be naturally aligned and inside
 * the window. Writes are posted, as on PCI: they reach the device in order, at
 * the latest when the driver's current call returns to the kernel or when it
 * reads a register of the same window (a read flushes posted writes first).
 * An out-of-range or misaligned access reads all-ones and drops the write
 * (native), or is a driver fault (nooks).
 */
uint32_t nk_readl(nk_iomem *win, uint32_t offset);
uint64_t nk_readq(nk_iomem *win, uint32_t offset);
void nk_writel(nk_iomem *win, uint32_t offset, uint32_t value);
void nk_writeq(nk_iomem *win, uint32_t offset, uint64_t value);

/* ------------------------------------------------------------------------ */
/* DMA                                                                       */
/* ------------------------------------------------------------------------ */

/* An address as the device sees it (through the kernel's IOMMU). Never a CPU pointer. */
typedef uint64_t nk_dma_addr_t;

/*
 * Process context. Allocates `size` bytes of zeroed memory that both the CPU
 * (return value) and the device (*dma) can access, coherently. The device can
 * reach only DMA memory: coherent buffers of its driver and request buffers the
 * block layer mapped for it. Returns NULL on failure. The driver owns the buffer
 * until nk_dma_free_coherent.
 */
void *nk_dma_alloc_coherent(nk_device *dev, size_t size, nk_dma_addr_t *dma);
/* Process context. `cpu` and `dma` must be exactly what the allocation returned. */
void nk_dma_free_coherent(nk_device *dev, size_t size, void *cpu, nk_dma_addr_t dma);

/* ------------------------------------------------------------------------ */
/* Interrupts                                                                */
/* ------------------------------------------------------------------------ */

typedef enum nk_irqreturn {
    NK_IRQ_NONE = 0,   /* not ours (or nothing to do) */
    NK_IRQ_HANDLED = 1,
} nk_irqreturn_t;

/*
 * Interrupt handlers run in atomic context, never concurrently with themselves
 * for the same vector; an interrupt raised while the handler runs makes it run
 * again after it returns. They must not sleep.
 */
typedef nk_irqreturn_t (*nk_irq_handler_t)(uint32_t irq, void *dev_id);

/* Any context. The kernel's interrupt number for vector `index` of `dev`, or -EINVAL. */
int nk_dev_irq(nk_device *dev, uint32_t index);
/*
 * Process context. Installs `handler` for `irq` and enables the line; `dev_id` is
 * passed back to the handler. The handler may run before this returns.
 * 0, -EINVAL, -EBUSY (already requested).
 */
int nk_request_irq(uint32_t irq, nk_irq_handler_t handler, const char *name, void *dev_id);
/* Process context. Disables the line, waits for a running handler, removes it. */
void nk_free_irq(uint32_t irq, void *dev_id);
/* Process context: masks the line and waits until no handler for it runs. Nests with enable. */
void nk_disable_irq(uint32_t irq);
/* Any context: like nk_disable_irq but does not wait. */
void nk_disable_irq_nosync(uint32_t irq);
/* Any context. Undoes one disable; interrupts raised while disabled are delivered now. */
void nk_enable_irq(uint32_t irq);

/* ------------------------------------------------------------------------ */
/* Memory                                                                    */
/* ------------------------------------------------------------------------ */

#define NK_GFP_KERNEL 0u /* may sleep: process context only */
#define NK_GFP_ATOMIC 1u /* never sleeps: any context */
#define NK_GFP_ZERO 2u   /* zero the memory */

/* Returns memory aligned to 16 bytes, or NULL. The driver owns it until nk_kfree. */
void *nk_kmalloc(size_t size, uint32_t gfp);
void *nk_kzalloc(size_t size, uint32_t gfp);
/* Any context. NULL is ignored. */
void nk_kfree(const void *ptr);

/* ------------------------------------------------------------------------ */
/* Locks (the lock word lives in driver memory; init before first use)       */
/* ------------------------------------------------------------------------ */

typedef struct nk_spinlock {
    uint32_t locked;
    uint32_t owner; /* thread id of the holder, for diagnostics */
} nk_spinlock_t;

void nk_spin_lock_init(nk_spinlock_t *lock);
/* Any context. Not recursive. Holding a spinlock makes the caller atomic. */
void nk_spin_lock(nk_spinlock_t *lock);
void nk_spin_unlock(nk_spinlock_t *lock);
/* Also keeps this CPU's interrupt delivery off while held; pass the result to restore. */
uint64_t nk_spin_lock_irqsave(nk_spinlock_t *lock);
void nk_spin_unlock_irqrestore(nk_spinlock_t *lock, uint64_t flags);

typedef struct nk_mutex {
    uint32_t state; /* 0 unlocked, 1 locked, 2 locked with waiters (futex word) */
    uint32_t owner;
} nk_mutex_t;

void nk_mutex_init(nk_mutex_t *mutex);
/* Process context (may sleep). Not recursive. */
void nk_mutex_lock(nk_mutex_t *mutex);
/* Returns true if the lock was taken. Any context. */
bool nk_mutex_trylock(nk_mutex_t *mutex);
void nk_mutex_unlock(nk_mutex_t *mutex);

/* ------------------------------------------------------------------------ */
/* Time, timers and deferred work                                            */
/* ------------------------------------------------------------------------ */

/* Any context. Monotonic time in nanoseconds. */
uint64_t nk_time_ns(void);
/* Process context. Sleeps at least `ms` milliseconds. */
void nk_msleep(uint32_t ms);
/* Any context. Busy-waits `us` microseconds (keep it short). */
void nk_udelay(uint32_t us);

typedef struct nk_timer nk_timer;
typedef void (*nk_timer_fn)(void *data);

/*
 * Process context. Creates an unarmed timer whose callback runs in atomic
 * context on a kernel timer thread. NULL on failure. Destroy with nk_timer_destroy.
 */
nk_timer *nk_timer_create(nk_timer_fn fn, void *data);
/* Any context. (Re)arms the timer to fire once, `delay_ms` from now. Returns 1 if it was pending. */
int nk_timer_mod(nk_timer *timer, uint32_t delay_ms);
/* Process context. Disarms and waits for a running callback. Returns 1 if it was pending. */
int nk_timer_del_sync(nk_timer *timer);
/* Process context. Disarms, waits, frees. The handle is invalid afterwards. */
void nk_timer_destroy(nk_timer *timer);

typedef struct nk_work nk_work;
typedef void (*nk_work_fn)(void *data);

/* Process context. Creates a work item whose function runs in process context on a kernel worker. */
nk_work *nk_work_create(nk_work_fn fn, void *data);
/* Any context. Queues the work; returns false if it was already queued. */
bool nk_work_queue(nk_work *work);
/* Process context. Waits until the work is neither queued nor running. */
void nk_work_flush(nk_work *work);
/* Process context. Cancels a queued run, waits for a running one, frees. */
void nk_work_destroy(nk_work *work);

/* ------------------------------------------------------------------------ */
/* Logging and fatal errors                                                  */
/* ------------------------------------------------------------------------ */

enum nk_log_level { NK_LOG_DEBUG = 0, NK_LOG_INFO = 1, NK_LOG_WARN = 2, NK_LOG_ERR = 3 };

/* Any context. printf-style; the message is attributed to the calling driver. */
void nk_log(enum nk_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void nk_vlog(enum nk_log_level level, const char *fmt, va_list args);

/*
 * The driver found its own state impossible to continue from. Never returns.
 * Native mode: the kernel process dies (as a real kernel would). Nooks mode:
 * the driver fails and is recovered.
 */
__attribute__((noreturn, format(printf, 1, 2))) void nk_panic(const char *fmt, ...);
__attribute__((noreturn)) void nk_bug(const char *file, int line, const char *condition);

#define NK_BUG_ON(cond)                                                                \
    do {                                                                               \
        if (__builtin_expect(!!(cond), 0))                                             \
            nk_bug(__FILE__, __LINE__, #cond);                                         \
    } while (0)

#ifdef __cplusplus
}
#endif

#endif /* NOOKS_KERNEL_H */
