/* SPDX-License-Identifier: MIT */
/*
 * nktest's net device (nktest_net.c), as the rest of nktest sees it. All of
 * these run in process context (nktest's ioctl, the auxiliary device's
 * remove); `dev` is the auxiliary device the net device lives on.
 */
#ifndef NKTEST_NET_H
#define NKTEST_NET_H

#include <nooks/kernel.h>

#include <stdint.h>

/* The NKTEST_NET_* ioctls; -ENOTTY for any other cmd; -ENODEV without `dev`. */
int nktest_net_ioctl(nk_device *dev, uint32_t cmd, uint64_t arg);
/* The net kinds of NKTEST_BAD_PARAM (`regs`: a register window, the wrong type); -EINVAL for
 * other kinds; -ENODEV without `dev`. */
int nktest_net_bad_param(nk_device *dev, nk_iomem *regs, uint64_t kind);
/* Unregisters the net device if there is one (the auxiliary device goes away). */
void nktest_net_release(void);

#endif /* NKTEST_NET_H */
