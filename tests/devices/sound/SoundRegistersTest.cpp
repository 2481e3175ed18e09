// SPDX-License-Identifier: MIT
// NKSND's register file: identity, power-on defaults, what reads back, the
// mixer's clamping, resets, and misprogramming reported as error status
// (each ERROR_CODE, the stream stopped, the vector raised when enabled).

#include "devices/sound/SoundTestRig.h"

namespace nk::test {
namespace {

constexpr uint32_t muted_full = NKSND_MIX_VALUE(100, 100) | NKSND_MIX_MUTE;

class SoundRegisters : public SoundFixture {
protected:
    void expect_power_on_state()
    {
        EXPECT_EQ(read32(NKSND_REG_ID), NKSND_ID);
        EXPECT_EQ(read32(NKSND_REG_GLOBAL_CTRL), 0u);
        EXPECT_EQ(read32(NKSND_REG_GLOBAL_STATUS), 0u);
        EXPECT_EQ(read32(NKSND_REG_MIX_MASTER), muted_full);
        EXPECT_EQ(read32(NKSND_REG_MIX_PCM), muted_full);
        EXPECT_EQ(read32(NKSND_REG_MIX_CAPTURE), muted_full);
        for (uint32_t s = 0; s < NKSND_STREAMS; ++s) {
            SCOPED_TRACE(::testing::Message() << "stream " << s);
            EXPECT_EQ(sread(s, NKSND_SREG_CTRL), 0u);
            EXPECT_EQ(sread(s, NKSND_SREG_FORMAT), NKSND_FORMAT(NKSND_FMT_U8, 1));
            EXPECT_EQ(sread(s, NKSND_SREG_RATE), 8000u);
            EXPECT_EQ(sread(s, NKSND_SREG_BUF_ADDR_LO), 0u);
            EXPECT_EQ(sread(s, NKSND_SREG_BUF_ADDR_HI), 0u);
            EXPECT_EQ(sread(s, NKSND_SREG_BUF_BYTES), 0u);
            EXPECT_EQ(sread(s, NKSND_SREG_PERIOD_BYTES), 0u);
            EXPECT_EQ(sread(s, NKSND_SREG_LIMIT), 0u);
            EXPECT_EQ(sread(s, NKSND_SREG_POSITION), 0u);
            EXPECT_EQ(sread(s, NKSND_SREG_INT_STATUS), 0u);
            EXPECT_EQ(sread(s, NKSND_SREG_INT_ENABLE), 0u);
            EXPECT_EQ(sread(s, NKSND_SREG_ERROR_CODE), NKSND_ERR_NONE);
            EXPECT_EQ(sread(s, NKSND_SREG_FRAMES), 0u);
            EXPECT_EQ(sread(s, NKSND_SREG_XRUNS), 0u);
            EXPECT_FALSE(m_card->running(s));
        }
    }

    // Programs a valid playback stream, breaks it with `breakage`, sets RUN,
    // and expects `code`: not running, ERROR set, the vector raised once.
    void expect_run_fails(std::function<void()> const& breakage, uint32_t code, uint32_t stream = NKSND_STREAM_PLAYBACK)
    {
        program(stream, { .limit = stream == NKSND_STREAM_PLAYBACK ? 0u : 4092u, .enable = NKSND_INT_ERROR });
        breakage();
        auto before = m_sink.count();
        run(stream);
        EXPECT_EQ(sread(stream, NKSND_SREG_CTRL), 0u);
        EXPECT_FALSE(m_card->running(stream));
        EXPECT_EQ(sread(stream, NKSND_SREG_ERROR_CODE), code);
        EXPECT_EQ(sread(stream, NKSND_SREG_INT_STATUS), NKSND_INT_ERROR);
        EXPECT_EQ(read32(NKSND_REG_GLOBAL_STATUS), 1u << stream);
        EXPECT_EQ(m_sink.count(), before + 1);
        // The first code stays until a reset; a second error raises nothing new.
        swrite(stream, NKSND_SREG_RATE, 1);
        run(stream);
        EXPECT_EQ(sread(stream, NKSND_SREG_ERROR_CODE), code);
        EXPECT_EQ(m_sink.count(), before + 1);
        // A reset of the stream clears it.
        swrite(stream, NKSND_SREG_CTRL, NKSND_CTRL_RESET);
        EXPECT_EQ(sread(stream, NKSND_SREG_ERROR_CODE), NKSND_ERR_NONE);
        EXPECT_EQ(sread(stream, NKSND_SREG_INT_STATUS), 0u);
    }
};

TEST_F(SoundRegisters, Identity)
{
    EXPECT_EQ(m_card->vendor_id(), NKSND_VENDOR_ID);
    EXPECT_EQ(m_card->device_id(), NKSND_DEVICE_ID);
    EXPECT_EQ(m_card->window_count(), 1u);
    EXPECT_EQ(m_card->window_size(0), NKSND_WINDOW_SIZE);
    EXPECT_EQ(m_card->vector_count(), 1u);
    EXPECT_EQ(read32(NKSND_REG_ID), NKSND_ID);
    write32(NKSND_REG_ID, 0); // read-only
    EXPECT_EQ(read32(NKSND_REG_ID), NKSND_ID);
}

TEST_F(SoundRegisters, PowerOnDefaults) { expect_power_on_state(); }

TEST_F(SoundRegisters, SettingsReadBack)
{
    auto const s = NKSND_STREAM_CAPTURE;
    swrite(s, NKSND_SREG_FORMAT, NKSND_FORMAT(NKSND_FMT_S16_LE, 2) | 0xfff0f0u); // only the two fields are kept
    EXPECT_EQ(sread(s, NKSND_SREG_FORMAT), NKSND_FORMAT(NKSND_FMT_S16_LE, 2));
    swrite(s, NKSND_SREG_RATE, 44100);
    EXPECT_EQ(sread(s, NKSND_SREG_RATE), 44100u);
    swrite(s, NKSND_SREG_BUF_ADDR_LO, 0x89abcdefu);
    swrite(s, NKSND_SREG_BUF_ADDR_HI, 0x01234567u);
    EXPECT_EQ(sread(s, NKSND_SREG_BUF_ADDR_LO), 0x89abcdefu);
    EXPECT_EQ(sread(s, NKSND_SREG_BUF_ADDR_HI), 0x01234567u);
    // A 64-bit access covers LO and HI.
    m_card->write_register(0, NKSND_STREAM_BASE(s) + NKSND_SREG_BUF_ADDR_LO, 8, 0x1122334455667788ull);
    EXPECT_EQ(m_card->read_register(0, NKSND_STREAM_BASE(s) + NKSND_SREG_BUF_ADDR_LO, 8), 0x1122334455667788ull);
    swrite(s, NKSND_SREG_BUF_BYTES, 8192);
    EXPECT_EQ(sread(s, NKSND_SREG_BUF_BYTES), 8192u);
    swrite(s, NKSND_SREG_PERIOD_BYTES, 2048);
    EXPECT_EQ(sread(s, NKSND_SREG_PERIOD_BYTES), 2048u);
    swrite(s, NKSND_SREG_LIMIT, 4096);
    EXPECT_EQ(sread(s, NKSND_SREG_LIMIT), 4096u);
    swrite(s, NKSND_SREG_INT_ENABLE, 0xffffffffu);
    EXPECT_EQ(sread(s, NKSND_SREG_INT_ENABLE), NKSND_INT_PERIOD | NKSND_INT_XRUN | NKSND_INT_ERROR);
    // Read-only registers ignore writes.
    for (auto reg : { NKSND_SREG_POSITION, NKSND_SREG_ERROR_CODE, NKSND_SREG_FRAMES, NKSND_SREG_XRUNS })
        swrite(s, reg, 0x40);
    EXPECT_EQ(sread(s, NKSND_SREG_POSITION), 0u);
    EXPECT_EQ(sread(s, NKSND_SREG_ERROR_CODE), 0u);
    EXPECT_EQ(sread(s, NKSND_SREG_FRAMES), 0u);
    EXPECT_EQ(sread(s, NKSND_SREG_XRUNS), 0u);
    write32(NKSND_REG_GLOBAL_STATUS, 3);
    EXPECT_EQ(read32(NKSND_REG_GLOBAL_STATUS), 0u);
    // Unassigned offsets read 0; the other stream did not change.
    EXPECT_EQ(read32(0x0c), 0u);
    EXPECT_EQ(read32(NKSND_STREAM_BASE(s) + 0x80), 0u);
    EXPECT_EQ(read32(0x800), 0u);
    EXPECT_EQ(sread(NKSND_STREAM_PLAYBACK, NKSND_SREG_RATE), 8000u);
    EXPECT_EQ(sread(NKSND_STREAM_PLAYBACK, NKSND_SREG_BUF_BYTES), 0u);
}

TEST_F(SoundRegisters, Mixer_ClampsAndMutes)
{
    write32(NKSND_REG_MIX_MASTER, NKSND_MIX_VALUE(150, 40));
    EXPECT_EQ(read32(NKSND_REG_MIX_MASTER), NKSND_MIX_VALUE(100, 40));
    write32(NKSND_REG_MIX_PCM, NKSND_MIX_VALUE(0, 255) | NKSND_MIX_MUTE | 0x00ff0000u); // bits in between are ignored
    EXPECT_EQ(read32(NKSND_REG_MIX_PCM), NKSND_MIX_VALUE(0, 100) | NKSND_MIX_MUTE);
    write32(NKSND_REG_MIX_CAPTURE, NKSND_MIX_VALUE(101, 100));
    EXPECT_EQ(read32(NKSND_REG_MIX_CAPTURE), NKSND_MIX_VALUE(100, 100));

    auto speaker = m_card->speaker().status();
    EXPECT_EQ(speaker.master, (sound::MixLevel { .left = 100, .right = 40, .mute = false }));
    EXPECT_EQ(speaker.pcm, (sound::MixLevel { .left = 0, .right = 100, .mute = true }));
    EXPECT_EQ(m_card->microphone().status().gain, (sound::MixLevel { .left = 100, .right = 100, .mute = false }));
    auto mixer = named(read_events(), "mixer");
    ASSERT_GE(mixer.size(), 3u);
    EXPECT_EQ(mixer.back()["capture"]["left"], 100);
}

TEST_F(SoundRegisters, GlobalReset_RestoresDefaults)
{
    unmute_all();
    program(NKSND_STREAM_PLAYBACK, { .limit = 1024, .enable = NKSND_INT_PERIOD | NKSND_INT_XRUN });
    run(NKSND_STREAM_PLAYBACK);
    ASSERT_TRUE(m_card->running(NKSND_STREAM_PLAYBACK));
    program(NKSND_STREAM_CAPTURE, { .format = NKSND_FMT_U8, .channels = 1, .rate = 22050, .buf_bytes = 1024, .period_bytes = 256 });
    write32(NKSND_REG_GLOBAL_CTRL, NKSND_GLOBAL_CTRL_RESET);
    expect_power_on_state();
    EXPECT_FALSE(m_card->speaker().status().running);
}

TEST_F(SoundRegisters, HardReset_RestoresDefaults)
{
    unmute_all();
    program(NKSND_STREAM_CAPTURE, { .limit = 4092, .enable = NKSND_INT_PERIOD });
    run(NKSND_STREAM_CAPTURE);
    ASSERT_TRUE(m_card->running(NKSND_STREAM_CAPTURE));
    m_card->hard_reset();
    expect_power_on_state();
    EXPECT_FALSE(m_card->microphone().status().running);
}

TEST_F(SoundRegisters, BadFormat)
{
    expect_run_fails([&] { swrite(0, NKSND_SREG_FORMAT, NKSND_FORMAT(2, 2)); }, NKSND_ERR_BAD_FORMAT);
    expect_run_fails([&] { swrite(0, NKSND_SREG_FORMAT, NKSND_FORMAT(NKSND_FMT_S16_LE, 3)); }, NKSND_ERR_BAD_FORMAT);
    expect_run_fails([&] { swrite(1, NKSND_SREG_FORMAT, NKSND_FORMAT(NKSND_FMT_U8, 0)); }, NKSND_ERR_BAD_FORMAT, NKSND_STREAM_CAPTURE);
}

TEST_F(SoundRegisters, BadRate)
{
    expect_run_fails([&] { swrite(0, NKSND_SREG_RATE, NKSND_RATE_MIN - 1); }, NKSND_ERR_BAD_RATE);
    expect_run_fails([&] { swrite(0, NKSND_SREG_RATE, NKSND_RATE_MAX + 1); }, NKSND_ERR_BAD_RATE);
}

TEST_F(SoundRegisters, BadBuffer)
{
    expect_run_fails([&] { swrite(0, NKSND_SREG_BUF_BYTES, NKSND_BUF_BYTES_MIN - 4); }, NKSND_ERR_BAD_BUFFER);
    expect_run_fails([&] { swrite(0, NKSND_SREG_BUF_BYTES, NKSND_BUF_BYTES_MAX + 4); }, NKSND_ERR_BAD_BUFFER);
    expect_run_fails([&] { swrite(0, NKSND_SREG_BUF_BYTES, 4094); }, NKSND_ERR_BAD_BUFFER); // not whole S16 stereo frames
}

TEST_F(SoundRegisters, BadPeriod)
{
    expect_run_fails([&] { swrite(0, NKSND_SREG_PERIOD_BYTES, 1000); }, NKSND_ERR_BAD_PERIOD); // does not divide 4096
    expect_run_fails([&] { swrite(0, NKSND_SREG_PERIOD_BYTES, 32); }, NKSND_ERR_BAD_PERIOD);   // below the minimum
    expect_run_fails([&] { swrite(0, NKSND_SREG_PERIOD_BYTES, 0); }, NKSND_ERR_BAD_PERIOD);
}

TEST_F(SoundRegisters, BadLimit)
{
    expect_run_fails([&] { swrite(0, NKSND_SREG_LIMIT, 4100); }, NKSND_ERR_BAD_LIMIT);
    expect_run_fails([&] { swrite(0, NKSND_SREG_LIMIT, 1026); }, NKSND_ERR_BAD_LIMIT);
    // LIMIT == BUF_BYTES is 0: valid.
    program(NKSND_STREAM_PLAYBACK, { .limit = 4096 });
    run(NKSND_STREAM_PLAYBACK);
    EXPECT_TRUE(m_card->running(NKSND_STREAM_PLAYBACK));
    // A bad LIMIT written while running stops the stream.
    swrite(0, NKSND_SREG_LIMIT, 2);
    EXPECT_FALSE(m_card->running(NKSND_STREAM_PLAYBACK));
    EXPECT_EQ(sread(0, NKSND_SREG_ERROR_CODE), NKSND_ERR_BAD_LIMIT);
}

TEST_F(SoundRegisters, Dma_RingNotMapped)
{
    // An address never mapped.
    expect_run_fails([&] { swrite(0, NKSND_SREG_BUF_ADDR_HI, 0x7fff); }, NKSND_ERR_DMA);
    // A ring larger than its mapping.
    expect_run_fails([&] {
        swrite(0, NKSND_SREG_BUF_BYTES, 8192);
    }, NKSND_ERR_DMA);
    // The wrong direction: capture writes, but its ring is mapped device-readable.
    program(NKSND_STREAM_CAPTURE, { .limit = 4092, .enable = NKSND_INT_ERROR });
    auto* other = m_rings[NKSND_STREAM_CAPTURE].buffer->data();
    auto read_only = m_iommu.map(other, 4096, DmaDirection::ToDevice).value();
    swrite(1, NKSND_SREG_BUF_ADDR_LO, static_cast<uint32_t>(read_only));
    swrite(1, NKSND_SREG_BUF_ADDR_HI, static_cast<uint32_t>(read_only >> 32));
    run(NKSND_STREAM_CAPTURE);
    EXPECT_FALSE(m_card->running(NKSND_STREAM_CAPTURE));
    EXPECT_EQ(sread(1, NKSND_SREG_ERROR_CODE), NKSND_ERR_DMA);
    EXPECT_TRUE(m_iommu.unmap(read_only).has_value());
}

TEST_F(SoundRegisters, Dma_RingUnmappedWhileRunning)
{
    unmute_all();
    program(NKSND_STREAM_PLAYBACK, { .limit = 4092, .enable = NKSND_INT_ERROR });
    run(NKSND_STREAM_PLAYBACK);
    ASSERT_TRUE(m_card->running(NKSND_STREAM_PLAYBACK));
    unmap_ring(NKSND_STREAM_PLAYBACK);
    ASSERT_TRUE(wait_status(NKSND_STREAM_PLAYBACK, NKSND_INT_ERROR));
    EXPECT_FALSE(m_card->running(NKSND_STREAM_PLAYBACK));
    EXPECT_EQ(sread(0, NKSND_SREG_ERROR_CODE), NKSND_ERR_DMA);
    EXPECT_FALSE(m_card->speaker().status().running);
    EXPECT_GE(m_sink.count(), 1u);
}

TEST_F(SoundRegisters, Busy_SettingWrittenWhileRunning)
{
    for (auto reg : { NKSND_SREG_FORMAT, NKSND_SREG_RATE, NKSND_SREG_BUF_ADDR_LO, NKSND_SREG_BUF_ADDR_HI, NKSND_SREG_BUF_BYTES,
             NKSND_SREG_PERIOD_BYTES }) {
        SCOPED_TRACE(::testing::Message() << "register " << reg);
        program(NKSND_STREAM_PLAYBACK, { .limit = 0, .enable = NKSND_INT_ERROR });
        run(NKSND_STREAM_PLAYBACK);
        ASSERT_TRUE(m_card->running(NKSND_STREAM_PLAYBACK));
        auto before = sread(0, reg);
        auto interrupts = m_sink.count();
        swrite(0, reg, before + 4);
        EXPECT_EQ(sread(0, reg), before) << "the write was not ignored";
        EXPECT_FALSE(m_card->running(NKSND_STREAM_PLAYBACK));
        EXPECT_EQ(sread(0, NKSND_SREG_ERROR_CODE), NKSND_ERR_BUSY);
        EXPECT_NE(sread(0, NKSND_SREG_INT_STATUS) & NKSND_INT_ERROR, 0u);
        EXPECT_EQ(m_sink.count(), interrupts + 1);
    }
}

// Level semantics: a new enabled bit fires; enabling a pending bit fires;
// a disabled bit does not; writing 1s clears.
TEST_F(SoundRegisters, Interrupts_LevelSemantics)
{
    program(NKSND_STREAM_PLAYBACK, { .rate = 1 }); // fails at RUN with ERROR disabled
    run(NKSND_STREAM_PLAYBACK);
    EXPECT_EQ(sread(0, NKSND_SREG_INT_STATUS), NKSND_INT_ERROR);
    EXPECT_EQ(m_sink.count(), 0u);
    EXPECT_EQ(read32(NKSND_REG_GLOBAL_STATUS), 0u); // set but not enabled
    swrite(0, NKSND_SREG_INT_ENABLE, NKSND_INT_PERIOD);
    EXPECT_EQ(m_sink.count(), 0u);
    swrite(0, NKSND_SREG_INT_ENABLE, NKSND_INT_PERIOD | NKSND_INT_ERROR);
    EXPECT_EQ(m_sink.count(), 1u);
    EXPECT_EQ(read32(NKSND_REG_GLOBAL_STATUS), 1u);
    swrite(0, NKSND_SREG_INT_STATUS, NKSND_INT_PERIOD); // not set: nothing changes
    EXPECT_EQ(sread(0, NKSND_SREG_INT_STATUS), NKSND_INT_ERROR);
    swrite(0, NKSND_SREG_INT_STATUS, NKSND_INT_ERROR);
    EXPECT_EQ(sread(0, NKSND_SREG_INT_STATUS), 0u);
    EXPECT_EQ(read32(NKSND_REG_GLOBAL_STATUS), 0u);
    EXPECT_EQ(m_sink.count(), 1u);
}

// Without an event loop (a device test that needs no time) RUN is accepted
// and nothing moves; nothing crashes.
TEST(SoundNoLoop, RunWithoutClock)
{
    RecordingSink sink;
    Iommu iommu;
    auto card = SoundDevice::create({ .name = "sound0" }).value();
    card->connect(sink, iommu);
    DmaBuffer ring(4096);
    auto iova = iommu.map(ring.data(), ring.size(), DmaDirection::ToDevice).value();
    auto base = NKSND_STREAM_BASE(0);
    card->write_register(0, base + NKSND_SREG_BUF_ADDR_LO, 4, static_cast<uint32_t>(iova));
    card->write_register(0, base + NKSND_SREG_BUF_ADDR_HI, 4, iova >> 32);
    card->write_register(0, base + NKSND_SREG_BUF_BYTES, 4, 4096);
    card->write_register(0, base + NKSND_SREG_PERIOD_BYTES, 4, 1024);
    card->write_register(0, base + NKSND_SREG_CTRL, 4, NKSND_CTRL_RUN);
    EXPECT_TRUE(card->running(0));
    card->hard_reset();
    EXPECT_FALSE(card->running(0));
    card.reset();
    EXPECT_TRUE(iommu.unmap(iova).has_value());
}

} // namespace
} // namespace nk::test
