/* SPDX-License-Identifier: MIT */
/*
 * ioctls an application may issue on a nooks disk file (through the FUSE
 * frontend). They reach the block driver as configuration calls
 * (enum nk_blk_ioctl), which the shadow driver records and replays.
 */
#ifndef NOOKS_UAPI_BLKIOCTL_H
#define NOOKS_UAPI_BLKIOCTL_H

#include <linux/ioctl.h>
#include <stdint.h>

/* Reads 1 if the disk's volatile write cache is on, 0 if writes go straight to the medium. */
#define NKBLK_IOC_GET_WRITE_CACHE _IOR('N', 0x01, uint32_t)
/* Turns the volatile write cache on (1) or off (0). */
#define NKBLK_IOC_SET_WRITE_CACHE _IOW('N', 0x02, uint32_t)

#endif /* NOOKS_UAPI_BLKIOCTL_H */
