/* SPDX-License-Identifier: MIT */
/*
 * nksnd: sound driver for the NKSND card (<hw/nksnd.h>), written the way a
 * small ALSA PCI driver (ens1370) is:
 *
 *   - probe: map the registers, check the card's ID, reset it, program the
 *     mixer's defaults (master, PCM and capture 100/100, unmuted: the card
 *     comes out of reset muted), request the interrupt, and register the card
 *     with what the hardware can do. Nothing runs until a stream is started.
 *   - open / close: claim and release a stream (its pcm handle is kept for
 *     the interrupt handler).
 *   - hw_params: check the configuration against the hardware and keep it;
 *     the ring is the sound layer's DMA memory (the driver never copies a
 *     sample).
 *   - prepare: reset the stream, program format, rate, ring, period, limit 0
 *     and the stream's interrupts.
 *   - trigger: set or clear CTRL.RUN; pointer: POSITION; ack: LIMIT.
 *   - interrupt: GLOBAL_STATUS says which stream; its INT_STATUS is cleared by
 *     writing it back and POSITION read, under the driver's lock; the layer
 *     is told (period elapsed, xrun) after the lock is released. A
 *     misprogramming (ERROR) stops the stream in the card: its code is logged.
 *   - mixer: the MASTER, PCM and CAPTURE registers, left | right << 8.
 *   - remove: unregister the card (its open streams are stopped and closed
 *     first), free the interrupt, reset the card.
 */
#include <hw/nksnd.h>
#include <nooks/kernel.h>
#include <nooks/sound.h>

#include <string.h>

#define NKSND_PERIOD_BYTES_MAX (256u * 1024u)
#define NKSND_INTERRUPTS (NKSND_INT_PERIOD | NKSND_INT_XRUN | NKSND_INT_ERROR)

struct nksnd_stream {
    nk_snd_pcm *pcm;                  /* between open and close; under lock */
    struct nk_snd_pcm_params params;  /* kept by hw_params */
    bool have_params;
    uint32_t frame_bytes;
};

struct nksnd {
    nk_device *dev;
    nk_iomem *regs;
    nk_snd_card *card;
    char name[32];
    int irq;
    bool irq_requested;
    /* The streams' pcm handles (the interrupt handler reads them) and every
     * register sequence of a stream the handler could interleave with. */
    nk_spinlock_t lock;
    struct nksnd_stream streams[NKSND_STREAMS];
};

static const uint32_t nksnd_mixer_regs[NK_SND_MIXER_CONTROLS] = {
    [NK_SND_MIXER_MASTER] = NKSND_REG_MIX_MASTER,
    [NK_SND_MIXER_PCM] = NKSND_REG_MIX_PCM,
    [NK_SND_MIXER_CAPTURE] = NKSND_REG_MIX_CAPTURE,
};

static void nksnd_writel(struct nksnd *chip, uint32_t reg, uint32_t value) { nk_writel(chip->regs, reg, value); }
static uint32_t nksnd_readl(struct nksnd *chip, uint32_t reg) { return nk_readl(chip->regs, reg); }

static void nksnd_swritel(struct nksnd *chip, uint32_t stream, uint32_t reg, uint32_t value)
{
    nk_writel(chip->regs, NKSND_STREAM_BASE(stream) + reg, value);
}

static uint32_t nksnd_sreadl(struct nksnd *chip, uint32_t stream, uint32_t reg)
{
    return nk_readl(chip->regs, NKSND_STREAM_BASE(stream) + reg);
}

/* The stream a pcm handle is, or NULL if the kernel named none of ours. */
static struct nksnd_stream *nksnd_stream_of(struct nksnd *chip, nk_snd_pcm *pcm, uint32_t *index)
{
    uint32_t stream = nk_snd_pcm_stream(pcm);

    if (!chip || stream >= NKSND_STREAMS)
        return NULL;
    *index = stream;
    return &chip->streams[stream];
}

/* ---- Hardware bring-up --------------------------------------------------- */

static void nksnd_reset_hw(struct nksnd *chip)
{
    nksnd_writel(chip, NKSND_REG_GLOBAL_CTRL, NKSND_GLOBAL_CTRL_RESET);
    /* A read flushes the posted write: the card is reset when it returns. */
    (void)nksnd_readl(chip, NKSND_REG_GLOBAL_STATUS);
}

static void nksnd_mixer_defaults(struct nksnd *chip)
{
    uint32_t control;

    for (control = 0; control < NK_SND_MIXER_CONTROLS; control++)
        nksnd_writel(chip, nksnd_mixer_regs[control], NKSND_MIX_VALUE(NKSND_MIX_MAX, NKSND_MIX_MAX));
}

static void nksnd_stream_reset(struct nksnd *chip, uint32_t stream)
{
    nksnd_swritel(chip, stream, NKSND_SREG_CTRL, NKSND_CTRL_RESET);
}

/* ---- PCM ------------------------------------------------------------------- */

static int nksnd_pcm_open(nk_snd_pcm *pcm)
{
    struct nksnd *chip = nk_snd_pcm_chip(pcm);
    struct nksnd_stream *s;
    uint32_t stream;
    int err = 0;

    s = nksnd_stream_of(chip, pcm, &stream);
    if (!s)
        return -EINVAL;
    nk_spin_lock(&chip->lock);
    if (s->pcm)
        err = -EBUSY;
    else
        s->pcm = pcm;
    nk_spin_unlock(&chip->lock);
    if (!err)
        s->have_params = false;
    return err;
}

static int nksnd_pcm_close(nk_snd_pcm *pcm)
{
    struct nksnd *chip = nk_snd_pcm_chip(pcm);
    struct nksnd_stream *s;
    uint32_t stream;

    s = nksnd_stream_of(chip, pcm, &stream);
    if (!s)
        return 0;
    nk_spin_lock(&chip->lock);
    nksnd_stream_reset(chip, stream);
    s->pcm = NULL;
    nk_spin_unlock(&chip->lock);
    s->have_params = false;
    return 0;
}

static uint32_t nksnd_frame_bytes(uint32_t format, uint32_t channels)
{
    return (format == NK_SND_FMT_S16_LE ? 2u : 1u) * channels;
}

static int nksnd_pcm_hw_params(nk_snd_pcm *pcm, const struct nk_snd_pcm_params *params)
{
    struct nksnd *chip = nk_snd_pcm_chip(pcm);
    struct nksnd_stream *s;
    uint32_t stream;
    uint32_t frame;

    s = nksnd_stream_of(chip, pcm, &stream);
    if (!s || !params)
        return -EINVAL;
    if (params->format != NK_SND_FMT_U8 && params->format != NK_SND_FMT_S16_LE)
        return -EINVAL;
    if (params->channels < 1 || params->channels > 2)
        return -EINVAL;
    if (params->rate < NKSND_RATE_MIN || params->rate > NKSND_RATE_MAX)
        return -EINVAL;
    frame = nksnd_frame_bytes(params->format, params->channels);
    if (params->buffer_bytes < NKSND_BUF_BYTES_MIN || params->buffer_bytes > NKSND_BUF_BYTES_MAX ||
        params->buffer_bytes % frame != 0)
        return -EINVAL;
    if (params->period_bytes < NKSND_PERIOD_BYTES_MIN || params->period_bytes > NKSND_PERIOD_BYTES_MAX ||
        params->period_bytes % frame != 0 || params->buffer_bytes % params->period_bytes != 0 ||
        params->buffer_bytes / params->period_bytes < 2)
        return -EINVAL;
    if (params->dma_addr == 0)
        return -EINVAL;
    s->params = *params;
    s->frame_bytes = frame;
    s->have_params = true;
    return 0;
}

static int nksnd_pcm_hw_free(nk_snd_pcm *pcm)
{
    struct nksnd *chip = nk_snd_pcm_chip(pcm);
    struct nksnd_stream *s;
    uint32_t stream;

    s = nksnd_stream_of(chip, pcm, &stream);
    if (!s)
        return 0;
    /* The ring goes away: the card must not reach it any more. */
    nk_spin_lock(&chip->lock);
    nksnd_stream_reset(chip, stream);
    nksnd_swritel(chip, stream, NKSND_SREG_BUF_BYTES, 0);
    nksnd_swritel(chip, stream, NKSND_SREG_BUF_ADDR_LO, 0);
    nksnd_swritel(chip, stream, NKSND_SREG_BUF_ADDR_HI, 0);
    nk_spin_unlock(&chip->lock);
    s->have_params = false;
    return 0;
}

static int nksnd_pcm_prepare(nk_snd_pcm *pcm)
{
    struct nksnd *chip = nk_snd_pcm_chip(pcm);
    struct nksnd_stream *s;
    uint32_t stream;
    uint32_t format;

    s = nksnd_stream_of(chip, pcm, &stream);
    if (!s || !s->have_params)
        return -EINVAL;
    format = NKSND_FORMAT(s->params.format == NK_SND_FMT_S16_LE ? NKSND_FMT_S16_LE : NKSND_FMT_U8, s->params.channels);
    nk_spin_lock(&chip->lock);
    /* Stopped, position 0, status cleared; then the stream's settings. */
    nksnd_stream_reset(chip, stream);
    nksnd_swritel(chip, stream, NKSND_SREG_FORMAT, format);
    nksnd_swritel(chip, stream, NKSND_SREG_RATE, s->params.rate);
    nksnd_swritel(chip, stream, NKSND_SREG_BUF_ADDR_LO, (uint32_t)s->params.dma_addr);
    nksnd_swritel(chip, stream, NKSND_SREG_BUF_ADDR_HI, (uint32_t)(s->params.dma_addr >> 32));
    nksnd_swritel(chip, stream, NKSND_SREG_BUF_BYTES, s->params.buffer_bytes);
    nksnd_swritel(chip, stream, NKSND_SREG_PERIOD_BYTES, s->params.period_bytes);
    nksnd_swritel(chip, stream, NKSND_SREG_LIMIT, 0);
    nksnd_swritel(chip, stream, NKSND_SREG_INT_STATUS, NKSND_INTERRUPTS);
    nksnd_swritel(chip, stream, NKSND_SREG_INT_ENABLE, NKSND_INTERRUPTS);
    nk_spin_unlock(&chip->lock);
    return 0;
}

static int nksnd_pcm_trigger(nk_snd_pcm *pcm, int cmd)
{
    struct nksnd *chip = nk_snd_pcm_chip(pcm);
    struct nksnd_stream *s;
    uint32_t stream;

    s = nksnd_stream_of(chip, pcm, &stream);
    if (!s)
        return -EINVAL;
    switch (cmd) {
    case NK_SND_TRIGGER_START:
        nk_spin_lock(&chip->lock);
        nksnd_swritel(chip, stream, NKSND_SREG_CTRL, NKSND_CTRL_RUN);
        nk_spin_unlock(&chip->lock);
        return 0;
    case NK_SND_TRIGGER_STOP:
        nk_spin_lock(&chip->lock);
        nksnd_swritel(chip, stream, NKSND_SREG_CTRL, 0);
        nk_spin_unlock(&chip->lock);
        return 0;
    default:
        return -EINVAL;
    }
}

static uint32_t nksnd_pcm_pointer(nk_snd_pcm *pcm)
{
    struct nksnd *chip = nk_snd_pcm_chip(pcm);
    struct nksnd_stream *s;
    uint32_t stream;
    uint32_t position;

    s = nksnd_stream_of(chip, pcm, &stream);
    if (!s)
        return 0;
    position = nksnd_sreadl(chip, stream, NKSND_SREG_POSITION);
    /* The card keeps it inside the ring; a ring it no longer has reads as 0. */
    if (!s->have_params || position >= s->params.buffer_bytes)
        return 0;
    return position;
}

static int nksnd_pcm_ack(nk_snd_pcm *pcm, uint32_t limit)
{
    struct nksnd *chip = nk_snd_pcm_chip(pcm);
    struct nksnd_stream *s;
    uint32_t stream;

    s = nksnd_stream_of(chip, pcm, &stream);
    if (!s)
        return 0;
    nksnd_swritel(chip, stream, NKSND_SREG_LIMIT, limit);
    return 0;
}

static const struct nk_snd_pcm_ops nksnd_pcm_ops = {
    .open = nksnd_pcm_open,
    .close = nksnd_pcm_close,
    .hw_params = nksnd_pcm_hw_params,
    .hw_free = nksnd_pcm_hw_free,
    .prepare = nksnd_pcm_prepare,
    .trigger = nksnd_pcm_trigger,
    .pointer = nksnd_pcm_pointer,
    .ack = nksnd_pcm_ack,
};

/* ---- Interrupt ------------------------------------------------------------- */

static const char *nksnd_error_name(uint32_t code)
{
    switch (code) {
    case NKSND_ERR_NONE: return "none";
    case NKSND_ERR_BAD_FORMAT: return "bad format";
    case NKSND_ERR_BAD_RATE: return "bad rate";
    case NKSND_ERR_BAD_BUFFER: return "bad buffer";
    case NKSND_ERR_BAD_PERIOD: return "bad period";
    case NKSND_ERR_BAD_LIMIT: return "bad limit";
    case NKSND_ERR_DMA: return "DMA refused";
    case NKSND_ERR_BUSY: return "setting written while running";
    default: return "unknown";
    }
}

static nk_irqreturn_t nksnd_interrupt(uint32_t irq, void *dev_id)
{
    struct nksnd *chip = dev_id;
    struct {
        nk_snd_pcm *pcm;
        uint32_t status;
        uint32_t position;
        uint32_t error;
    } events[NKSND_STREAMS];
    uint32_t global;
    uint32_t stream;

    (void)irq;
    memset(events, 0, sizeof(events));
    global = nksnd_readl(chip, NKSND_REG_GLOBAL_STATUS);
    if (!(global & ((1u << NKSND_STREAMS) - 1)))
        return NK_IRQ_NONE;
    nk_spin_lock(&chip->lock);
    for (stream = 0; stream < NKSND_STREAMS; stream++) {
        uint32_t status;

        if (!(global & (1u << stream)))
            continue;
        status = nksnd_sreadl(chip, stream, NKSND_SREG_INT_STATUS);
        if (!status)
            continue;
        nksnd_swritel(chip, stream, NKSND_SREG_INT_STATUS, status);
        events[stream].status = status;
        events[stream].position = nksnd_sreadl(chip, stream, NKSND_SREG_POSITION);
        if (status & NKSND_INT_ERROR)
            events[stream].error = nksnd_sreadl(chip, stream, NKSND_SREG_ERROR_CODE);
        events[stream].pcm = chip->streams[stream].pcm;
    }
    nk_spin_unlock(&chip->lock);

    /* The layer is called without our lock held (<nooks/sound.h>). */
    for (stream = 0; stream < NKSND_STREAMS; stream++) {
        uint32_t status = events[stream].status;

        if (status & NKSND_INT_ERROR)
            nk_log(NK_LOG_ERR, "%s: %s stream stopped by the card: error %u (%s)", chip->name,
                   stream == NKSND_STREAM_PLAYBACK ? "playback" : "capture", events[stream].error,
                   nksnd_error_name(events[stream].error));
        if (!events[stream].pcm)
            continue;
        if (status & NKSND_INT_XRUN)
            nk_snd_pcm_xrun(events[stream].pcm, events[stream].position);
        if (status & NKSND_INT_PERIOD)
            nk_snd_pcm_period_elapsed(events[stream].pcm, events[stream].position);
    }
    return NK_IRQ_HANDLED;
}

/* ---- Mixer ----------------------------------------------------------------- */

static int nksnd_mixer_get(nk_snd_card *card, uint32_t control)
{
    struct nksnd *chip = nk_snd_card_priv(card);
    uint32_t reg;

    if (!chip || control >= NK_SND_MIXER_CONTROLS)
        return -EINVAL;
    reg = nksnd_readl(chip, nksnd_mixer_regs[control]);
    /* Muted (only the reset state: this driver never mutes) sounds as 0. */
    if (reg & NKSND_MIX_MUTE)
        return (int)NK_SND_MIXER_VALUE(0, 0);
    return (int)NK_SND_MIXER_VALUE(NKSND_MIX_LEFT(reg), NKSND_MIX_RIGHT(reg));
}

static int nksnd_mixer_put(nk_snd_card *card, uint32_t control, uint32_t value)
{
    struct nksnd *chip = nk_snd_card_priv(card);
    uint32_t left = NK_SND_MIXER_LEFT(value);
    uint32_t right = NK_SND_MIXER_RIGHT(value);

    if (!chip || control >= NK_SND_MIXER_CONTROLS)
        return -EINVAL;
    if (value > 0xffffu || left > NK_SND_MIXER_MAX || right > NK_SND_MIXER_MAX)
        return -EINVAL;
    nksnd_writel(chip, nksnd_mixer_regs[control], NKSND_MIX_VALUE(left, right));
    return 0;
}

static const struct nk_snd_mixer_ops nksnd_mixer_ops = {
    .mixer_get = nksnd_mixer_get,
    .mixer_put = nksnd_mixer_put,
};

/* ---- Probe and remove ---------------------------------------------------- */

static void nksnd_card_params(struct nk_snd_card_params *params)
{
    uint32_t stream;

    memset(params, 0, sizeof(*params));
    strncpy(params->name, "NKSND", sizeof(params->name) - 1);
    params->streams = 1u << NK_SND_PLAYBACK | 1u << NK_SND_CAPTURE;
    params->mixer_controls = 1u << NK_SND_MIXER_MASTER | 1u << NK_SND_MIXER_PCM | 1u << NK_SND_MIXER_CAPTURE;
    for (stream = 0; stream < NK_SND_STREAMS; stream++) {
        struct nk_snd_pcm_hw *hw = &params->hw[stream];

        hw->formats = NK_SND_FMT_U8 | NK_SND_FMT_S16_LE;
        hw->channels_min = 1;
        hw->channels_max = 2;
        hw->rate_min = NKSND_RATE_MIN;
        hw->rate_max = NKSND_RATE_MAX;
        hw->buffer_bytes_max = NKSND_BUF_BYTES_MAX;
        hw->period_bytes_min = NKSND_PERIOD_BYTES_MIN;
        hw->period_bytes_max = NKSND_PERIOD_BYTES_MAX;
    }
}

static void nksnd_free(struct nksnd *chip)
{
    if (chip->regs)
        nk_iounmap(chip->regs);
    nk_kfree(chip);
}

static int nksnd_probe(nk_device *dev, const struct nk_device_id *id)
{
    struct nk_device_info info;
    struct nk_snd_card_params params;
    struct nksnd *chip;
    uint32_t ident;
    int err;

    (void)id;
    err = nk_dev_info(dev, &info);
    if (err)
        return err;
    chip = nk_kzalloc(sizeof(*chip), NK_GFP_KERNEL);
    if (!chip)
        return -ENOMEM;
    chip->dev = dev;
    memcpy(chip->name, info.name, sizeof(chip->name));
    chip->name[sizeof(chip->name) - 1] = '\0';
    nk_spin_lock_init(&chip->lock);

    err = nk_iomap(dev, 0, &chip->regs);
    if (err)
        goto fail;
    ident = nksnd_readl(chip, NKSND_REG_ID);
    if (ident != NKSND_ID) {
        nk_log(NK_LOG_ERR, "%s: not an NKSND card (ID %#x)", chip->name, ident);
        err = -ENODEV;
        goto fail;
    }
    chip->irq = nk_dev_irq(dev, 0);
    if (chip->irq < 0) {
        err = chip->irq;
        goto fail;
    }
    nksnd_reset_hw(chip);
    nksnd_mixer_defaults(chip);
    err = nk_request_irq((uint32_t)chip->irq, nksnd_interrupt, "nksnd", chip);
    if (err)
        goto fail_reset;
    chip->irq_requested = true;

    nksnd_card_params(&params);
    nk_dev_set_drvdata(dev, chip);
    /* Last: from here on applications may open the streams. */
    err = nk_snd_card_register(dev, &params, &nksnd_pcm_ops, &nksnd_mixer_ops, chip, &chip->card);
    if (err)
        goto fail_irq;
    nk_log(NK_LOG_INFO, "%s: NKSND card, playback and capture, %u..%u Hz", chip->name, NKSND_RATE_MIN, NKSND_RATE_MAX);
    return 0;

fail_irq:
    nk_dev_set_drvdata(dev, NULL);
    nk_free_irq((uint32_t)chip->irq, chip);
fail_reset:
    nksnd_reset_hw(chip);
fail:
    nksnd_free(chip);
    return err;
}

static void nksnd_remove(nk_device *dev)
{
    struct nksnd *chip = nk_dev_get_drvdata(dev);

    if (!chip)
        return;
    /* Stops and closes the open streams first (our close runs). */
    nk_snd_card_unregister(chip->card);
    chip->card = NULL;
    if (chip->irq_requested)
        nk_free_irq((uint32_t)chip->irq, chip);
    nksnd_reset_hw(chip);
    nk_dev_set_drvdata(dev, NULL);
    nksnd_free(chip);
}

static const struct nk_device_id nksnd_ids[] = {
    { NKSND_VENDOR_ID, NKSND_DEVICE_ID },
    { 0, 0 },
};

static const struct nk_bus_driver nksnd_driver = {
    .name = "nksnd",
    .id_table = nksnd_ids,
    .probe = nksnd_probe,
    .remove = nksnd_remove,
};

static int nksnd_init(void) { return nk_bus_register_driver(&nksnd_driver); }

static void nksnd_exit(void) { nk_bus_unregister_driver(&nksnd_driver); }

NK_MODULE("nksnd", "NKSND sound card", nksnd_init, nksnd_exit);
