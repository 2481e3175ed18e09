// SPDX-License-Identifier: MIT
// NKSND's clocks and resets: hard_reset() stops both clocks synchronously (no
// interrupt after it returns, the registers at their defaults), a register
// write stops a stream without waiting for its clock, even from the
// interrupt handler on the loop thread, and a reset card runs again once
// programmed.

#include "devices/sound/SoundTestRig.h"

#include <algorithm>
#include <thread>

namespace nk::test {
namespace {

class SoundReset : public SoundFixture {
protected:
    // Both streams running at 48 kHz with PERIOD and XRUN enabled and a
    // handler acknowledging them and keeping LIMIT a ring ahead (playback
    // replays whatever the ring holds).
    void start_both()
    {
        unmute_all();
        for (uint32_t s = 0; s < NKSND_STREAMS; ++s)
            program(s, { .rate = 48000, .buf_bytes = 4096, .period_bytes = 256, .limit = 4092,
                           .enable = NKSND_INT_PERIOD | NKSND_INT_XRUN | NKSND_INT_ERROR });
        m_sink.set_handler([this] {
            for (uint32_t s = 0; s < NKSND_STREAMS; ++s) {
                swrite(s, NKSND_SREG_INT_STATUS, sread(s, NKSND_SREG_INT_STATUS));
                swrite(s, NKSND_SREG_LIMIT, (sread(s, NKSND_SREG_POSITION) + 4092) % 4096);
            }
        });
        run(NKSND_STREAM_PLAYBACK);
        run(NKSND_STREAM_CAPTURE);
    }
};

TEST_F(SoundReset, HardReset_StopsTheClocksSynchronously)
{
    for (int round = 0; round < 10; ++round) {
        SCOPED_TRACE(::testing::Message() << "round " << round);
        start_both();
        auto before = m_sink.count();
        ASSERT_TRUE(wait_until(10s, [&] { return m_sink.count() >= before + 5; }));
        m_card->hard_reset();
        auto after_reset = m_sink.count();
        EXPECT_FALSE(m_card->running(NKSND_STREAM_PLAYBACK));
        EXPECT_FALSE(m_card->running(NKSND_STREAM_CAPTURE));
        std::this_thread::sleep_for(30ms); // several periods and ticks
        EXPECT_EQ(m_sink.count(), after_reset) << "an interrupt after the reset returned";
        for (uint32_t s = 0; s < NKSND_STREAMS; ++s) {
            EXPECT_EQ(sread(s, NKSND_SREG_CTRL), 0u);
            EXPECT_EQ(sread(s, NKSND_SREG_POSITION), 0u);
            EXPECT_EQ(sread(s, NKSND_SREG_FRAMES), 0u);
            EXPECT_EQ(sread(s, NKSND_SREG_INT_STATUS), 0u);
            EXPECT_EQ(sread(s, NKSND_SREG_BUF_BYTES), 0u);
        }
        EXPECT_EQ(read32(NKSND_REG_MIX_MASTER), NKSND_MIX_VALUE(100, 100) | NKSND_MIX_MUTE);
        EXPECT_FALSE(m_card->speaker().status().running);
        EXPECT_FALSE(m_card->microphone().status().running);
        m_sink.set_handler(nullptr);
    }
    // The speaker and the microphone each saw ten runs, each stopped.
    auto events = read_events();
    auto count = [&](std::string const& name, bool capture) {
        auto found = named(events, name);
        return std::ranges::count_if(found, [&](auto const& event) { return event.contains("stream") == capture; });
    };
    EXPECT_EQ(count("start", false), 10);
    EXPECT_EQ(count("stop", false), 10);
    EXPECT_EQ(count("start", true), 10);
    EXPECT_EQ(count("stop", true), 10);
}

TEST_F(SoundReset, ClearingRun_StopsTheStream)
{
    start_both();
    ASSERT_TRUE(wait_until(10s, [&] { return m_sink.count() >= 5; }));
    stop(NKSND_STREAM_PLAYBACK);
    stop(NKSND_STREAM_CAPTURE);
    // A tick under way may still finish; after that, nothing.
    std::this_thread::sleep_for(20ms);
    auto settled = m_sink.count();
    auto position = sread(NKSND_STREAM_PLAYBACK, NKSND_SREG_POSITION);
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(m_sink.count(), settled);
    EXPECT_EQ(sread(NKSND_STREAM_PLAYBACK, NKSND_SREG_POSITION), position);
    // RUN again continues at POSITION.
    run(NKSND_STREAM_PLAYBACK);
    ASSERT_TRUE(wait_until(10s, [&] { return sread(NKSND_STREAM_PLAYBACK, NKSND_SREG_POSITION) != position; }));
    m_sink.set_handler(nullptr);
}

// The handler, on the loop thread inside a tick, resets the card: the write
// does not wait for the tick it runs in, and the clocks stay stopped.
TEST_F(SoundReset, GlobalReset_FromTheHandler)
{
    start_both();
    std::atomic<int> resets { 0 };
    m_sink.set_handler([&] {
        if (resets++ == 0)
            write32(NKSND_REG_GLOBAL_CTRL, NKSND_GLOBAL_CTRL_RESET);
    });
    ASSERT_TRUE(wait_until(10s, [&] { return resets.load() > 0; }));
    ASSERT_TRUE(wait_until(10s, [&] { return !m_card->running(0) && !m_card->running(1); }));
    std::this_thread::sleep_for(20ms);
    auto settled = m_sink.count();
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(m_sink.count(), settled);
    EXPECT_EQ(sread(0, NKSND_SREG_RATE), 8000u);
    m_sink.set_handler(nullptr);
}

} // namespace
} // namespace nk::test
