// SPDX-License-Identifier: MIT
/*
 * nktest: see nktest.h. Only for tests and benchmarks: it misbehaves on purpose.
 */
#include "nktest.h"
#include "nktest_net.h"
#include "nktest_sound.h"

#include <hw/nkdisk.h>
#include <nooks/block.h>
#include <nooks/kernel.h>

#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

struct nktest {
    nk_device *dev;
    nk_disk *disk;
    const struct nk_blk_request *last_request;
    nk_timer *timer;
    bool refuse; /* NKTEST_REFUSE */
};

static struct {
    nk_device *dev;
    nk_iomem *regs;
    uint32_t probes;
} aux;

static volatile uint32_t sleeping;
static volatile uint32_t max_sleeping;
static volatile uint32_t timer_fired;

/* ---- The auxiliary test device ------------------------------------------ */

static int aux_probe(nk_device *dev, const struct nk_device_id *id)
{
    struct nk_device_info info;
    int err = nk_dev_info(dev, &info);

    if (err)
        return err;
    err = nk_iomap(dev, 0, &aux.regs);
    if (err)
        return err;
    aux.dev = dev;
    aux.probes++;
    return 0;
}

static void aux_remove(nk_device *dev)
{
    nk_log(NK_LOG_DEBUG, "aux device removed");
    nktest_net_release();
    nktest_sound_release();
    nk_iounmap(aux.regs);
    aux.regs = NULL;
    aux.dev = NULL;
}

static const struct nk_device_id aux_ids[] = { { NKTEST_AUX_VENDOR, NKTEST_AUX_DEVICE }, { 0, 0 } };
static const struct nk_bus_driver aux_driver = {
    .name = "nktest-aux", .id_table = aux_ids, .probe = aux_probe, .remove = aux_remove,
};

/* ---- The test clock: interrupts that come on their own --------------------- */

static struct {
    nk_device *dev;
    nk_iomem *regs;
    int irq;
    uint32_t interrupts;
} tick;

static nk_irqreturn_t tick_interrupt(uint32_t irq, void *dev_id)
{
    uint32_t status = nk_readl(tick.regs, NKTICK_REG_STATUS);

    if (!(status & NKTICK_STATUS_TICK))
        return NK_IRQ_NONE;
    nk_writel(tick.regs, NKTICK_REG_STATUS, NKTICK_STATUS_TICK);
    __atomic_add_fetch(&tick.interrupts, 1, __ATOMIC_SEQ_CST);
    return NK_IRQ_HANDLED;
}

static int tick_probe(nk_device *dev, const struct nk_device_id *id)
{
    int err = nk_iomap(dev, 0, &tick.regs);

    if (err)
        return err;
    tick.irq = nk_dev_irq(dev, 0);
    err = tick.irq < 0 ? tick.irq : nk_request_irq((uint32_t)tick.irq, tick_interrupt, "nktest-tick", &tick);
    if (err) {
        nk_iounmap(tick.regs);
        return err;
    }
    tick.dev = dev;
    nk_writel(tick.regs, NKTICK_REG_PERIOD_US, 1000);
    nk_writel(tick.regs, NKTICK_REG_CTRL, NKTICK_CTRL_RUN);
    return 0;
}

static void tick_remove(nk_device *dev)
{
    nk_writel(tick.regs, NKTICK_REG_CTRL, 0);
    nk_free_irq((uint32_t)tick.irq, &tick);
    nk_iounmap(tick.regs);
    tick.regs = NULL;
    tick.dev = NULL;
}

static const struct nk_device_id tick_ids[] = { { NKTICK_VENDOR_ID, NKTICK_DEVICE_ID }, { 0, 0 } };
static const struct nk_bus_driver tick_driver = {
    .name = "nktest-tick", .id_table = tick_ids, .probe = tick_probe, .remove = tick_remove,
};

/* ---- The null disk -------------------------------------------------------- */

static int nktest_queue_rq(nk_disk *disk, const struct nk_blk_request *rq, bool last)
{
    struct nktest *t = nk_blk_disk_private(disk);

    if (__atomic_load_n(&t->refuse, __ATOMIC_ACQUIRE))
        return NK_BLK_STS_RESOURCE;
    t->last_request = rq;
    nk_blk_end_request(disk, rq->tag, NK_BLK_STS_OK);
    return NK_BLK_STS_OK;
}

static void nktest_timer_fn(void *data)
{
    __atomic_add_fetch(&timer_fired, 1, __ATOMIC_SEQ_CST);
}

static int bad_param(struct nktest *t, uint64_t kind)
{
    nk_timer *timer;
    nk_dma_addr_t dma;
    void *cpu;
    void *block;

    switch (kind) {
    case NKTEST_BAD_NOT_A_HANDLE:
        return nk_timer_mod((nk_timer *)(uintptr_t)0x1234, 1);
    case NKTEST_BAD_STALE_HANDLE:
        timer = nk_timer_create(nktest_timer_fn, t);
        nk_timer_destroy(timer);
        return nk_timer_mod(timer, 1);
    case NKTEST_BAD_WRONG_TYPE:
        return nk_timer_mod((nk_timer *)aux.regs, 1);
    case NKTEST_BAD_OFFSET:
        return (int)nk_readl(aux.regs, 0x10000);
    case NKTEST_BAD_ALIGNMENT:
        return (int)nk_readl(aux.regs, 3);
    case NKTEST_BAD_STATUS:
        nk_blk_end_request(t->disk, 0, 99);
        return 0;
    case NKTEST_BAD_TAG:
        nk_blk_end_request(t->disk, 200, NK_BLK_STS_OK);
        return 0;
    case NKTEST_BAD_IRQ:
        return nk_request_irq(4000, NULL, "bogus", t);
    case NKTEST_BAD_ENABLE:
        nk_enable_irq((uint32_t)nk_dev_irq(t->dev, 0));
        return 0;
    case NKTEST_BAD_DMA_FREE:
        cpu = nk_dma_alloc_coherent(t->dev, 4096, &dma);
        nk_dma_free_coherent(t->dev, 4096, cpu, dma);
        nk_dma_free_coherent(t->dev, 4096, cpu, dma);
        return 0;
    case NKTEST_BAD_SLEEP:
        nk_msleep(10u * 60u * 1000u);
        return 0;
    case NKTEST_BAD_KFREE:
        block = (void *)&aux; /* static data: never from the heap */
        nk_kfree(block);
        return 0;
    default:
        if (kind >= NKTEST_BAD_SND_NAME_UNTERMINATED)
            return nktest_sound_bad_param(aux.dev, aux.regs, kind);
        return nktest_net_bad_param(aux.dev, aux.regs, kind);
    }
}

static int nktest_ioctl(nk_disk *disk, uint32_t cmd, uint64_t arg)
{
    struct nktest *t = nk_blk_disk_private(disk);
    uint32_t value = 0;
    uint64_t i;
    nk_spinlock_t lock;
    void *block;
    char *bytes;

    switch (cmd) {
    case NKTEST_ECHO:
        return (int)arg;
    case NKTEST_READS:
        for (i = 0; i < arg; i++)
            value += nk_readl(aux.regs, NKTEST_REG_COUNT) != 0xffffffffu;
        return (int)value;
    case NKTEST_WRITES:
        for (i = 0; i < arg; i++)
            nk_writel(aux.regs, NKTEST_REG_FIFO, (uint32_t)i);
        return (int)nk_readl(aux.regs, NKTEST_REG_COUNT);
    case NKTEST_POSTED:
        for (i = 0; i < arg; i++)
            nk_writel(aux.regs, NKTEST_REG_FIFO, (uint32_t)i);
        return 0;
    case NKTEST_NEST:
        nk_bus_unregister_driver(&aux_driver);
        if (nk_bus_register_driver(&aux_driver) != 0)
            return -EIO;
        return (int)aux.probes;
    case NKTEST_SLEEP:
        value = __atomic_add_fetch(&sleeping, 1, __ATOMIC_SEQ_CST);
        while (value > max_sleeping && !__atomic_compare_exchange_n(&max_sleeping, &(uint32_t){ max_sleeping }, value, 0,
                                                                    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            ;
        nk_msleep((uint32_t)arg);
        __atomic_sub_fetch(&sleeping, 1, __ATOMIC_SEQ_CST);
        return 0;
    case NKTEST_MAX_CONCURRENT:
        return (int)max_sleeping;
    case NKTEST_ALLOC:
        for (i = 0; i < arg; i++) {
            block = nk_kmalloc(64 + (i % 512), NK_GFP_KERNEL);
            if (!block)
                return -ENOMEM;
            nk_kfree(block);
        }
        return 0;
    case NKTEST_TIMER:
        if (!t->timer)
            t->timer = nk_timer_create(nktest_timer_fn, t);
        nk_timer_mod(t->timer, (uint32_t)arg);
        return (int)timer_fired;
    case NKTEST_TICKS:
        return tick.dev ? (int)__atomic_load_n(&tick.interrupts, __ATOMIC_SEQ_CST) : -ENODEV;

    case NKTEST_WILD_WRITE:
        *(volatile uint64_t *)(uintptr_t)arg = 0xdeadbeefdeadbeefull;
        return 0;
    case NKTEST_WRITE_REQUEST:
        if (!t->last_request)
            return -ENODATA;
        ((struct nk_blk_request *)t->last_request)->sector = 12345;
        return 0;
    case NKTEST_BAD_JUMP:
        ((void (*)(void))(uintptr_t)arg)();
        return 0;
    case NKTEST_SYSCALL:
        return (int)syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
    case NKTEST_SPIN:
        for (;;)
            __asm__ volatile("" ::: "memory");
    case NKTEST_PANIC:
        nk_panic("nktest: panic requested (arg %llu)", (unsigned long long)arg);
    case NKTEST_BAD_PARAM:
        return bad_param(t, arg);
    case NKTEST_SLEEP_ATOMIC:
        nk_spin_lock_init(&lock);
        nk_spin_lock(&lock);
        nk_msleep(1);
        nk_spin_unlock(&lock);
        return 0;
    case NKTEST_DOUBLE_FREE:
        block = nk_kmalloc(48, NK_GFP_KERNEL);
        nk_kfree(block);
        nk_kfree(block);
        return 0;
    case NKTEST_HEAP_OVERFLOW:
        bytes = nk_kmalloc(48, NK_GFP_KERNEL);
        block = nk_kmalloc(48, NK_GFP_KERNEL);
        /* Both come from the 64-byte class: overrun the first into wherever the second starts. */
        memset(bytes, 0x41, (size_t)((char *)block - bytes) + 8);
        nk_kfree(block);
        return 0;
    case NKTEST_NULL_DEREF:
        return *(volatile int *)(uintptr_t)arg;
    case NKTEST_REFUSE:
        __atomic_store_n(&t->refuse, arg != 0, __ATOMIC_RELEASE);
        return 0;
    case NKTEST_NET_REGISTER:
    case NKTEST_NET_EXERCISE:
    case NKTEST_NET_UNREGISTER:
    case NKTEST_NET_SEEN:
        return nktest_net_ioctl(aux.dev, cmd, arg);
    case NKTEST_SND_REGISTER:
    case NKTEST_SND_UNREGISTER:
    case NKTEST_SND_PERIOD:
    case NKTEST_SND_EXERCISE:
    case NKTEST_SND_SEEN:
        return nktest_sound_ioctl(aux.dev, cmd, arg);
    default:
        return -ENOTTY;
    }
}

static const struct nk_blk_ops nktest_ops = {
    .ioctl = nktest_ioctl,
    .queue_rq = nktest_queue_rq,
};

static int nktest_probe(nk_device *dev, const struct nk_device_id *id)
{
    struct nk_blk_disk_params params;
    struct nktest *t = nk_kzalloc(sizeof(*t), NK_GFP_KERNEL);
    int err;

    if (!t)
        return -ENOMEM;
    t->dev = dev;
    memset(&params, 0, sizeof(params));
    params.name = "disk0";
    params.capacity_sectors = 1 << 20;
    params.logical_block_size = 512;
    params.max_sectors = 256;
    params.queue_depth = 32;
    params.features = 0;
    err = nk_blk_register_disk(dev, &params, &nktest_ops, t, &t->disk);
    if (err) {
        nk_kfree(t);
        return err;
    }
    nk_dev_set_drvdata(dev, t);
    return 0;
}

static void nktest_remove(nk_device *dev)
{
    struct nktest *t = nk_dev_get_drvdata(dev);

    if (t->timer)
        nk_timer_destroy(t->timer);
    nk_blk_unregister_disk(t->disk);
    nk_kfree(t);
}

static const struct nk_device_id nktest_ids[] = { { NKDISK_VENDOR_ID, NKDISK_DEVICE_ID }, { 0, 0 } };
static const struct nk_bus_driver nktest_driver = {
    .name = "nktest", .id_table = nktest_ids, .probe = nktest_probe, .remove = nktest_remove,
};

static int nktest_init(void)
{
    int err = nk_bus_register_driver(&nktest_driver);

    if (err)
        return err;
    err = nk_bus_register_driver(&aux_driver);
    if (err)
        goto no_aux;
    err = nk_bus_register_driver(&tick_driver);
    if (err)
        goto no_tick;
    return 0;

no_tick:
    nk_bus_unregister_driver(&aux_driver);
no_aux:
    nk_bus_unregister_driver(&nktest_driver);
    return err;
}

static void nktest_exit(void)
{
    nk_bus_unregister_driver(&tick_driver);
    nk_bus_unregister_driver(&aux_driver);
    nk_bus_unregister_driver(&nktest_driver);
}

NK_MODULE("nktest", "test driver: crossings and faults on request", nktest_init, nktest_exit);
