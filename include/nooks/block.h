/* SPDX-License-Identifier: MIT */
/*
 * nooks kernel API: the block device class (C ABI). See <nooks/kernel.h> for the
 * conventions every function here follows.
 *
 * The block layer owns the request queue, the tags and the data buffers; a block
 * driver registers a disk and an ops table and moves requests to its hardware,
 * modelled on Linux blk-mq:
 *
 *   kernel                                  driver
 *   ------                                  ------
 *   queue_rq(disk, rq, last=false)  --->    put rq on the hardware ring
 *   queue_rq(disk, rq, last=true)   --->    put rq on the ring, ring the doorbell
 *   commit_rqs(disk)                --->    ring the doorbell (batch ended early)
 *                                   <---    interrupt: nk_blk_end_request(disk, tag, status)
 *
 * Ordering and durability (what a journaling file system relies on):
 *   - A WRITE is complete when the device has it; it may sit in the device's
 *     volatile cache until a FLUSH.
 *   - A FLUSH completes only after every write that completed before the FLUSH
 *     was submitted is durable.
 *   - A WRITE with NK_BLK_FUA is durable when it completes.
 *   - Requests in flight may complete in any order. The block layer never has
 *     two overlapping requests in flight when one of them writes, so a request
 *     can be re-issued after a driver failure without reordering data.
 */
#ifndef NOOKS_BLOCK_H
#define NOOKS_BLOCK_H

#include <nooks/kernel.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nk_disk nk_disk;

enum nk_blk_op {
    NK_BLK_READ = 0,
    NK_BLK_WRITE = 1,
    NK_BLK_FLUSH = 2,
};

#define NK_BLK_FUA 0x1u /* flag on NK_BLK_WRITE: durable on completion */

/* Completion status of a request (nk_blk_end_request) and result of queue_rq. */
enum nk_blk_status {
    NK_BLK_STS_OK = 0,
    NK_BLK_STS_IOERR = 1,    /* media or device error: the application sees EIO */
    NK_BLK_STS_RESOURCE = 2, /* queue_rq only: no room now, the block layer retries later */
    NK_BLK_STS_NOTSUPP = 3,  /* operation not supported */
};

/*
 * One request as the driver sees it. It is a copy made for the call: valid only
 * during queue_rq; keep the tag, not the pointer. The data buffer is already
 * mapped for the device: dma_addr..dma_addr+len (len = nr_sectors * 512 for
 * READ/WRITE, 0 for FLUSH). The mapping lasts until nk_blk_end_request.
 */
struct nk_blk_request {
    uint32_t tag;      /* 0 .. queue_depth-1, unique among requests in flight */
    uint8_t op;        /* enum nk_blk_op */
    uint8_t flags;     /* NK_BLK_FUA */
    uint16_t reserved;
    uint64_t sector;   /* first 512-byte sector */
    uint32_t nr_sectors;
    uint32_t reserved2;
    nk_dma_addr_t dma_addr;
    uint64_t len;
};

#define NK_BLK_SECTOR_SIZE 512u

/* Driver capabilities (nk_blk_disk_params.features). */
#define NK_BLK_FEAT_FLUSH 0x1u /* has a volatile write cache and honours FLUSH */
#define NK_BLK_FEAT_FUA 0x2u   /* honours NK_BLK_FUA (else the block layer adds a FLUSH) */

struct nk_blk_disk_params {
    const char *name;             /* "disk0": the file name applications see */
    uint64_t capacity_sectors;    /* in 512-byte sectors */
    uint32_t logical_block_size;  /* 512 or 4096 */
    uint32_t max_sectors;         /* largest request the driver accepts */
    uint32_t queue_depth;         /* tags: requests in flight at most (1..1024) */
    uint32_t features;            /* NK_BLK_FEAT_* */
};

/*
 * The driver's entry points. Called by the block layer; `disk` is the handle
 * nk_blk_register_disk returned.
 *
 * open(): process context, when an application opens the disk while nobody has
 *   it open. 0 or a negative errno (the open fails with it).
 * release(): process context, when the last opener closes it.
 * ioctl(): process context, a configuration request (enum nk_blk_ioctl). `arg`
 *   is passed by value. Returns >= 0 (the result) or a negative errno.
 * queue_rq(): any context but may not sleep. Starts `rq`; `last` says the block
 *   layer has nothing more in this batch (ring the doorbell now). Returns
 *   NK_BLK_STS_OK (the request is the driver's until it ends it),
 *   NK_BLK_STS_RESOURCE (not taken; retried after a request completes) or an
 *   error status (the request fails with it at once).
 * commit_rqs(): may not sleep. The batch ended before a request with last=true
 *   was taken (e.g. queue_rq returned RESOURCE); ring the doorbell. Optional.
 */
struct nk_blk_ops {
    int (*open)(nk_disk *disk);
    void (*release)(nk_disk *disk);
    int (*ioctl)(nk_disk *disk, uint32_t cmd, uint64_t arg);
    int (*queue_rq)(nk_disk *disk, const struct nk_blk_request *rq, bool last);
    void (*commit_rqs)(nk_disk *disk);
};

/* Configuration requests the block class defines (applications issue them through the frontend). */
enum nk_blk_ioctl {
    NK_BLK_IOCTL_GET_WRITE_CACHE = 1, /* returns 1 if the volatile write cache is on */
    NK_BLK_IOCTL_SET_WRITE_CACHE = 2, /* arg 0/1: write-through / write-back */
};

/*
 * Process context, usually from probe(). Registers a disk backed by `dev`. The
 * kernel copies `params`; `ops` must stay valid until nk_blk_unregister_disk.
 * `private_data` is returned by nk_blk_disk_private. The disk may be opened and
 * requests may arrive before this returns. 0, -EINVAL (bad params), -EEXIST
 * (name in use), -ENOMEM.
 */
int nk_blk_register_disk(nk_device *dev, const struct nk_blk_disk_params *params,
                         const struct nk_blk_ops *ops, void *private_data, nk_disk **out);
/*
 * Process context. No new requests reach the driver; requests the driver still
 * holds fail with EIO. The handle is invalid afterwards.
 */
void nk_blk_unregister_disk(nk_disk *disk);
/* Any context. */
void *nk_blk_disk_private(nk_disk *disk);

/*
 * Any context. Ends request `tag` with `status` (enum nk_blk_status). The tag
 * must be one the driver holds; it is free for reuse when this returns.
 */
void nk_blk_end_request(nk_disk *disk, uint32_t tag, int status);

/*
 * Any context. After returning NK_BLK_STS_RESOURCE, a driver may ask the block
 * layer to retry its queue now (e.g. when ring space was freed outside a completion).
 */
void nk_blk_run_queue(nk_disk *disk);

#ifdef __cplusplus
}
#endif

#endif /* NOOKS_BLOCK_H */
