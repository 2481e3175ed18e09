/* SPDX-License-Identifier: MIT */
/*
 * nktest's sound card (nktest_sound.c), as the rest of nktest sees it. All of
 * these run in process context (nktest's ioctl, the auxiliary device's
 * remove); `dev` is the auxiliary device the card lives on.
 */
#ifndef NKTEST_SOUND_H
#define NKTEST_SOUND_H

#include <nooks/kernel.h>

#include <stdint.h>

/* The NKTEST_SND_* ioctls; -ENOTTY for any other cmd; -ENODEV without `dev`. */
int nktest_sound_ioctl(nk_device *dev, uint32_t cmd, uint64_t arg);
/* The sound kinds of NKTEST_BAD_PARAM (`regs`: a register window, the wrong type); -EINVAL for
 * other kinds; -ENODEV without `dev`. */
int nktest_sound_bad_param(nk_device *dev, nk_iomem *regs, uint64_t kind);
/* Unregisters the card if there is one (the auxiliary device goes away). */
void nktest_sound_release(void);

#endif /* NKTEST_SOUND_H */
