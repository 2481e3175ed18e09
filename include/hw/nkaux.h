/* SPDX-License-Identifier: MIT */
/*
 * NKAUX: an auxiliary test device (vendor 0x1de5, device 0x7e57) with one
 * 4 KiB register window and one interrupt vector. The nktest driver binds it;
 * tests and benchmarks use it to count and order the register accesses that
 * cross from a driver to the kernel.
 */
#ifndef NOOKS_HW_NKAUX_H
#define NOOKS_HW_NKAUX_H

#define NKAUX_VENDOR_ID 0x1de5
#define NKAUX_DEVICE_ID 0x7e57

/* Registers (window 0). */
#define NKAUX_REG_FIFO 0x00    /* write: appended to the device's log */
#define NKAUX_REG_COUNT 0x08   /* read: number of FIFO writes so far */
#define NKAUX_REG_SCRATCH 0x10 /* read/write */

#endif /* NOOKS_HW_NKAUX_H */
