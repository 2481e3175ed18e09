/* SPDX-License-Identifier: MIT */
/*
 * nktest: a driver for tests and benchmarks. It binds the NKDISK controller
 * (registering a null disk "disk0": requests complete at once, no data moves),
 * an auxiliary test device (NKAUX) and a test clock (NKTICK: it starts it at a
 * 1 ms period and counts its interrupts), and does on
 * request, through its disk's ioctl, what a test needs: cross the boundary in
 * the ways XPC must support, or break the rules in the ways isolation must
 * contain.
 */
#ifndef NKTEST_H
#define NKTEST_H

#include <hw/nkaux.h>
#include <hw/nktick.h>

#define NKTEST_AUX_VENDOR NKAUX_VENDOR_ID
#define NKTEST_AUX_DEVICE NKAUX_DEVICE_ID

/* Registers of the auxiliary test device (window 0): see <hw/nkaux.h>. */
#define NKTEST_REG_FIFO NKAUX_REG_FIFO
#define NKTEST_REG_COUNT NKAUX_REG_COUNT
#define NKTEST_REG_SCRATCH NKAUX_REG_SCRATCH

enum nktest_ioctl {
    /* Crossings. */
    NKTEST_ECHO = 0x100,       /* returns arg */
    NKTEST_READS = 0x101,      /* arg synchronous register reads (driver -> kernel); returns arg */
    NKTEST_WRITES = 0x102,     /* arg posted writes of 0..arg-1 to FIFO, then a read of COUNT; returns it */
    NKTEST_POSTED = 0x103,     /* arg posted writes of 0..arg-1 to FIFO, no read */
    NKTEST_NEST = 0x104,       /* re-registers the aux driver: nested remove and probe; returns probes so far */
    NKTEST_SLEEP = 0x105,      /* nk_msleep(arg) while counting concurrent callers */
    NKTEST_MAX_CONCURRENT = 0x106, /* the most callers seen inside NKTEST_SLEEP at once */
    NKTEST_ALLOC = 0x107,      /* kmalloc/kfree arg times (memory stays in the domain) */
    NKTEST_TIMER = 0x108,      /* arms a timer (arg ms) whose callback counts; returns the count so far */
    NKTEST_TICKS = 0x109,      /* clock interrupts handled so far by this instance (-ENODEV: no clock bound) */

    /* Faults. */
    NKTEST_WILD_WRITE = 0x200,     /* writes to address arg */
    NKTEST_WRITE_REQUEST = 0x201,  /* writes to the last request copy the kernel passed */
    NKTEST_BAD_JUMP = 0x202,       /* calls address arg */
    NKTEST_SYSCALL = 0x203,        /* makes a forbidden system call (socket) */
    NKTEST_SPIN = 0x204,           /* never returns */
    NKTEST_PANIC = 0x205,          /* nk_panic */
    NKTEST_BAD_PARAM = 0x206,      /* passes a bad parameter of kind arg (enum nktest_bad_param) */
    NKTEST_SLEEP_ATOMIC = 0x207,   /* sleeps holding a spinlock */
    NKTEST_DOUBLE_FREE = 0x208,    /* frees a block twice */
    NKTEST_HEAP_OVERFLOW = 0x209,  /* overruns a block into the next one's header, then frees that one */
    NKTEST_NULL_DEREF = 0x20a,     /* reads through a null pointer */
    NKTEST_REFUSE = 0x20b,         /* queue_rq answers RESOURCE while arg != 0: alive, but takes no work */
};

enum nktest_bad_param {
    NKTEST_BAD_NOT_A_HANDLE = 1,  /* a made-up handle */
    NKTEST_BAD_STALE_HANDLE = 2,  /* a timer used after it was destroyed */
    NKTEST_BAD_WRONG_TYPE = 3,    /* a register window passed as a timer */
    NKTEST_BAD_OFFSET = 4,        /* a register read outside the window */
    NKTEST_BAD_ALIGNMENT = 5,     /* a misaligned register read */
    NKTEST_BAD_STATUS = 6,        /* a completion status out of range */
    NKTEST_BAD_TAG = 7,           /* completing a request the driver does not hold */
    NKTEST_BAD_IRQ = 8,           /* requesting an interrupt line of no device it holds */
    NKTEST_BAD_ENABLE = 9,        /* enabling a line that is not disabled */
    NKTEST_BAD_DMA_FREE = 10,     /* freeing a DMA buffer twice */
    NKTEST_BAD_SLEEP = 11,        /* an absurd sleep */
    NKTEST_BAD_KFREE = 12,        /* freeing memory the heap never gave */
};

#endif /* NKTEST_H */
