/* SPDX-License-Identifier: MIT */
/*
 * nktest: a driver for tests and benchmarks. It binds the NKDISK controller
 * (registering a null disk "disk0": requests complete at once, no data moves),
 * an auxiliary test device (NKAUX) and a test clock (NKTICK: it starts it at a
 * 1 ms period and counts its interrupts), and does on
 * request, through its disk's ioctl, what a test needs: cross the boundary in
 * the ways XPC must support, or break the rules in the ways isolation must
 * contain.
 *
 * On request (NKTEST_NET_REGISTER, or a net kind of NKTEST_BAD_PARAM) it also
 * registers a net device on the auxiliary device, named after it ("aux0"),
 * with one napi context (nktest_net.c). No frames reach a wire: the test is
 * the stack above it. Its open enables the napi context, starts the queue and
 * turns the carrier on; its stop undoes that; start_xmit takes every frame;
 * its poll delivers the frame NKTEST_NET_EXERCISE left for it and completes.
 *
 * On request (NKTEST_SND_REGISTER, or a sound kind of NKTEST_BAD_PARAM) it
 * registers a sound card on the auxiliary device too (nktest_sound.c), with a
 * playback and a capture stream and the three mixer controls. No samples
 * move: its position is the one NKTEST_SND_PERIOD moved it to.
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

    /* Net (the net device on the auxiliary device). */
    NKTEST_NET_REGISTER = 0x10a,   /* registers it and adds its napi context (weight NK_NAPI_WEIGHT); 0 or an errno */
    /* While it is up, every driver-side net call done right: a second registration answers
     * -EEXIST; priv and napi_dev answer what was registered; queue stop/wake and carrier
     * off/on, each checked with nk_netif_queue_stopped/nk_netif_carrier_ok (it ends woken,
     * carrier on); the hardware counters reported (below); the napi context scheduled with
     * a frame for the poll to deliver. 0, or -(the step that went wrong). */
    NKTEST_NET_EXERCISE = 0x10b,
    NKTEST_NET_UNREGISTER = 0x10c, /* unregisters it (stopping it if up), then deletes its napi context */
    NKTEST_NET_SEEN = 0x10d,       /* the count arg (enum nktest_net_seen) of what the device saw */

    /* Sound (the sound card on the auxiliary device, nktest_sound.c). */
    NKTEST_SND_REGISTER = 0x10e,   /* registers it (playback, capture, three mixer controls); 0 or an errno */
    NKTEST_SND_UNREGISTER = 0x10f, /* unregisters it (its open streams are closed first) */
    /* Stream arg (NK_SND_PLAYBACK ...) moves one period on and reports it with
     * nk_snd_pcm_period_elapsed, as an interrupt would; returns the new position. */
    NKTEST_SND_PERIOD = 0x110,
    /* A second registration answers -EEXIST; nk_snd_card_priv answers what was registered. 0 or -(the step). */
    NKTEST_SND_EXERCISE = 0x111,
    NKTEST_SND_SEEN = 0x112,       /* the count arg (enum nktest_snd_seen) of what the card saw */

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

    /* Net calls (the net device is registered first where the call needs one). */
    NKTEST_BAD_RX_SHORT = 13,      /* nk_netif_rx of 3 bytes */
    NKTEST_BAD_RX_LONG = 14,       /* nk_netif_rx of NK_NET_MAX_FRAME + 1 bytes */
    NKTEST_BAD_RX_STATIC = 15,     /* nk_netif_rx of a frame in the driver's static data (not memory the kernel shares) */
    NKTEST_BAD_RX_NULL = 16,       /* nk_netif_rx of a NULL frame */
    NKTEST_BAD_NETDEV_HANDLE = 17, /* a made-up net device handle */
    NKTEST_BAD_NETDEV_TYPE = 18,   /* a register window passed as a net device */
    NKTEST_BAD_NETDEV_NAPI = 19,   /* a napi context passed as a net device */
    NKTEST_BAD_NETDEV_STALE = 20,  /* a net device used after it was unregistered */
    NKTEST_BAD_NAPI_TYPE = 21,     /* a net device passed as a napi context */
    NKTEST_BAD_NAPI_STALE = 22,    /* a napi context used after nk_napi_del */
    NKTEST_BAD_NAPI_WEIGHT = 23,   /* nk_napi_add with weight 0 */
    NKTEST_BAD_NAPI_HEAVY = 24,    /* nk_napi_add with weight 1025 */
    NKTEST_BAD_NAPI_NO_POLL = 25,  /* nk_napi_add without a poll function */
    NKTEST_BAD_NAPI_WORK = 26,     /* nk_napi_complete_done with work_done above the context's weight */
    NKTEST_BAD_NAPI_NEGATIVE = 27, /* nk_napi_complete_done with work_done -1 */
    NKTEST_BAD_REG_OPS = 28,       /* nk_netdev_register without set_rx_mode */
    NKTEST_BAD_REG_MTU = 29,       /* params.mtu 1501 with max_mtu 1500 */
    NKTEST_BAD_REG_MAX_MTU = 30,   /* params.max_mtu 9001: more than a frame carries */
    NKTEST_BAD_REG_MIN_MTU = 31,   /* params.min_mtu 67: less than NK_ETH_MIN_MTU */
    NKTEST_BAD_REG_MULTICAST = 32, /* a multicast station address (01:00:5e:00:00:01) */
    NKTEST_BAD_REG_ZERO_MAC = 33,  /* the all-zero station address */
    NKTEST_BAD_REG_FEATURES = 34,  /* params.features 0x1 (none are defined) */
    NKTEST_BAD_REG_DEV = 35,       /* a register window passed as the bus device */
    /* Net entry points that misbehave. The kind arms the misbehaviour (on a
     * device with a weight-8 napi context); poll kinds also schedule the poll.
     * XMIT and OPEN kinds need the test to open the device (and send a frame). */
    NKTEST_BAD_POLL_BUDGET = 36,   /* the poll answers budget + 1 */
    NKTEST_BAD_POLL_DISABLE = 37,  /* the poll calls nk_napi_disable on its own context */
    NKTEST_BAD_POLL_DEL = 38,      /* the poll calls nk_napi_del on its own context */
    NKTEST_BAD_POLL_UNREGISTER = 39, /* the poll unregisters its net device */
    NKTEST_BAD_XMIT_ANSWER = 40,   /* start_xmit answers 7 (neither OK nor BUSY) */
    NKTEST_BAD_OPEN_UNREGISTER = 41, /* open unregisters its own net device */

    /* Sound calls (the card is registered first where the call needs one). */
    NKTEST_BAD_SND_NAME_UNTERMINATED = 42, /* a card name filling its array, no NUL */
    NKTEST_BAD_SND_NAME_EMPTY = 43,        /* an empty card name */
    NKTEST_BAD_SND_STREAMS = 44,           /* streams 0x4: no such stream */
    NKTEST_BAD_SND_NO_STREAMS = 45,        /* streams 0 */
    NKTEST_BAD_SND_CONTROLS = 46,          /* mixer_controls 0x8: no such control */
    NKTEST_BAD_SND_FORMATS = 47,           /* hw[playback].formats 0x4 */
    NKTEST_BAD_SND_CHANNELS = 48,          /* hw[playback].channels_max 3 */
    NKTEST_BAD_SND_RATE = 49,              /* hw[capture].rate 48000..8000 */
    NKTEST_BAD_SND_PERIOD = 50,            /* hw[playback].period_bytes_min 8 */
    NKTEST_BAD_SND_BUFFER = 51,            /* hw[capture].buffer_bytes_max 128: less than 3 periods */
    NKTEST_BAD_SND_OPS = 52,               /* pcm ops without pointer */
    NKTEST_BAD_SND_MIXER_OPS = 53,         /* mixer controls without mixer ops */
    NKTEST_BAD_SND_DEV = 54,               /* a register window passed as the bus device */
    NKTEST_BAD_SND_ATOMIC_REGISTER = 55,   /* registering a card holding a spinlock */
    NKTEST_BAD_SND_CARD_HANDLE = 56,       /* nk_snd_card_unregister of a made-up handle */
    NKTEST_BAD_SND_CARD_TYPE = 57,         /* nk_snd_card_unregister of a register window */
    NKTEST_BAD_SND_CARD_STALE = 58,        /* nk_snd_card_unregister twice */
    NKTEST_BAD_SND_PCM_HANDLE = 59,        /* nk_snd_pcm_period_elapsed of a made-up handle */
    NKTEST_BAD_SND_PCM_IS_CARD = 60,       /* nk_snd_pcm_period_elapsed of the card */
    NKTEST_BAD_SND_XRUN_TYPE = 61,         /* nk_snd_pcm_xrun of a register window */
    /* Sound entry points that misbehave. The kind arms the misbehaviour; the
     * test opens a stream (and writes to it, which starts it). */
    NKTEST_BAD_SND_POINTER_PAST_RING = 62, /* pointer answers buffer_bytes */
    NKTEST_BAD_SND_POINTER_OFF_FRAME = 63, /* pointer answers half a frame */
    NKTEST_BAD_SND_TRIGGER_ANSWER = 64,    /* trigger(START) answers 5 */
    NKTEST_BAD_SND_TRIGGER_UNREGISTER = 65, /* trigger(START) unregisters the card */
    NKTEST_BAD_SND_OPEN_UNREGISTER = 66,   /* open unregisters the card */
    NKTEST_BAD_SND_MIXER_LOUD = 67,        /* mixer_get answers left 101 */
    NKTEST_BAD_SND_HW_PARAMS_ERRNO = 68,   /* hw_params answers -5000 */
    NKTEST_BAD_SND_PERIOD_PAST_RING = 69,  /* trigger(START) reports a period at buffer_bytes */
    NKTEST_BAD_SND_PERIOD_OFF_FRAME = 70,  /* trigger(START) reports a period at half a frame */
    NKTEST_BAD_SND_XRUN_PAST_RING = 71,    /* trigger(START) reports an xrun past the ring */
};

/* What the sound card saw (NKTEST_SND_SEEN). */
enum nktest_snd_seen {
    NKTEST_SND_SEEN_OPENS = 0,
    NKTEST_SND_SEEN_CLOSES = 1,
    NKTEST_SND_SEEN_HW_PARAMS = 2,
    NKTEST_SND_SEEN_HW_FREES = 3,
    NKTEST_SND_SEEN_PREPARES = 4,
    NKTEST_SND_SEEN_STARTS = 5,
    NKTEST_SND_SEEN_STOPS = 6,
    NKTEST_SND_SEEN_POINTERS = 7,
    NKTEST_SND_SEEN_ACKS = 8,
    NKTEST_SND_SEEN_MIXER_GETS = 9,
    NKTEST_SND_SEEN_MIXER_PUTS = 10,
    NKTEST_SND_SEEN_COUNT = 11,
};

/* The sound card's name (for people). */
#define NKTEST_SND_NAME "NKTEST"

/* What the net device saw (NKTEST_NET_SEEN). */
enum nktest_net_seen {
    NKTEST_SEEN_OPENS = 0,
    NKTEST_SEEN_STOPS = 1,
    NKTEST_SEEN_RX_MODES = 2,   /* set_rx_mode calls */
    NKTEST_SEEN_XMITS = 3,      /* frames start_xmit took */
    NKTEST_SEEN_XMITS_INTACT = 4, /* ... whose bytes were nktest_frame_byte()'s */
    NKTEST_SEEN_POLLS = 5,
    NKTEST_SEEN_DELIVERED = 6,  /* frames the poll passed to nk_netif_rx */
    NKTEST_SEEN_COUNT = 7,
};

/* The net device's station address, and the length of the frame the poll delivers. */
#define NKTEST_NET_MAC { 0x02, 0x6e, 0x6b, 0x74, 0x00, 0x01 }
#define NKTEST_NET_FRAME_LEN 60u
/* The hardware counters NKTEST_NET_EXERCISE reports: rx_missed 1, rx_errors 2, tx_errors 3, hw_errors 4. */

/*
 * Byte i of every test frame (the one the poll delivers, the ones start_xmit
 * checks): broadcast destination, source NKTEST_NET_MAC, ethertype 0x88b5
 * (local experimental), then i & 0xff.
 */
static inline unsigned char nktest_frame_byte(unsigned i)
{
    static const unsigned char head[14] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x6e, 0x6b, 0x74, 0x00, 0x01, 0x88, 0xb5 };
    return i < sizeof(head) ? head[i] : (unsigned char)i;
}

#endif /* NKTEST_H */
