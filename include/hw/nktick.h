/* SPDX-License-Identifier: MIT */
/*
 * NKTICK: a test device driven by a clock, not by its driver: once running, it
 * raises its interrupt every PERIOD_US microseconds, on its own, like a sound
 * card's period interrupt. One 4 KiB register window, one interrupt vector.
 *
 * Reset (power-on) state: stopped, PERIOD_US 1000, TICKS 0, STATUS 0.
 */
#ifndef NOOKS_HW_NKTICK_H
#define NOOKS_HW_NKTICK_H

#define NKTICK_VENDOR_ID 0x1de5
#define NKTICK_DEVICE_ID 0x71c4

/* Registers (window 0, 32-bit). */
#define NKTICK_REG_CTRL 0x00      /* bit 0 RUN: 1 starts the clock, 0 stops it */
#define NKTICK_REG_PERIOD_US 0x04 /* 100 .. 1000000; another value sets STATUS.ERROR and stops the clock */
#define NKTICK_REG_TICKS 0x08     /* read: ticks since reset (also while the interrupt was pending) */
#define NKTICK_REG_STATUS 0x0c    /* read; write 1s to clear */

#define NKTICK_CTRL_RUN 0x1u
#define NKTICK_STATUS_TICK 0x1u   /* a tick happened since the driver last cleared it */
#define NKTICK_STATUS_ERROR 0x2u  /* misprogrammed (bad period) */

#define NKTICK_PERIOD_MIN_US 100u
#define NKTICK_PERIOD_MAX_US 1000000u

#endif /* NOOKS_HW_NKTICK_H */
