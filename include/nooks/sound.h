/* SPDX-License-Identifier: MIT */
/*
 * nooks kernel API: the sound class (C ABI). See <nooks/kernel.h> for the
 * conventions every function here follows.
 *
 * A sound driver registers a card with up to two PCM streams (playback,
 * capture) and a mixer; the sound layer owns each stream's ring buffer and
 * moves the applications' samples into and out of it, modelled on ALSA's
 * PCM middle layer with managed buffers:
 *
 *   kernel                                   driver
 *   ------                                   ------
 *   open(pcm)                        --->    claim the stream (remember pcm)
 *   hw_params(pcm, params)           --->    check format, channels, rate, sizes
 *   prepare(pcm)                     --->    program the card: format, rate,
 *                                            ring (params->dma_addr), period,
 *                                            position 0
 *   ack(pcm, limit)                  --->    the application wrote (read): move
 *                                            the card's limit
 *   trigger(pcm, START)              --->    run the stream
 *                                    <---    interrupt: nk_snd_pcm_period_elapsed(pcm, pos)
 *   pointer(pcm)                     --->    the card's position now
 *   trigger(pcm, STOP), hw_free, close
 *   mixer_get / mixer_put(card, ...) --->    read / program a mixer control
 *
 * The ring: the layer allocates each stream's ring as DMA memory the card
 * can reach (as ALSA's managed buffers: the driver never copies a sample)
 * and passes its device address and size in hw_params. Positions are byte
 * offsets in the ring, on a frame boundary, 0 .. buffer_bytes - 1.
 *
 * The limit (ack): playback: the data is valid up to this offset (the card
 * must not play past it: it plays silence there, and resumes when the limit
 * moves); capture: the ring is free up to this offset (the card must not
 * write past it). The layer keeps at least one period between the
 * application's position and the card's, so limit == position always means
 * "empty" (playback) or "full" (capture), never the opposite.
 *
 * Serialization: open, close, hw_params, hw_free and prepare are called in
 * process context, one at a time per stream; trigger, pointer and ack in
 * atomic context, one at a time per stream; mixer_get and mixer_put in
 * process context, one at a time per card. None is called for a stream
 * between a successful close and its next open; hw_params, prepare, ack,
 * trigger and pointer only between open and close.
 */
#ifndef NOOKS_SOUND_H
#define NOOKS_SOUND_H

#include <nooks/kernel.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nk_snd_card nk_snd_card;
typedef struct nk_snd_pcm nk_snd_pcm;

/* Streams of a card. */
#define NK_SND_PLAYBACK 0u
#define NK_SND_CAPTURE 1u
#define NK_SND_STREAMS 2u

/* Sample formats (bit masks in nk_snd_pcm_hw.formats, one value in params). */
#define NK_SND_FMT_U8 0x1u     /* unsigned 8-bit */
#define NK_SND_FMT_S16_LE 0x2u /* signed 16-bit little endian */

/* Mixer controls. A value is left | right << 8, each 0..100 (percent). */
#define NK_SND_MIXER_MASTER 0u
#define NK_SND_MIXER_PCM 1u
#define NK_SND_MIXER_CAPTURE 2u
#define NK_SND_MIXER_CONTROLS 3u
#define NK_SND_MIXER_VALUE(left, right) (((uint32_t)(left) & 0xffu) | (((uint32_t)(right) & 0xffu) << 8))
#define NK_SND_MIXER_LEFT(v) ((v) & 0xffu)
#define NK_SND_MIXER_RIGHT(v) (((v) >> 8) & 0xffu)
#define NK_SND_MIXER_MAX 100u

#define NK_SND_NAME_MAX 32u

/* What one stream of the hardware can do. */
struct nk_snd_pcm_hw {
    uint32_t formats;          /* NK_SND_FMT_* mask, not 0 */
    uint32_t channels_min;     /* 1 .. channels_max */
    uint32_t channels_max;     /* .. 2 */
    uint32_t rate_min;         /* frames per second; every integer rate in range is exact */
    uint32_t rate_max;
    uint32_t buffer_bytes_max; /* the largest ring the card takes */
    uint32_t period_bytes_min; /* >= 16 */
    uint32_t period_bytes_max;
};

/* Registration parameters (nk_snd_card_register). */
struct nk_snd_card_params {
    char name[NK_SND_NAME_MAX];        /* for people ("NKSND"), NUL-terminated */
    uint32_t streams;                  /* 1 << NK_SND_PLAYBACK | 1 << NK_SND_CAPTURE: the streams it has */
    uint32_t mixer_controls;           /* 1 << NK_SND_MIXER_*: the controls it has */
    struct nk_snd_pcm_hw hw[NK_SND_STREAMS]; /* per stream it has */
};

/* A stream's configuration (hw_params). */
struct nk_snd_pcm_params {
    uint32_t format;        /* one NK_SND_FMT_* the stream supports */
    uint32_t channels;
    uint32_t rate;
    uint32_t period_bytes;  /* a multiple of the frame size; divides buffer_bytes */
    uint32_t buffer_bytes;  /* the ring: a whole number of periods, >= 2 */
    uint32_t reserved;
    nk_dma_addr_t dma_addr; /* the ring as the card sees it (valid until hw_free) */
};

/* trigger commands. */
#define NK_SND_TRIGGER_STOP 0
#define NK_SND_TRIGGER_START 1

/*
 * The driver's entry points for a stream. `pcm` is the stream's handle, the
 * same from open to close (a driver keeps it for its interrupt handler).
 *
 * open(): process context. The stream is claimed by an application. 0 or a
 *   negative errno (-EBUSY: the hardware cannot open it now).
 * close(): process context. The stream is stopped and its buffer freed
 *   (hw_free was called). Returns 0.
 * hw_params(): process context, stream stopped. Check `params` against the
 *   hardware and keep them; 0 or -EINVAL. Called again for a new
 *   configuration (after hw_free).
 * hw_free(): process context, stream stopped. Forget the ring (its DMA
 *   address is no longer valid afterwards). Returns 0.
 * prepare(): process context, stream stopped. Program the card with the
 *   kept parameters, position 0, limit 0. 0 or a negative errno.
 * trigger(): atomic context. NK_SND_TRIGGER_START runs the stream,
 *   NK_SND_TRIGGER_STOP stops it (the position stays). 0 or -EINVAL.
 * pointer(): atomic context. The card's position in the ring now (bytes).
 * ack(): atomic context. The new limit (see above), a frame-aligned offset in
 *   the ring. Returns 0.
 */
struct nk_snd_pcm_ops {
    int (*open)(nk_snd_pcm *pcm);
    int (*close)(nk_snd_pcm *pcm);
    int (*hw_params)(nk_snd_pcm *pcm, const struct nk_snd_pcm_params *params);
    int (*hw_free)(nk_snd_pcm *pcm);
    int (*prepare)(nk_snd_pcm *pcm);
    int (*trigger)(nk_snd_pcm *pcm, int cmd);
    uint32_t (*pointer)(nk_snd_pcm *pcm);
    int (*ack)(nk_snd_pcm *pcm, uint32_t limit);
};

/*
 * The mixer. Process context, one call at a time per card.
 * mixer_get(): the control's value (left | right << 8), or a negative errno.
 * mixer_put(): program it; the value's sides are 0..100. 0 or -EINVAL.
 * The driver programs its own defaults at probe (the card's reset state is
 * muted); the kernel never restores a card's mixer on its own.
 */
struct nk_snd_mixer_ops {
    int (*mixer_get)(nk_snd_card *card, uint32_t control);
    int (*mixer_put)(nk_snd_card *card, uint32_t control, uint32_t value);
};

/*
 * Process context, usually from probe() once the card is initialized
 * (mixer defaults programmed). Registers a sound card backed by `dev`. The
 * kernel copies `params`; the ops must stay valid until
 * nk_snd_card_unregister. Applications may open its streams before this
 * returns. 0, -EINVAL (bad params: it names the field in the log), -EEXIST
 * (`dev` has a card already), -ENOMEM.
 */
int nk_snd_card_register(nk_device *dev, const struct nk_snd_card_params *params, const struct nk_snd_pcm_ops *pcm_ops,
                         const struct nk_snd_mixer_ops *mixer_ops, void *private_data, nk_snd_card **out);
/*
 * Process context. Stops and closes every open stream (the applications'
 * files fail from then on), then removes the card; the handle is invalid
 * afterwards. Not from the card's own entry points.
 */
void nk_snd_card_unregister(nk_snd_card *card);
/* Any context. */
void *nk_snd_card_priv(nk_snd_card *card);

/* Any context, between open and close: the stream's card, its private data, its direction (NK_SND_PLAYBACK ...). */
nk_snd_card *nk_snd_pcm_card(nk_snd_pcm *pcm);
void *nk_snd_pcm_chip(nk_snd_pcm *pcm);
uint32_t nk_snd_pcm_stream(nk_snd_pcm *pcm);

/*
 * Any context (normally the interrupt handler). The card's position crossed
 * a period boundary: `position` is what pointer() would answer now. The
 * layer wakes the applications waiting for room (data).
 */
void nk_snd_pcm_period_elapsed(nk_snd_pcm *pcm, uint32_t position);
/*
 * Any context. The card ran into its limit (playback: underrun; capture:
 * overrun) at `position`. Counted; the stream keeps running.
 */
void nk_snd_pcm_xrun(nk_snd_pcm *pcm, uint32_t position);

#ifdef __cplusplus
}
#endif

#endif /* NOOKS_SOUND_H */
