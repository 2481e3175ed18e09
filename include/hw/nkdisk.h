/* SPDX-License-Identifier: MIT */
/*
 * NKDISK storage controller: the programming interface ("datasheet").
 *
 * Shared by the emulated device (src/devices/disk) and its driver
 * (drivers/block/nkdisk). A queue-based controller in the style of NVMe:
 *
 *   - One submission ring (SQ) and one completion ring (CQ) of the same size, in
 *     DMA memory the driver allocates. The driver fills SQ entries and writes
 *     the new tail to SQ_TAIL; the device consumes them in order, performs the
 *     transfer by DMA and posts one CQ entry per command, with a phase bit that
 *     flips on every pass over the ring, so the driver finds new completions
 *     without reading a register. The driver returns CQ slots by writing CQ_HEAD.
 *   - Vector 0 signals completions (edge; raised after a batch of CQ entries is
 *     posted). Vector 1 signals a fatal controller error (read STATUS).
 *   - Reads have no side effects; the fast path needs no register reads at all.
 *
 * Bring-up: write CTRL.RESET, program SQ_BASE, CQ_BASE, QUEUE_SIZE, write
 * CTRL.ENABLE, check STATUS.READY. The controller powers on needing a reset:
 * enabling or ringing a doorbell before a reset is a fatal error.
 *
 * Misprogramming is reported, never fatal to the machine: a bad command gets an
 * error status in its CQ entry; a bad ring, doorbell or sequence sets
 * STATUS.FATAL with a code in STATUS[15:8] and stops the controller until reset.
 */
#ifndef NOOKS_HW_NKDISK_H
#define NOOKS_HW_NKDISK_H

#include <stdint.h>

#define NKDISK_VENDOR_ID 0x1de5
#define NKDISK_DEVICE_ID 0x0d15

#define NKDISK_WINDOW_SIZE 0x1000u
#define NKDISK_MAGIC 0x4b444b4eu /* "NKDK" */
#define NKDISK_VERSION 1u

/* Register offsets in window 0. RO: read-only, WO: write-only, RW, RW1C: write 1 to clear. */
#define NKDISK_REG_MAGIC 0x000       /* RO 32 */
#define NKDISK_REG_VERSION 0x004     /* RO 32 */
#define NKDISK_REG_CAPACITY 0x008    /* RO 64: in 512-byte sectors */
#define NKDISK_REG_MAX_SECTORS 0x010 /* RO 32: largest transfer of one command */
#define NKDISK_REG_MAX_QUEUE 0x014   /* RO 32: largest QUEUE_SIZE */
#define NKDISK_REG_CONFIG 0x018      /* RW 32: NKDISK_CONFIG_* */
#define NKDISK_REG_CTRL 0x020        /* RW 32: NKDISK_CTRL_* */
#define NKDISK_REG_STATUS 0x024      /* RO 32: NKDISK_STATUS_*, fatal code in [15:8] */
#define NKDISK_REG_SQ_BASE 0x030     /* RW 64: DMA address, 64-byte aligned */
#define NKDISK_REG_CQ_BASE 0x038     /* RW 64: DMA address, 64-byte aligned */
#define NKDISK_REG_QUEUE_SIZE 0x040  /* RW 32: entries per ring, power of two, 2..MAX_QUEUE */
#define NKDISK_REG_SQ_TAIL 0x044     /* WO 32: doorbell, next free SQ slot */
#define NKDISK_REG_CQ_HEAD 0x048     /* WO 32: doorbell, next CQ slot the driver will read */
#define NKDISK_REG_INT_STATUS 0x04c  /* RW1C 32: NKDISK_INT_* */
#define NKDISK_REG_INT_MASK 0x050    /* RW 32: NKDISK_INT_*, set = masked */
#define NKDISK_REG_SQ_HEAD 0x054     /* RO 32: next SQ slot the device will fetch */

#define NKDISK_CONFIG_WCE 0x1u /* volatile write cache enabled (else every write is durable) */

#define NKDISK_CTRL_ENABLE 0x1u
#define NKDISK_CTRL_RESET 0x80000000u /* self-clearing */

#define NKDISK_STATUS_READY 0x1u
#define NKDISK_STATUS_FATAL 0x2u
#define NKDISK_STATUS_FATAL_CODE(status) (((status) >> 8) & 0xffu)

/* Fatal error codes (STATUS[15:8]). */
#define NKDISK_FATAL_NONE 0
#define NKDISK_FATAL_NOT_RESET 1     /* enabled or used before the first reset */
#define NKDISK_FATAL_NOT_READY 2     /* doorbell while not enabled */
#define NKDISK_FATAL_BAD_QUEUE_SIZE 3
#define NKDISK_FATAL_BAD_RING 4      /* SQ/CQ base misaligned or not DMA memory */
#define NKDISK_FATAL_RING_OVERFLOW 5 /* SQ_TAIL out of range or past the free slots */
#define NKDISK_FATAL_BAD_DOORBELL 6  /* CQ_HEAD out of range or ahead of the device */
#define NKDISK_FATAL_RING_DMA 7      /* a ring became unreachable while in use */

#define NKDISK_INT_COMPLETION 0x1u
#define NKDISK_INT_ERROR 0x2u

#define NKDISK_VECTOR_COMPLETION 0
#define NKDISK_VECTOR_ERROR 1
#define NKDISK_NR_VECTORS 2

/* Submission queue entry: 32 bytes. */
struct nkdisk_sqe {
    uint8_t opcode; /* NKDISK_OP_* */
    uint8_t flags;  /* NKDISK_SQE_FUA */
    uint16_t cid;   /* command id, echoed in the CQ entry */
    uint32_t nr_sectors;
    uint64_t sector;
    uint64_t data_addr; /* DMA address of the data buffer */
    uint64_t reserved;
};

#define NKDISK_OP_READ 1
#define NKDISK_OP_WRITE 2
#define NKDISK_OP_FLUSH 3

#define NKDISK_SQE_FUA 0x1u

/* Completion queue entry: 16 bytes. */
struct nkdisk_cqe {
    uint16_t cid;
    uint16_t status;  /* NKDISK_SC_* */
    uint16_t sq_head; /* device's SQ head after this command: slots before it are free */
    uint16_t phase;   /* bit 0: phase tag */
    uint64_t reserved;
};

/* Command status codes. */
#define NKDISK_SC_OK 0
#define NKDISK_SC_INVALID_OPCODE 1
#define NKDISK_SC_LBA_RANGE 2   /* beyond capacity or longer than MAX_SECTORS */
#define NKDISK_SC_DMA_ERROR 3   /* data buffer not mapped for this device/direction */
#define NKDISK_SC_MEDIA_ERROR 4 /* the backing store failed */
#define NKDISK_SC_INVALID_FIELD 5

#endif /* NOOKS_HW_NKDISK_H */
