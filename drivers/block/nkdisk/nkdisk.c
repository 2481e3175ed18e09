// SPDX-License-Identifier: MIT
/*
 * nkdisk: block driver for the NKDISK storage controller (<hw/nkdisk.h>).
 *
 * One submission ring and one completion ring in coherent DMA memory. The block
 * layer's tag is the command id, and the queue depth is one less than the ring
 * size, so neither ring can overflow. Completions are found by their phase bit,
 * so the interrupt handler reads no register. A fatal controller error fails
 * the commands in flight and resets the controller from a work item.
 */
#include <hw/nkdisk.h>
#include <nooks/block.h>
#include <nooks/kernel.h>

#include <string.h>

#define NKDISK_QUEUE_SIZE 256u

struct nkdisk {
    nk_device *dev;
    nk_iomem *regs;
    nk_disk *disk;
    char name[32];

    uint64_t capacity;    /* sectors */
    uint32_t max_sectors; /* per command */

    struct nkdisk_sqe *sq;
    nk_dma_addr_t sq_dma;
    struct nkdisk_cqe *cq;
    nk_dma_addr_t cq_dma;
    uint32_t qsize;

    nk_spinlock_t lock;     /* protects everything below */
    uint32_t sq_tail;       /* next slot we fill */
    uint32_t sq_head;       /* first slot the device has not consumed (from CQ entries) */
    uint32_t cq_head;       /* next completion slot to look at */
    uint16_t cq_phase;      /* phase value of a new completion */
    uint32_t in_flight;     /* commands submitted, not completed */
    uint8_t *tag_busy;      /* tag -> command outstanding on the device */
    bool broken;            /* fatal error seen; reset pending */

    int irq_cq;
    int irq_err;
    nk_work *reset_work;
    uint32_t opens;
};

static void nkdisk_program_rings(struct nkdisk *nd)
{
    nk_writel(nd->regs, NKDISK_REG_CTRL, NKDISK_CTRL_RESET);
    nk_writeq(nd->regs, NKDISK_REG_SQ_BASE, nd->sq_dma);
    nk_writeq(nd->regs, NKDISK_REG_CQ_BASE, nd->cq_dma);
    nk_writel(nd->regs, NKDISK_REG_QUEUE_SIZE, nd->qsize);
    nk_writel(nd->regs, NKDISK_REG_INT_MASK, 0);
    nk_writel(nd->regs, NKDISK_REG_CTRL, NKDISK_CTRL_ENABLE);
}

/* Brings the controller up from any state. Returns 0 or -EIO. */
static int nkdisk_start_controller(struct nkdisk *nd)
{
    uint32_t status;

    memset(nd->sq, 0, nd->qsize * sizeof(*nd->sq));
    memset(nd->cq, 0, nd->qsize * sizeof(*nd->cq));
    nd->sq_tail = 0;
    nd->sq_head = 0;
    nd->cq_head = 0;
    nd->cq_phase = 1;
    nkdisk_program_rings(nd);

    status = nk_readl(nd->regs, NKDISK_REG_STATUS);
    if (!(status & NKDISK_STATUS_READY)) {
        nk_log(NK_LOG_ERR, "%s: controller did not become ready (status %#x, fatal code %u)", nd->name, status,
               NKDISK_STATUS_FATAL_CODE(status));
        return -EIO;
    }
    return 0;
}

/* ---- Requests ---------------------------------------------------------- */

static int nkdisk_queue_rq(nk_disk *disk, const struct nk_blk_request *rq, bool last)
{
    struct nkdisk *nd = nk_blk_disk_private(disk);
    struct nkdisk_sqe *sqe;
    uint32_t mask = nd->qsize - 1;
    uint64_t flags;

    if (rq->tag >= nd->qsize - 1)
        return NK_BLK_STS_IOERR;

    flags = nk_spin_lock_irqsave(&nd->lock);
    if (nd->broken) {
        nk_spin_unlock_irqrestore(&nd->lock, flags);
        return NK_BLK_STS_RESOURCE; /* the reset work restarts the queue */
    }
    if (((nd->sq_tail + 1) & mask) == nd->sq_head || nd->in_flight >= nd->qsize - 1) {
        if (last)
            nk_writel(nd->regs, NKDISK_REG_SQ_TAIL, nd->sq_tail);
        nk_spin_unlock_irqrestore(&nd->lock, flags);
        return NK_BLK_STS_RESOURCE;
    }

    sqe = &nd->sq[nd->sq_tail];
    memset(sqe, 0, sizeof(*sqe));
    sqe->cid = (uint16_t)rq->tag;
    switch (rq->op) {
    case NK_BLK_READ:
        sqe->opcode = NKDISK_OP_READ;
        break;
    case NK_BLK_WRITE:
        sqe->opcode = NKDISK_OP_WRITE;
        if (rq->flags & NK_BLK_FUA)
            sqe->flags = NKDISK_SQE_FUA;
        break;
    case NK_BLK_FLUSH:
        sqe->opcode = NKDISK_OP_FLUSH;
        break;
    default:
        nk_spin_unlock_irqrestore(&nd->lock, flags);
        return NK_BLK_STS_NOTSUPP;
    }
    if (rq->op != NK_BLK_FLUSH) {
        sqe->sector = rq->sector;
        sqe->nr_sectors = rq->nr_sectors;
        sqe->data_addr = rq->dma_addr;
    }
    nd->tag_busy[rq->tag] = 1;
    nd->in_flight++;
    nd->sq_tail = (nd->sq_tail + 1) & mask;
    /* The doorbell is rung once per batch. */
    if (last)
        nk_writel(nd->regs, NKDISK_REG_SQ_TAIL, nd->sq_tail);
    nk_spin_unlock_irqrestore(&nd->lock, flags);
    return NK_BLK_STS_OK;
}

static void nkdisk_commit_rqs(nk_disk *disk)
{
    struct nkdisk *nd = nk_blk_disk_private(disk);
    uint64_t flags = nk_spin_lock_irqsave(&nd->lock);

    if (!nd->broken)
        nk_writel(nd->regs, NKDISK_REG_SQ_TAIL, nd->sq_tail);
    nk_spin_unlock_irqrestore(&nd->lock, flags);
}

static nk_irqreturn_t nkdisk_completion_irq(uint32_t irq, void *dev_id)
{
    struct nkdisk *nd = dev_id;
    uint32_t mask = nd->qsize - 1;
    unsigned handled = 0;

    nk_spin_lock(&nd->lock);
    for (;;) {
        struct nkdisk_cqe *cqe = &nd->cq[nd->cq_head];
        uint16_t phase = __atomic_load_n(&cqe->phase, __ATOMIC_ACQUIRE);
        uint16_t cid, status;

        if ((phase & 1) != nd->cq_phase)
            break;
        cid = cqe->cid;
        status = cqe->status;
        nd->sq_head = cqe->sq_head & mask;
        nd->cq_head = (nd->cq_head + 1) & mask;
        if (nd->cq_head == 0)
            nd->cq_phase ^= 1;
        handled++;

        if (cid >= nd->qsize - 1 || !nd->tag_busy[cid]) {
            nk_log(NK_LOG_WARN, "%s: completion for unknown command %u", nd->name, cid);
            continue;
        }
        nd->tag_busy[cid] = 0;
        nd->in_flight--;
        if (status != NKDISK_SC_OK)
            nk_log(NK_LOG_WARN, "%s: command %u failed with status %u", nd->name, cid, status);
        nk_blk_end_request(nd->disk, cid, status == NKDISK_SC_OK ? NK_BLK_STS_OK : NK_BLK_STS_IOERR);
    }
    if (handled)
        nk_writel(nd->regs, NKDISK_REG_CQ_HEAD, nd->cq_head);
    nk_spin_unlock(&nd->lock);
    return handled ? NK_IRQ_HANDLED : NK_IRQ_NONE;
}

/* ---- Fatal errors ------------------------------------------------------ */

static nk_irqreturn_t nkdisk_error_irq(uint32_t irq, void *dev_id)
{
    struct nkdisk *nd = dev_id;
    uint32_t status = nk_readl(nd->regs, NKDISK_REG_STATUS);

    if (!(status & NKDISK_STATUS_FATAL))
        return NK_IRQ_NONE;
    nk_log(NK_LOG_ERR, "%s: controller fatal error %u, resetting", nd->name, NKDISK_STATUS_FATAL_CODE(status));
    nk_spin_lock(&nd->lock);
    nd->broken = true;
    nk_spin_unlock(&nd->lock);
    nk_writel(nd->regs, NKDISK_REG_INT_STATUS, NKDISK_INT_ERROR);
    nk_work_queue(nd->reset_work);
    return NK_IRQ_HANDLED;
}

/* Fails what the dead controller held, then restarts it. Process context. */
static void nkdisk_reset_work(void *data)
{
    struct nkdisk *nd = data;
    uint32_t tag;
    uint64_t flags;

    nk_disable_irq((uint32_t)nd->irq_cq);
    flags = nk_spin_lock_irqsave(&nd->lock);
    for (tag = 0; tag < nd->qsize - 1; tag++) {
        if (nd->tag_busy[tag]) {
            nd->tag_busy[tag] = 0;
            nk_blk_end_request(nd->disk, tag, NK_BLK_STS_IOERR);
        }
    }
    nd->in_flight = 0;
    nk_spin_unlock_irqrestore(&nd->lock, flags);

    if (nkdisk_start_controller(nd) == 0) {
        flags = nk_spin_lock_irqsave(&nd->lock);
        nd->broken = false;
        nk_spin_unlock_irqrestore(&nd->lock, flags);
        nk_log(NK_LOG_INFO, "%s: controller reset done", nd->name);
    }
    nk_enable_irq((uint32_t)nd->irq_cq);
    nk_blk_run_queue(nd->disk);
}

/* ---- Configuration ----------------------------------------------------- */

static int nkdisk_open(nk_disk *disk)
{
    struct nkdisk *nd = nk_blk_disk_private(disk);

    nd->opens++;
    return 0;
}

static void nkdisk_release(nk_disk *disk)
{
    struct nkdisk *nd = nk_blk_disk_private(disk);

    nd->opens--;
}

static int nkdisk_ioctl(nk_disk *disk, uint32_t cmd, uint64_t arg)
{
    struct nkdisk *nd = nk_blk_disk_private(disk);
    uint32_t config;

    switch (cmd) {
    case NK_BLK_IOCTL_GET_WRITE_CACHE:
        return (nk_readl(nd->regs, NKDISK_REG_CONFIG) & NKDISK_CONFIG_WCE) ? 1 : 0;
    case NK_BLK_IOCTL_SET_WRITE_CACHE:
        if (arg > 1)
            return -EINVAL;
        config = nk_readl(nd->regs, NKDISK_REG_CONFIG);
        config = arg ? (config | NKDISK_CONFIG_WCE) : (config & ~NKDISK_CONFIG_WCE);
        nk_writel(nd->regs, NKDISK_REG_CONFIG, config);
        nk_log(NK_LOG_INFO, "%s: write cache %s", nd->name, arg ? "on" : "off");
        return 0;
    default:
        return -ENOTTY;
    }
}

static const struct nk_blk_ops nkdisk_ops = {
    .open = nkdisk_open,
    .release = nkdisk_release,
    .ioctl = nkdisk_ioctl,
    .queue_rq = nkdisk_queue_rq,
    .commit_rqs = nkdisk_commit_rqs,
};

/* ---- Probe and remove -------------------------------------------------- */

static void nkdisk_free(struct nkdisk *nd)
{
    if (nd->reset_work)
        nk_work_destroy(nd->reset_work);
    if (nd->sq)
        nk_dma_free_coherent(nd->dev, nd->qsize * sizeof(*nd->sq), nd->sq, nd->sq_dma);
    if (nd->cq)
        nk_dma_free_coherent(nd->dev, nd->qsize * sizeof(*nd->cq), nd->cq, nd->cq_dma);
    if (nd->regs)
        nk_iounmap(nd->regs);
    nk_kfree(nd->tag_busy);
    nk_kfree(nd);
}

static int nkdisk_probe(nk_device *dev, const struct nk_device_id *id)
{
    struct nk_device_info info;
    struct nk_blk_disk_params params;
    struct nkdisk *nd;
    uint32_t max_queue;
    int err;

    err = nk_dev_info(dev, &info);
    if (err)
        return err;
    nd = nk_kzalloc(sizeof(*nd), NK_GFP_KERNEL);
    if (!nd)
        return -ENOMEM;
    nd->dev = dev;
    memcpy(nd->name, info.name, sizeof(nd->name));
    nd->name[sizeof(nd->name) - 1] = '\0';
    nk_spin_lock_init(&nd->lock);

    err = nk_iomap(dev, 0, &nd->regs);
    if (err)
        goto fail;
    if (nk_readl(nd->regs, NKDISK_REG_MAGIC) != NKDISK_MAGIC ||
        nk_readl(nd->regs, NKDISK_REG_VERSION) != NKDISK_VERSION) {
        nk_log(NK_LOG_ERR, "%s: not an NKDISK controller this driver knows", nd->name);
        err = -ENODEV;
        goto fail;
    }
    nd->capacity = nk_readq(nd->regs, NKDISK_REG_CAPACITY);
    nd->max_sectors = nk_readl(nd->regs, NKDISK_REG_MAX_SECTORS);
    max_queue = nk_readl(nd->regs, NKDISK_REG_MAX_QUEUE);
    nd->qsize = max_queue < NKDISK_QUEUE_SIZE ? max_queue : NKDISK_QUEUE_SIZE;
    if (nd->capacity == 0 || nd->max_sectors == 0 || nd->qsize < 2) {
        nk_log(NK_LOG_ERR, "%s: controller reports an unusable geometry", nd->name);
        err = -ENODEV;
        goto fail;
    }
    if (nd->max_sectors > 2048)
        nd->max_sectors = 2048;

    nd->tag_busy = nk_kzalloc(nd->qsize, NK_GFP_KERNEL);
    nd->sq = nk_dma_alloc_coherent(dev, nd->qsize * sizeof(*nd->sq), &nd->sq_dma);
    nd->cq = nk_dma_alloc_coherent(dev, nd->qsize * sizeof(*nd->cq), &nd->cq_dma);
    nd->reset_work = nk_work_create(nkdisk_reset_work, nd);
    if (!nd->tag_busy || !nd->sq || !nd->cq || !nd->reset_work) {
        err = -ENOMEM;
        goto fail;
    }

    nd->irq_cq = nk_dev_irq(dev, NKDISK_VECTOR_COMPLETION);
    nd->irq_err = nk_dev_irq(dev, NKDISK_VECTOR_ERROR);
    if (nd->irq_cq < 0 || nd->irq_err < 0) {
        err = -ENODEV;
        goto fail;
    }
    err = nkdisk_start_controller(nd);
    if (err)
        goto fail;
    err = nk_request_irq((uint32_t)nd->irq_cq, nkdisk_completion_irq, "nkdisk-cq", nd);
    if (err)
        goto fail_disable;
    err = nk_request_irq((uint32_t)nd->irq_err, nkdisk_error_irq, "nkdisk-err", nd);
    if (err)
        goto fail_irq;

    memset(&params, 0, sizeof(params));
    params.name = nd->name;
    params.capacity_sectors = nd->capacity;
    params.logical_block_size = 512;
    params.max_sectors = nd->max_sectors;
    params.queue_depth = nd->qsize - 1;
    params.features = NK_BLK_FEAT_FLUSH | NK_BLK_FEAT_FUA;
    nk_dev_set_drvdata(dev, nd);
    err = nk_blk_register_disk(dev, &params, &nkdisk_ops, nd, &nd->disk);
    if (err)
        goto fail_irq_err;

    nk_log(NK_LOG_INFO, "%s: %llu sectors, queue %u, up to %u sectors per command", nd->name,
           (unsigned long long)nd->capacity, nd->qsize, nd->max_sectors);
    return 0;

fail_irq_err:
    nk_dev_set_drvdata(dev, NULL);
    nk_free_irq((uint32_t)nd->irq_err, nd);
fail_irq:
    nk_free_irq((uint32_t)nd->irq_cq, nd);
fail_disable:
    nk_writel(nd->regs, NKDISK_REG_CTRL, 0);
fail:
    nkdisk_free(nd);
    return err;
}

static void nkdisk_remove(nk_device *dev)
{
    struct nkdisk *nd = nk_dev_get_drvdata(dev);

    if (!nd)
        return;
    nk_blk_unregister_disk(nd->disk);
    nk_free_irq((uint32_t)nd->irq_err, nd);
    nk_free_irq((uint32_t)nd->irq_cq, nd);
    nk_writel(nd->regs, NKDISK_REG_CTRL, 0);
    nk_dev_set_drvdata(dev, NULL);
    nkdisk_free(nd);
}

static const struct nk_device_id nkdisk_ids[] = {
    { NKDISK_VENDOR_ID, NKDISK_DEVICE_ID },
    { 0, 0 },
};

static const struct nk_bus_driver nkdisk_driver = {
    .name = "nkdisk",
    .id_table = nkdisk_ids,
    .probe = nkdisk_probe,
    .remove = nkdisk_remove,
};

static int nkdisk_init(void)
{
    return nk_bus_register_driver(&nkdisk_driver);
}

static void nkdisk_exit(void)
{
    nk_bus_unregister_driver(&nkdisk_driver);
}

NK_MODULE("nkdisk", "NKDISK storage controller", nkdisk_init, nkdisk_exit);
