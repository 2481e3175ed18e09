/* SPDX-License-Identifier: MIT */
/*
 * NKSND sound card: the programming interface ("datasheet").
 *
 * Shared by the emulated card (src/devices/sound) and its driver
 * (drivers/sound/nksnd). A small PCI audio controller in the spirit of the
 * ES1370 and the ICH AC'97 bus master: two DMA streams (playback and
 * capture), each looping over a ring in memory its driver allocated, with
 * a "last valid" pointer so the card never plays stale data, and a mixer.
 *
 *   - One register window (window 0, NKSND_WINDOW_SIZE bytes, 32-bit
 *     registers) and one interrupt vector (vector 0).
 *   - Global registers at 0x000; stream s (NKSND_STREAM_PLAYBACK,
 *     NKSND_STREAM_CAPTURE) at NKSND_STREAM_BASE(s).
 *   - A stream is programmed while stopped: FORMAT, RATE, BUF_ADDR_LO/HI,
 *     BUF_BYTES, PERIOD_BYTES, LIMIT. Setting CTRL.RUN starts it at
 *     POSITION (0 after a reset of the stream); the settings are checked
 *     then (see Misprogramming). Clearing RUN stops it where it is (POSITION
 *     kept; RUN again continues there). Writes to FORMAT, RATE and the buffer
 *     registers (BUF_ADDR_LO/HI, BUF_BYTES, PERIOD_BYTES) while running are
 *     ignored and are misprogramming (ERROR_CODE BUSY: the stream stops).
 *     LIMIT is the one setting written while running.
 *   - Playback: the card consumes frames from the ring at POSITION at the
 *     programmed rate, in real time (a clock of its own, not its driver),
 *     and plays them on its speaker after the mixer (MASTER x PCM). It
 *     consumes only up to LIMIT, the ring offset up to which its driver
 *     declared the data valid (the driver moves LIMIT as the application
 *     writes; LIMIT == POSITION means the ring is empty). When POSITION
 *     reaches LIMIT with frames due, the card plays silence (an underrun),
 *     sets INT_STATUS.XRUN once per underrun, and resumes where it stopped
 *     as soon as LIMIT moves: no frame is lost or played twice.
 *   - Capture: the card writes frames from its microphone (after CAPTURE
 *     gain) into the ring at POSITION at the programmed rate, only up to
 *     LIMIT, the offset up to which the driver declared the ring free (the
 *     driver moves LIMIT as the application reads; LIMIT == POSITION means
 *     the ring is full). A frame due while the ring is full is dropped (an
 *     overrun): INT_STATUS.XRUN, once per overrun.
 *   - Positions are byte offsets in the ring, 0 .. BUF_BYTES - 1, always on
 *     a frame boundary; they wrap at BUF_BYTES. A LIMIT equal to BUF_BYTES is
 *     taken as 0. Since LIMIT == POSITION means empty (playback) or full
 *     (capture), at most BUF_BYTES minus one frame is valid (free) at a time:
 *     a capture driver starting at POSITION 0 frees the ring with LIMIT =
 *     BUF_BYTES - frame size, not BUF_BYTES (that is 0: full).
 *   - Each time POSITION crosses a multiple of PERIOD_BYTES the card sets
 *     INT_STATUS.PERIOD. The vector fires while a status bit of either
 *     stream is set that its INT_ENABLE enables (level semantics: it fires
 *     on every new bit; write 1s to INT_STATUS to clear).
 *   - Mixer: MASTER, PCM (playback) and CAPTURE registers, each
 *     left | right << 8 with 0..100 per side (percent, linear amplitude)
 *     and NKSND_MIX_MUTE. Out-of-range values are clamped to 100.
 *
 * Reset (GLOBAL_CTRL.RESET, self-clearing; also power-on): both streams
 * stopped, POSITION 0, FORMAT U8 mono, RATE 8000, buffer unset, INT_ENABLE 0;
 * every mixer control 100/100 and muted. These defaults are audibly wrong
 * for any real stream, so a restart that restores nothing is measurable.
 *
 * Misprogramming is reported, never fatal to the machine: at RUN, a buffer
 * not in the driver's DMA memory, BUF_BYTES not a multiple of the frame size
 * or out of NKSND_BUF_BYTES_MIN..MAX, PERIOD_BYTES not dividing BUF_BYTES or
 * below NKSND_PERIOD_BYTES_MIN, a rate outside NKSND_RATE_MIN..MAX, an
 * unknown format or channel count, a LIMIT past the ring or off a frame
 * boundary, a POSITION the ring no longer holds (BAD_BUFFER: reprogrammed
 * smaller, or to another frame size, without a reset of the stream); while
 * running, a DMA access the IOMMU refuses, a bad LIMIT, a BUSY write. The
 * stream stops, INT_STATUS.ERROR is set with a code in ERROR_CODE (a later
 * error keeps the first code). A reset of the stream or of the card clears it.
 */
#ifndef NOOKS_HW_NKSND_H
#define NOOKS_HW_NKSND_H

#include <stdint.h>

#define NKSND_VENDOR_ID 0x1de5
#define NKSND_DEVICE_ID 0x5d01

#define NKSND_WINDOW_SIZE 0x1000u

/* Global registers (window 0, 32-bit). */
#define NKSND_REG_ID 0x000          /* read: NKSND_ID */
#define NKSND_REG_GLOBAL_CTRL 0x004 /* bit 0 RESET (self-clearing) */
#define NKSND_REG_GLOBAL_STATUS 0x008 /* read: bit s set when stream s has an enabled status bit set */
#define NKSND_REG_MIX_MASTER 0x010
#define NKSND_REG_MIX_PCM 0x014
#define NKSND_REG_MIX_CAPTURE 0x018

#define NKSND_ID 0x4e4b5344u        /* "NKSD" */
#define NKSND_GLOBAL_CTRL_RESET 0x1u

#define NKSND_MIX_LEFT(v) ((v) & 0xffu)
#define NKSND_MIX_RIGHT(v) (((v) >> 8) & 0xffu)
#define NKSND_MIX_VALUE(left, right) (((uint32_t)(left) & 0xffu) | (((uint32_t)(right) & 0xffu) << 8))
#define NKSND_MIX_MUTE 0x80000000u
#define NKSND_MIX_MAX 100u

/* Streams. */
#define NKSND_STREAM_PLAYBACK 0u
#define NKSND_STREAM_CAPTURE 1u
#define NKSND_STREAMS 2u
#define NKSND_STREAM_BASE(s) (0x100u + 0x100u * (s))

/* Stream registers (offsets from NKSND_STREAM_BASE). */
#define NKSND_SREG_CTRL 0x00         /* bit 0 RUN; bit 1 RESET (stops the stream, POSITION 0, clears status; self-clearing) */
#define NKSND_SREG_FORMAT 0x04       /* bits 0..3 NKSND_FMT_*, bits 8..11 channels (1 or 2) */
#define NKSND_SREG_RATE 0x08         /* frames per second, exact: NKSND_RATE_MIN..NKSND_RATE_MAX */
#define NKSND_SREG_BUF_ADDR_LO 0x0c  /* the ring's DMA address */
#define NKSND_SREG_BUF_ADDR_HI 0x10
#define NKSND_SREG_BUF_BYTES 0x14    /* ring size in bytes */
#define NKSND_SREG_PERIOD_BYTES 0x18 /* bytes between PERIOD interrupts */
#define NKSND_SREG_LIMIT 0x1c        /* playback: valid data ends here; capture: free space ends here */
#define NKSND_SREG_POSITION 0x20     /* read-only: the card's offset in the ring */
#define NKSND_SREG_INT_STATUS 0x24   /* NKSND_INT_*: read; write 1s to clear */
#define NKSND_SREG_INT_ENABLE 0x28   /* NKSND_INT_*: which status bits raise the vector */
#define NKSND_SREG_ERROR_CODE 0x2c   /* read: NKSND_ERR_*, the first misprogramming since reset */
#define NKSND_SREG_FRAMES 0x30       /* read: frames taken from (written to) the ring since the stream's reset, low 32 bits (not underrun silence, not dropped frames) */
#define NKSND_SREG_XRUNS 0x34        /* read: underruns (overruns) since the stream's reset */

#define NKSND_CTRL_RUN 0x1u
#define NKSND_CTRL_RESET 0x2u

#define NKSND_FMT_U8 0x0u     /* unsigned 8-bit, silence 0x80 */
#define NKSND_FMT_S16_LE 0x1u /* signed 16-bit little endian, silence 0 */
#define NKSND_FORMAT(fmt, channels) (((uint32_t)(fmt) & 0xfu) | (((uint32_t)(channels) & 0xfu) << 8))
#define NKSND_FORMAT_FMT(v) ((v) & 0xfu)
#define NKSND_FORMAT_CHANNELS(v) (((v) >> 8) & 0xfu)

#define NKSND_INT_PERIOD 0x1u
#define NKSND_INT_XRUN 0x2u
#define NKSND_INT_ERROR 0x4u

#define NKSND_RATE_MIN 8000u
#define NKSND_RATE_MAX 48000u
#define NKSND_BUF_BYTES_MIN 256u
#define NKSND_BUF_BYTES_MAX (1u << 20)
#define NKSND_PERIOD_BYTES_MIN 64u

/* ERROR_CODE values. */
#define NKSND_ERR_NONE 0u
#define NKSND_ERR_BAD_FORMAT 1u  /* unknown sample format or channel count */
#define NKSND_ERR_BAD_RATE 2u
#define NKSND_ERR_BAD_BUFFER 3u  /* size out of range or off a frame boundary */
#define NKSND_ERR_BAD_PERIOD 4u  /* does not divide the ring, or too small */
#define NKSND_ERR_BAD_LIMIT 5u   /* past the ring or off a frame boundary */
#define NKSND_ERR_DMA 6u         /* the IOMMU refused the ring (not the driver's DMA memory) */
#define NKSND_ERR_BUSY 7u        /* a setting written while the stream runs */

#endif /* NOOKS_HW_NKSND_H */
