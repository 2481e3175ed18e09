/* SPDX-License-Identifier: MIT */
/*
 * nktest's sound card: see nktest.h (NKTEST_SND_*, the sound kinds of
 * NKTEST_BAD_PARAM) and nktest_sound.h. One card at a time, on the auxiliary
 * device, with a playback and a capture stream and the three mixer
 * controls. No hardware behind it: the position it reports is the one
 * NKTEST_SND_PERIOD moved it to. Its entry points behave unless a
 * NKTEST_BAD_PARAM kind armed a misbehaviour.
 */
#include "nktest_sound.h"

#include "nktest.h"

#include <nooks/sound.h>

#include <string.h>

enum misbehaviour {
    BEHAVE = 0,
    POINTER_PAST_RING,
    POINTER_OFF_FRAME,
    TRIGGER_BAD_ANSWER,
    TRIGGER_UNREGISTER,
    OPEN_UNREGISTER,
    MIXER_GET_LOUD,
    HW_PARAMS_BAD_ERRNO,
    PERIOD_PAST_RING,
    PERIOD_OFF_FRAME,
    XRUN_PAST_RING,
};

struct snd_stream {
    nk_snd_pcm *pcm;
    struct nk_snd_pcm_params params;
    bool have_params;
    uint32_t position;
};

static struct {
    nk_snd_card *card;
    struct snd_stream streams[NK_SND_STREAMS];
    uint32_t mixer[NK_SND_MIXER_CONTROLS];
    enum misbehaviour misbehave;
    uint32_t seen[NKTEST_SND_SEEN_COUNT];
} snd;

static void count(enum nktest_snd_seen what) { __atomic_add_fetch(&snd.seen[what], 1, __ATOMIC_SEQ_CST); }

static uint32_t frame_bytes(const struct nk_snd_pcm_params *params)
{
    return (params->format == NK_SND_FMT_S16_LE ? 2u : 1u) * params->channels;
}

/* The stream `pcm` is, checked against what the domain (or kernel) answers about it. */
static struct snd_stream *stream_of(nk_snd_pcm *pcm)
{
    uint32_t stream = nk_snd_pcm_stream(pcm);

    if (stream >= NK_SND_STREAMS || nk_snd_pcm_chip(pcm) != &snd || nk_snd_pcm_card(pcm) != snd.card)
        return NULL;
    return &snd.streams[stream];
}

/* ---- Entry points ---------------------------------------------------------- */

static int snd_open(nk_snd_pcm *pcm)
{
    struct snd_stream *s = stream_of(pcm);

    count(NKTEST_SND_SEEN_OPENS);
    if (!s)
        return -EINVAL;
    if (snd.misbehave == OPEN_UNREGISTER) {
        nk_snd_card_unregister(snd.card);
        return 0;
    }
    s->pcm = pcm;
    s->position = 0;
    return 0;
}

static int snd_close(nk_snd_pcm *pcm)
{
    struct snd_stream *s = stream_of(pcm);

    count(NKTEST_SND_SEEN_CLOSES);
    if (s)
        memset(s, 0, sizeof(*s));
    return 0;
}

static int snd_hw_params(nk_snd_pcm *pcm, const struct nk_snd_pcm_params *params)
{
    struct snd_stream *s = stream_of(pcm);

    count(NKTEST_SND_SEEN_HW_PARAMS);
    if (snd.misbehave == HW_PARAMS_BAD_ERRNO)
        return -5000;
    if (!s || !params || params->dma_addr == 0 || params->buffer_bytes == 0 || params->period_bytes == 0 ||
        params->buffer_bytes % params->period_bytes != 0)
        return -EINVAL;
    s->params = *params;
    s->have_params = true;
    return 0;
}

static int snd_hw_free(nk_snd_pcm *pcm)
{
    struct snd_stream *s = stream_of(pcm);

    count(NKTEST_SND_SEEN_HW_FREES);
    if (s)
        s->have_params = false;
    return 0;
}

static int snd_prepare(nk_snd_pcm *pcm)
{
    struct snd_stream *s = stream_of(pcm);

    count(NKTEST_SND_SEEN_PREPARES);
    if (!s || !s->have_params)
        return -EINVAL;
    s->position = 0;
    return 0;
}

static int snd_trigger(nk_snd_pcm *pcm, int cmd)
{
    struct snd_stream *s = stream_of(pcm);

    if (!s)
        return -EINVAL;
    if (cmd == NK_SND_TRIGGER_STOP) {
        count(NKTEST_SND_SEEN_STOPS);
        return 0;
    }
    if (cmd != NK_SND_TRIGGER_START)
        return -EINVAL;
    count(NKTEST_SND_SEEN_STARTS);
    switch (snd.misbehave) {
    case TRIGGER_BAD_ANSWER:
        return 5;
    case TRIGGER_UNREGISTER:
        nk_snd_card_unregister(snd.card);
        return 0;
    case PERIOD_PAST_RING:
        nk_snd_pcm_period_elapsed(pcm, s->params.buffer_bytes);
        return 0;
    case PERIOD_OFF_FRAME:
        nk_snd_pcm_period_elapsed(pcm, frame_bytes(&s->params) / 2);
        return 0;
    case XRUN_PAST_RING:
        nk_snd_pcm_xrun(pcm, s->params.buffer_bytes + frame_bytes(&s->params));
        return 0;
    default:
        return 0;
    }
}

static uint32_t snd_pointer(nk_snd_pcm *pcm)
{
    struct snd_stream *s = stream_of(pcm);

    count(NKTEST_SND_SEEN_POINTERS);
    if (!s)
        return 0;
    if (snd.misbehave == POINTER_PAST_RING)
        return s->params.buffer_bytes;
    if (snd.misbehave == POINTER_OFF_FRAME)
        return frame_bytes(&s->params) / 2;
    return s->position;
}

static int snd_ack(nk_snd_pcm *pcm, uint32_t limit)
{
    count(NKTEST_SND_SEEN_ACKS);
    return stream_of(pcm) ? 0 : -EINVAL;
}

static int snd_mixer_get(nk_snd_card *card, uint32_t control)
{
    count(NKTEST_SND_SEEN_MIXER_GETS);
    if (nk_snd_card_priv(card) != &snd || control >= NK_SND_MIXER_CONTROLS)
        return -EINVAL;
    if (snd.misbehave == MIXER_GET_LOUD)
        return (int)NK_SND_MIXER_VALUE(101, 100);
    return (int)snd.mixer[control];
}

static int snd_mixer_put(nk_snd_card *card, uint32_t control, uint32_t value)
{
    count(NKTEST_SND_SEEN_MIXER_PUTS);
    if (nk_snd_card_priv(card) != &snd || control >= NK_SND_MIXER_CONTROLS || value > 0xffffu ||
        NK_SND_MIXER_LEFT(value) > NK_SND_MIXER_MAX || NK_SND_MIXER_RIGHT(value) > NK_SND_MIXER_MAX)
        return -EINVAL;
    snd.mixer[control] = value;
    return 0;
}

static const struct nk_snd_pcm_ops pcm_ops = {
    .open = snd_open,
    .close = snd_close,
    .hw_params = snd_hw_params,
    .hw_free = snd_hw_free,
    .prepare = snd_prepare,
    .trigger = snd_trigger,
    .pointer = snd_pointer,
    .ack = snd_ack,
};
static const struct nk_snd_pcm_ops pcm_ops_without_pointer = {
    .open = snd_open,
    .close = snd_close,
    .hw_params = snd_hw_params,
    .hw_free = snd_hw_free,
    .prepare = snd_prepare,
    .trigger = snd_trigger,
    .ack = snd_ack,
};
static const struct nk_snd_mixer_ops mixer_ops = { .mixer_get = snd_mixer_get, .mixer_put = snd_mixer_put };

/* ---- Registration ---------------------------------------------------------- */

static void default_params(struct nk_snd_card_params *params)
{
    uint32_t stream;

    memset(params, 0, sizeof(*params));
    strncpy(params->name, NKTEST_SND_NAME, sizeof(params->name) - 1);
    params->streams = 1u << NK_SND_PLAYBACK | 1u << NK_SND_CAPTURE;
    params->mixer_controls = (1u << NK_SND_MIXER_CONTROLS) - 1;
    for (stream = 0; stream < NK_SND_STREAMS; stream++) {
        struct nk_snd_pcm_hw *hw = &params->hw[stream];

        hw->formats = NK_SND_FMT_U8 | NK_SND_FMT_S16_LE;
        hw->channels_min = 1;
        hw->channels_max = 2;
        hw->rate_min = 8000;
        hw->rate_max = 48000;
        hw->buffer_bytes_max = 1u << 20;
        hw->period_bytes_min = 64;
        hw->period_bytes_max = 256u * 1024u;
    }
}

static int snd_register(nk_device *dev)
{
    struct nk_snd_card_params params;
    uint32_t control;
    int err;

    if (snd.card)
        return 0;
    memset(&snd, 0, sizeof(snd));
    for (control = 0; control < NK_SND_MIXER_CONTROLS; control++)
        snd.mixer[control] = NK_SND_MIXER_VALUE(NK_SND_MIXER_MAX, NK_SND_MIXER_MAX);
    default_params(&params);
    err = nk_snd_card_register(dev, &params, &pcm_ops, &mixer_ops, &snd, &snd.card);
    if (err)
        memset(&snd, 0, sizeof(snd));
    return err;
}

static void snd_unregister(void)
{
    if (!snd.card)
        return;
    /* Closes the open streams first (our close runs). */
    nk_snd_card_unregister(snd.card);
    memset(&snd, 0, sizeof(snd));
}

void nktest_sound_release(void) { snd_unregister(); }

/* ---- Requests ---------------------------------------------------------------- */

/* Moves stream arg's position one period on and reports it, as an interrupt handler would. */
static int snd_period(uint64_t arg)
{
    struct snd_stream *s;

    if (!snd.card || arg >= NK_SND_STREAMS)
        return -ENODEV;
    s = &snd.streams[arg];
    if (!s->pcm || !s->have_params)
        return -EINVAL;
    s->position = (s->position + s->params.period_bytes) % s->params.buffer_bytes;
    nk_snd_pcm_period_elapsed(s->pcm, s->position);
    return (int)s->position;
}

/* Every question the driver may ask the domain about its card, answered right. */
static int snd_exercise(nk_device *dev)
{
    struct nk_snd_card_params params;
    nk_snd_card *other = NULL;

    if (!snd.card)
        return -ENODEV;
    default_params(&params);
    if (nk_snd_card_register(dev, &params, &pcm_ops, &mixer_ops, NULL, &other) != -EEXIST)
        return -1;
    if (nk_snd_card_priv(snd.card) != &snd)
        return -2;
    return 0;
}

int nktest_sound_ioctl(nk_device *dev, uint32_t cmd, uint64_t arg)
{
    if (!dev)
        return -ENODEV;
    switch (cmd) {
    case NKTEST_SND_REGISTER:
        return snd_register(dev);
    case NKTEST_SND_UNREGISTER:
        snd_unregister();
        return 0;
    case NKTEST_SND_PERIOD:
        return snd_period(arg);
    case NKTEST_SND_EXERCISE:
        return snd_exercise(dev);
    case NKTEST_SND_SEEN:
        return arg < NKTEST_SND_SEEN_COUNT ? (int)__atomic_load_n(&snd.seen[arg], __ATOMIC_SEQ_CST) : -EINVAL;
    default:
        return -ENOTTY;
    }
}

/* A registration with one parameter wrong (`kind`); 1 if `kind` is not one. */
static int bad_registration(nk_device *dev, nk_iomem *regs, uint64_t kind)
{
    const struct nk_snd_pcm_ops *ops = &pcm_ops;
    const struct nk_snd_mixer_ops *mixer = &mixer_ops;
    struct nk_snd_card_params params;
    nk_snd_card *card;

    default_params(&params);
    switch (kind) {
    case NKTEST_BAD_SND_NAME_UNTERMINATED: memset(params.name, 'A', sizeof(params.name)); break;
    case NKTEST_BAD_SND_NAME_EMPTY: params.name[0] = '\0'; break;
    case NKTEST_BAD_SND_STREAMS: params.streams = 0x4; break;
    case NKTEST_BAD_SND_NO_STREAMS: params.streams = 0; break;
    case NKTEST_BAD_SND_CONTROLS: params.mixer_controls = 0x8; break;
    case NKTEST_BAD_SND_FORMATS: params.hw[NK_SND_PLAYBACK].formats = 0x4; break;
    case NKTEST_BAD_SND_CHANNELS: params.hw[NK_SND_PLAYBACK].channels_max = 3; break;
    case NKTEST_BAD_SND_RATE: params.hw[NK_SND_CAPTURE].rate_min = 48000; params.hw[NK_SND_CAPTURE].rate_max = 8000; break;
    case NKTEST_BAD_SND_PERIOD: params.hw[NK_SND_PLAYBACK].period_bytes_min = 8; break;
    case NKTEST_BAD_SND_BUFFER: params.hw[NK_SND_CAPTURE].buffer_bytes_max = 128; break;
    case NKTEST_BAD_SND_OPS: ops = &pcm_ops_without_pointer; break;
    case NKTEST_BAD_SND_MIXER_OPS: mixer = NULL; break;
    case NKTEST_BAD_SND_DEV: dev = (nk_device *)regs; break;
    case NKTEST_BAD_SND_ATOMIC_REGISTER: {
        nk_spinlock_t lock;
        int err;

        nk_spin_lock_init(&lock);
        nk_spin_lock(&lock);
        err = nk_snd_card_register(dev, &params, ops, mixer, &snd, &card);
        nk_spin_unlock(&lock);
        return err;
    }
    default: return 1;
    }
    return nk_snd_card_register(dev, &params, ops, mixer, &snd, &card);
}

static int arm(enum misbehaviour misbehave)
{
    snd.misbehave = misbehave;
    return 0;
}

int nktest_sound_bad_param(nk_device *dev, nk_iomem *regs, uint64_t kind)
{
    nk_snd_card *card;
    int err;

    if (kind < NKTEST_BAD_SND_NAME_UNTERMINATED || kind > NKTEST_BAD_SND_XRUN_PAST_RING)
        return -EINVAL;
    if (!dev)
        return -ENODEV;
    err = bad_registration(dev, regs, kind);
    if (err != 1)
        return err;
    err = snd_register(dev);
    if (err)
        return err;
    switch (kind) {
    case NKTEST_BAD_SND_CARD_HANDLE:
        nk_snd_card_unregister((nk_snd_card *)(uintptr_t)0x1234);
        return 0;
    case NKTEST_BAD_SND_CARD_TYPE:
        nk_snd_card_unregister((nk_snd_card *)regs);
        return 0;
    case NKTEST_BAD_SND_CARD_STALE:
        card = snd.card;
        snd_unregister();
        nk_snd_card_unregister(card);
        return 0;
    case NKTEST_BAD_SND_PCM_HANDLE:
        nk_snd_pcm_period_elapsed((nk_snd_pcm *)(uintptr_t)0x1234, 0);
        return 0;
    case NKTEST_BAD_SND_PCM_IS_CARD:
        nk_snd_pcm_period_elapsed((nk_snd_pcm *)snd.card, 0);
        return 0;
    case NKTEST_BAD_SND_XRUN_TYPE:
        nk_snd_pcm_xrun((nk_snd_pcm *)regs, 0);
        return 0;
    case NKTEST_BAD_SND_POINTER_PAST_RING: return arm(POINTER_PAST_RING);
    case NKTEST_BAD_SND_POINTER_OFF_FRAME: return arm(POINTER_OFF_FRAME);
    case NKTEST_BAD_SND_TRIGGER_ANSWER: return arm(TRIGGER_BAD_ANSWER);
    case NKTEST_BAD_SND_TRIGGER_UNREGISTER: return arm(TRIGGER_UNREGISTER);
    case NKTEST_BAD_SND_OPEN_UNREGISTER: return arm(OPEN_UNREGISTER);
    case NKTEST_BAD_SND_MIXER_LOUD: return arm(MIXER_GET_LOUD);
    case NKTEST_BAD_SND_HW_PARAMS_ERRNO: return arm(HW_PARAMS_BAD_ERRNO);
    case NKTEST_BAD_SND_PERIOD_PAST_RING: return arm(PERIOD_PAST_RING);
    case NKTEST_BAD_SND_PERIOD_OFF_FRAME: return arm(PERIOD_OFF_FRAME);
    case NKTEST_BAD_SND_XRUN_PAST_RING: return arm(XRUN_PAST_RING);
    default:
        return -EINVAL;
    }
}
