/* SPDX-License-Identifier: MIT */
/*
 * NKNIC Ethernet controller: the programming interface ("datasheet").
 *
 * Shared by the emulated device (src/devices/nic) and its driver
 * (drivers/net/nknet). Modelled on the Intel 8254x (e1000): the same register
 * offsets and descriptor layouts for what it has, so an e1000 programmer finds
 * their way, and nothing of the EEPROM, PHY or offloads.
 *
 *   - One register window (window 0, NKNIC_WINDOW_SIZE bytes, 32-bit registers)
 *     and one interrupt vector (vector 0).
 *   - One receive and one transmit ring of 16-byte descriptors in DMA memory
 *     the driver allocated: base (RDBAL/RDBAH), length in bytes (RDLEN, a
 *     multiple of 128), head (RDH, the device's) and tail (RDT, the driver's).
 *     The device owns the descriptors from head up to, not including, tail.
 *   - Receive: a frame that passes the filter goes into the buffer of the
 *     descriptor at RDH (whole, or the frame is dropped: no frame spans two
 *     buffers); the device writes length and status (DD|EOP) back and
 *     advances RDH. No descriptor available: the frame is dropped and counted
 *     (MPC, RNBC) and ICR.RXO is raised. A frame arrives only while
 *     STATUS.LU and RCTL.EN are set.
 *   - Transmit: writing TDT hands the descriptors up to it to the device; it
 *     sends them in order (a frame is one or more descriptors, the last with
 *     CMD.EOP), writes STATUS.DD back into each descriptor that has CMD.RS, and
 *     advances TDH. Frames are sent only while STATUS.LU and TCTL.EN are set.
 *   - Receive filter, as hardware does it: broadcast (ff:ff:ff:ff:ff:ff)
 *     needs RCTL.BAM; unicast matches a valid exact-match slot (RAL/RAH with
 *     RAH.AV) or needs RCTL.UPE (promiscuous); multicast matches an
 *     exact-match slot, or its bit in the 4096-bit multicast table (MTA), or
 *     needs RCTL.MPE (all multicast).
 *   - Link: after a reset or CTRL.SLU, the link comes up after a negotiation
 *     delay (the device's setting, 500 ms by default): STATUS.LU is set and
 *     ICR.LSC raised. A reset takes the link down.
 *   - Interrupts: ICR holds the causes (reading it clears it); ICS sets causes
 *     (as if they happened); IMS enables causes, IMC disables them; the
 *     vector fires when a cause that is enabled is set. ITR, if not 0, spaces
 *     interrupts at least ITR x 256 ns apart (causes accumulate meanwhile).
 *
 * Reset (CTRL.RST, self-clearing; also power-on): every register 0 but
 * RAL0/RAH0, loaded with the station address (RAH0.AV set); rings stopped;
 * link down, and brought up by the negotiation delay (CTRL.SLU is set).
 *
 * Misprogramming is reported, never fatal to the machine: a ring outside the
 * driver's DMA memory, a length that is not a multiple of 128, a head or tail
 * past the end, a descriptor whose buffer is not mapped or whose length is
 * bad (0, or a frame over the maximum). The device stops the ring concerned,
 * sets STATUS.ERR with a code in ERRCODE, counts it in ERRC and raises ICR.ERR.
 * A reset clears it.
 */
#ifndef NOOKS_HW_NKNIC_H
#define NOOKS_HW_NKNIC_H

#include <stdint.h>

#define NKNIC_VENDOR_ID 0x1de5
#define NKNIC_DEVICE_ID 0x0e10

#define NKNIC_WINDOW_SIZE 0x8000u

/* Registers (window 0, 32-bit). */
#define NKNIC_REG_CTRL 0x0000    /* RW: NKNIC_CTRL_* */
#define NKNIC_REG_STATUS 0x0008  /* RO: NKNIC_STATUS_* */
#define NKNIC_REG_ERRCODE 0x0010 /* RO: NKNIC_ERR_* of the first misprogramming since reset */
#define NKNIC_REG_ICR 0x00c0     /* RO, clear on read: NKNIC_INT_* causes */
#define NKNIC_REG_ITR 0x00c4     /* RW: minimum interval between interrupts, 256 ns units (0: none) */
#define NKNIC_REG_ICS 0x00c8     /* WO: sets causes */
#define NKNIC_REG_IMS 0x00d0     /* RW: read: the enabled causes; write: enables the causes written */
#define NKNIC_REG_IMC 0x00d8     /* WO: disables the causes written */
#define NKNIC_REG_RCTL 0x0100    /* RW: NKNIC_RCTL_* */
#define NKNIC_REG_TCTL 0x0400    /* RW: NKNIC_TCTL_* */
#define NKNIC_REG_RDBAL 0x2800   /* RW: receive ring base, low 32 bits (16-byte aligned) */
#define NKNIC_REG_RDBAH 0x2804   /* RW: receive ring base, high 32 bits */
#define NKNIC_REG_RDLEN 0x2808   /* RW: receive ring length in bytes (multiple of 128, up to 65536) */
#define NKNIC_REG_RDH 0x2810     /* RW: receive head (the driver writes it only while RCTL.EN is clear) */
#define NKNIC_REG_RDT 0x2818     /* RW: receive tail */
#define NKNIC_REG_TDBAL 0x3800   /* RW: transmit ring base, low 32 bits (16-byte aligned) */
#define NKNIC_REG_TDBAH 0x3804   /* RW: transmit ring base, high 32 bits */
#define NKNIC_REG_TDLEN 0x3808   /* RW: transmit ring length in bytes (multiple of 128, up to 65536) */
#define NKNIC_REG_TDH 0x3810     /* RW: transmit head (the driver writes it only while TCTL.EN is clear) */
#define NKNIC_REG_TDT 0x3818     /* RW: transmit tail: the doorbell */
#define NKNIC_REG_MTA(n) (0x5200u + 4u * (n)) /* RW: multicast table, n < 128 */
#define NKNIC_REG_RAL(n) (0x5400u + 8u * (n)) /* RW: exact-match slot n < 16, address bytes 0..3 */
#define NKNIC_REG_RAH(n) (0x5404u + 8u * (n)) /* RW: bytes 4..5 in [15:0], NKNIC_RAH_AV */

/* Statistics (RO, 32-bit, clear on read). */
#define NKNIC_REG_MPC 0x4010   /* frames missed: passed the filter, no descriptor */
#define NKNIC_REG_GPRC 0x4074  /* good frames received (delivered into the ring) */
#define NKNIC_REG_GPTC 0x4080  /* good frames transmitted */
#define NKNIC_REG_GORC 0x4088  /* octets of good frames received */
#define NKNIC_REG_GOTC 0x4090  /* octets of good frames transmitted */
#define NKNIC_REG_RNBC 0x40a0  /* receive no buffers (as MPC) */
#define NKNIC_REG_ROC 0x40ac   /* frames received too long for the buffer or the maximum */
#define NKNIC_REG_TPR 0x40d0   /* every frame seen on the wire, filtered or not */
#define NKNIC_REG_ERRC 0x4100  /* misprogramming errors */

#define NKNIC_NUM_RA 16u
#define NKNIC_NUM_MTA 128u

#define NKNIC_CTRL_SLU 0x00000040u /* set link up (start negotiating) */
#define NKNIC_CTRL_RST 0x04000000u /* reset (self-clearing) */

#define NKNIC_STATUS_LU 0x00000002u  /* link up */
#define NKNIC_STATUS_ERR 0x80000000u /* misprogrammed: see ERRCODE */

#define NKNIC_INT_TXDW 0x00000001u   /* a transmit descriptor with RS was written back */
#define NKNIC_INT_TXQE 0x00000002u   /* the transmit ring is empty (head reached tail) */
#define NKNIC_INT_LSC 0x00000004u    /* link status changed */
#define NKNIC_INT_RXDMT0 0x00000010u /* receive descriptors low (an eighth of the ring or less left) */
#define NKNIC_INT_RXO 0x00000040u    /* receive overrun: a frame dropped for lack of descriptors */
#define NKNIC_INT_RXT0 0x00000080u   /* frames received */
#define NKNIC_INT_ERR 0x00008000u    /* misprogramming (STATUS.ERR) */

#define NKNIC_RCTL_EN 0x00000002u    /* receiver enabled */
#define NKNIC_RCTL_UPE 0x00000008u   /* unicast promiscuous */
#define NKNIC_RCTL_MPE 0x00000010u   /* multicast promiscuous (all multicast) */
#define NKNIC_RCTL_LPE 0x00000020u   /* long frames: up to NKNIC_MAX_FRAME (else 1522) */
#define NKNIC_RCTL_BAM 0x00008000u   /* accept broadcast */
#define NKNIC_RCTL_MO_SHIFT 12       /* [13:12]: which 12 bits of the address index the MTA */
#define NKNIC_RCTL_MO_MASK 0x00003000u
#define NKNIC_RCTL_BSIZE_SHIFT 16    /* [17:16]: receive buffer size, see NKNIC_RCTL_BSEX */
#define NKNIC_RCTL_BSIZE_MASK 0x00030000u
#define NKNIC_RCTL_BSEX 0x02000000u  /* BSIZE x16: 00 reserved, 01 16384, 10 8192, 11 4096;
                                      * without: 00 2048, 01 1024, 10 512, 11 256 */

#define NKNIC_TCTL_EN 0x00000002u  /* transmitter enabled */
#define NKNIC_TCTL_PSP 0x00000008u /* pad short frames to 60 bytes */

#define NKNIC_RAH_AV 0x80000000u /* the slot is valid */

/* Frame sizes (without the FCS, which the device neither expects nor adds). */
#define NKNIC_MIN_FRAME 60u        /* shorter frames are padded (TCTL.PSP) or sent as they are */
#define NKNIC_MAX_STD_FRAME 1522u  /* without RCTL.LPE */
#define NKNIC_MAX_FRAME 9018u      /* with RCTL.LPE (a 9000-byte MTU) */

/* ERRCODE values. */
#define NKNIC_ERR_RX_RING 1u     /* receive ring base/length unmapped, misaligned or bad */
#define NKNIC_ERR_TX_RING 2u     /* transmit ring base/length unmapped, misaligned or bad */
#define NKNIC_ERR_RX_POINTER 3u  /* RDH or RDT past the end of the ring */
#define NKNIC_ERR_TX_POINTER 4u  /* TDH or TDT past the end of the ring */
#define NKNIC_ERR_RX_BUFFER 5u   /* a receive descriptor's buffer is not mapped for the device to write */
#define NKNIC_ERR_TX_BUFFER 6u   /* a transmit descriptor's buffer is not mapped for the device to read */
#define NKNIC_ERR_TX_LENGTH 7u   /* a transmit descriptor of length 0, or a frame over the maximum */

/* Receive descriptor (16 bytes). The driver writes addr; the device writes the rest. */
struct nknic_rx_desc {
    uint64_t addr;   /* DMA address of the buffer (RCTL.BSIZE bytes) */
    uint16_t length; /* bytes of the frame in the buffer */
    uint16_t csum;   /* 0 (no checksum offload) */
    uint8_t status;  /* NKNIC_RXD_STAT_* */
    uint8_t errors;  /* 0 */
    uint16_t special;
};

#define NKNIC_RXD_STAT_DD 0x01u  /* descriptor done */
#define NKNIC_RXD_STAT_EOP 0x02u /* end of packet (always, frames never span buffers) */

/* Transmit descriptor, legacy format (16 bytes). The driver writes all but status. */
struct nknic_tx_desc {
    uint64_t addr;   /* DMA address of the data */
    uint16_t length; /* bytes at addr, 1 .. NKNIC_MAX_FRAME */
    uint8_t cso;     /* 0 (no checksum offload) */
    uint8_t cmd;     /* NKNIC_TXD_CMD_* */
    uint8_t status;  /* NKNIC_TXD_STAT_*, written back by the device if CMD.RS */
    uint8_t css;
    uint16_t special;
};

#define NKNIC_TXD_CMD_EOP 0x01u  /* the last descriptor of a frame */
#define NKNIC_TXD_CMD_IFCS 0x02u /* insert FCS (accepted and ignored: the wire carries no FCS) */
#define NKNIC_TXD_CMD_RS 0x08u   /* report status: write DD back when sent */
#define NKNIC_TXD_STAT_DD 0x01u

#endif /* NOOKS_HW_NKNIC_H */
