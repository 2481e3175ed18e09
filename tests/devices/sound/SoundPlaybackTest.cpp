// SPDX-License-Identifier: MIT
// NKSND playback in real time: the speaker's WAV holds exactly what the ring
// held (after conversion and the mixer), an underrun at LIMIT is silence and
// one XRUN, playback resumes where it stopped when LIMIT moves, PERIOD comes
// at each boundary, POSITION wraps, and the pace is the stream's rate.

#include "devices/sound/SoundTestRig.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace nk::test {
namespace {

class SoundPlayback : public SoundFixture {
protected:
    // U8 sample i of a pattern never equal to 128, so no converted sample is 0.
    static uint8_t u8_pattern(size_t i) { return static_cast<uint8_t>(1 + (i * 7) % 127); }
    // S16 sample i, never 0.
    static int16_t s16_pattern(size_t i) { return static_cast<int16_t>(((i * 977) % 30000) + 1) * ((i % 3) == 0 ? -1 : 1); }

    void put_s16(uint32_t offset, int16_t value)
    {
        auto* at = ring_data(NKSND_STREAM_PLAYBACK) + offset;
        at[0] = static_cast<std::byte>(static_cast<uint16_t>(value) & 0xff);
        at[1] = static_cast<std::byte>(static_cast<uint16_t>(value) >> 8);
    }

    static std::vector<int16_t> without_zero_frames(std::vector<int16_t> const& samples)
    {
        std::vector<int16_t> kept;
        for (size_t i = 0; i + 1 < samples.size(); i += 2) {
            if (samples[i] != 0 || samples[i + 1] != 0) {
                kept.push_back(samples[i]);
                kept.push_back(samples[i + 1]);
            }
        }
        return kept;
    }
};

// S16 stereo: the WAV is the ring's frames, exactly; at LIMIT the card plays
// silence and raises XRUN once; moving LIMIT (across the ring's end) resumes
// with nothing lost or repeated.
TEST_F(SoundPlayback, WavEqualsRing_UnderrunAtLimit_Resumes)
{
    unmute_all();
    constexpr uint32_t buf = 4096, frame = 4;
    constexpr uint32_t first_frames = 700;
    program(NKSND_STREAM_PLAYBACK, { .rate = 48000, .buf_bytes = buf, .period_bytes = 1024, .limit = first_frames * frame,
                                        .enable = NKSND_INT_XRUN });
    std::vector<int16_t> expected;
    size_t next = 0;
    auto fill = [&](uint32_t from, uint32_t frames) {
        for (uint32_t f = 0; f < frames; ++f) {
            auto offset = (from + f * frame) % buf;
            auto left = s16_pattern(next++), right = s16_pattern(next++);
            put_s16(offset, left);
            put_s16(offset + 2, right);
            expected.push_back(left);
            expected.push_back(right);
        }
    };
    fill(0, first_frames);
    run(NKSND_STREAM_PLAYBACK);
    ASSERT_TRUE(wait_status(NKSND_STREAM_PLAYBACK, NKSND_INT_XRUN));
    EXPECT_EQ(sread(0, NKSND_SREG_POSITION), first_frames * frame);
    EXPECT_EQ(sread(0, NKSND_SREG_FRAMES), first_frames);
    EXPECT_EQ(sread(0, NKSND_SREG_XRUNS), 1u);
    EXPECT_TRUE(m_card->running(0));
    // Underrun goes on: still one XRUN.
    std::this_thread::sleep_for(30ms);
    EXPECT_EQ(sread(0, NKSND_SREG_XRUNS), 1u);
    EXPECT_EQ(sread(0, NKSND_SREG_POSITION), first_frames * frame);
    auto interrupts = m_sink.count();
    EXPECT_EQ(interrupts, 1u);
    swrite(0, NKSND_SREG_INT_STATUS, NKSND_INT_XRUN);

    // 600 more frames, wrapping at the ring's end (700 + 600 > 1024 frames).
    constexpr uint32_t second_frames = 600;
    fill(first_frames * frame, second_frames);
    auto limit = (first_frames + second_frames) * frame % buf;
    swrite(0, NKSND_SREG_LIMIT, limit);
    ASSERT_TRUE(wait_status(NKSND_STREAM_PLAYBACK, NKSND_INT_XRUN));
    EXPECT_EQ(sread(0, NKSND_SREG_POSITION), limit);
    EXPECT_EQ(sread(0, NKSND_SREG_FRAMES), first_frames + second_frames);
    EXPECT_EQ(sread(0, NKSND_SREG_XRUNS), 2u);
    stop(NKSND_STREAM_PLAYBACK);

    auto status = m_card->speaker().status();
    EXPECT_FALSE(status.running);
    EXPECT_EQ(status.frames_played, first_frames + second_frames);
    EXPECT_EQ(status.underruns, 2u);
    EXPECT_GT(status.silence_frames, 0u);
    EXPECT_EQ(status.wav_frames, status.frames_played + status.silence_frames);
    EXPECT_EQ(status.wav_rate, 48000u);

    auto wav = read_speaker();
    EXPECT_EQ(wav.rate, 48000u);
    EXPECT_EQ(wav.channels, 2u);
    EXPECT_EQ(wav.bits, 16u);
    ASSERT_EQ(wav.samples.size(), status.wav_frames * 2);
    // The first frames come at once, exactly the ring's; then silence.
    ASSERT_GE(wav.samples.size(), expected.size());
    EXPECT_TRUE(std::equal(expected.begin(), expected.begin() + first_frames * 2, wav.samples.begin()));
    EXPECT_EQ(wav.samples[first_frames * 2], 0);
    // All the audio, once, in order.
    EXPECT_EQ(without_zero_frames(wav.samples), expected);

    // The events line up with the file.
    auto events = read_events();
    auto starts = named(events, "start");
    ASSERT_EQ(starts.size(), 1u);
    EXPECT_EQ(starts[0]["format"], "S16_LE");
    EXPECT_EQ(starts[0]["channels"], 2);
    EXPECT_EQ(starts[0]["rate"], 48000);
    EXPECT_EQ(starts[0]["master"]["left"], 100);
    EXPECT_EQ(starts[0]["pcm"]["mute"], false);
    EXPECT_EQ(starts[0]["frame"], 0);
    auto begins = named(events, "underrun_begin");
    auto ends = named(events, "underrun_end");
    ASSERT_EQ(begins.size(), 2u);
    ASSERT_EQ(ends.size(), 2u);
    EXPECT_EQ(begins[0]["frame"], first_frames);
    EXPECT_GT(ends[0]["frame"].get<uint64_t>(), first_frames);
    auto stops = named(events, "stop");
    ASSERT_EQ(stops.size(), 1u);
    EXPECT_EQ(stops[0]["frame"], status.wav_frames);
    EXPECT_LE(starts[0]["t_ms"].get<double>(), stops[0]["t_ms"].get<double>());
}

// U8 mono through the mixer: (x - 128) << 8 on both sides, then MASTER x PCM.
TEST_F(SoundPlayback, U8Mono_Converted_MixerApplied)
{
    write32(NKSND_REG_MIX_MASTER, NKSND_MIX_VALUE(50, 100));
    write32(NKSND_REG_MIX_PCM, NKSND_MIX_VALUE(100, 30));
    constexpr uint32_t frames = 600;
    program(NKSND_STREAM_PLAYBACK, { .format = NKSND_FMT_U8, .channels = 1, .rate = 16000, .buf_bytes = 1024, .period_bytes = 256,
                                        .limit = frames });
    for (uint32_t i = 0; i < frames; ++i)
        ring_data(0)[i] = static_cast<std::byte>(u8_pattern(i));
    run(NKSND_STREAM_PLAYBACK);
    ASSERT_TRUE(wait_status(NKSND_STREAM_PLAYBACK, NKSND_INT_XRUN));
    // Muted from here: silence, whatever the ring holds.
    write32(NKSND_REG_MIX_MASTER, NKSND_MIX_VALUE(50, 100) | NKSND_MIX_MUTE);
    for (uint32_t i = frames; i < frames + 100; ++i)
        ring_data(0)[i] = static_cast<std::byte>(u8_pattern(i));
    swrite(0, NKSND_SREG_LIMIT, frames + 100);
    ASSERT_TRUE(wait_until(10s, [&] { return sread(0, NKSND_SREG_FRAMES) == frames + 100; }));
    stop(NKSND_STREAM_PLAYBACK);

    auto wav = read_speaker();
    EXPECT_EQ(wav.rate, 16000u);
    ASSERT_GE(wav.samples.size(), size_t(frames) * 2);
    for (uint32_t i = 0; i < frames; ++i) {
        int32_t s = (int32_t(u8_pattern(i)) - 128) * 256;
        ASSERT_EQ(wav.samples[2 * i], static_cast<int16_t>(s * 50 * 100 / 10000)) << "frame " << i;
        ASSERT_EQ(wav.samples[2 * i + 1], static_cast<int16_t>(s * 100 * 30 / 10000)) << "frame " << i;
    }
    EXPECT_TRUE(std::all_of(wav.samples.begin() + frames * 2, wav.samples.end(), [](int16_t s) { return s == 0; }));
    EXPECT_EQ(m_card->speaker().status().frames_played, frames + 100);
    auto mixer = named(read_events(), "mixer");
    ASSERT_FALSE(mixer.empty());
    EXPECT_EQ(mixer.back()["master"]["mute"], true);
    // The mute came after the first part and its underrun began.
    EXPECT_GT(mixer.back()["frame"].get<uint64_t>(), uint64_t(frames));
}

// A driver in the interrupt handler keeps the ring full (XRUN too, should
// the loop be so late that the ring ran dry): PERIOD at every
// boundary, POSITION wraps many times, and the audio arrives once, in order.
TEST_F(SoundPlayback, Period_AtBoundaries_PositionWraps)
{
    unmute_all();
    constexpr uint32_t buf = 512, period = 128;
    constexpr size_t total = 4000; // 0.25 s at 16 kHz, the ring ~8 times over
    std::mutex mutex;
    size_t written = 0;
    uint32_t limit = 0;
    std::vector<uint32_t> period_positions;
    // Writes the pattern from LIMIT up to one frame before `position`.
    auto refill = [&](uint32_t position) {
        auto last = (position + buf - 1) % buf;
        while (limit != last && written < total) {
            ring_data(0)[limit] = static_cast<std::byte>(u8_pattern(written++));
            limit = (limit + 1) % buf;
        }
        swrite(0, NKSND_SREG_LIMIT, limit);
    };
    program(NKSND_STREAM_PLAYBACK, { .format = NKSND_FMT_U8, .channels = 1, .rate = 16000, .buf_bytes = buf, .period_bytes = period,
                                        .enable = NKSND_INT_PERIOD | NKSND_INT_XRUN });
    refill(0);
    m_sink.set_handler([&] {
        std::scoped_lock lock(mutex);
        auto status = sread(0, NKSND_SREG_INT_STATUS);
        swrite(0, NKSND_SREG_INT_STATUS, status);
        auto position = sread(0, NKSND_SREG_POSITION);
        if (status & NKSND_INT_PERIOD)
            period_positions.push_back(position);
        refill(position);
    });
    run(NKSND_STREAM_PLAYBACK);
    ASSERT_TRUE(wait_until(20s, [&] { return sread(0, NKSND_SREG_FRAMES) >= total; }));
    m_sink.set_handler(nullptr);
    stop(NKSND_STREAM_PLAYBACK);

    EXPECT_EQ(sread(0, NKSND_SREG_FRAMES), total);
    EXPECT_EQ(sread(0, NKSND_SREG_POSITION), total % buf);
    {
        std::scoped_lock lock(mutex);
        // One PERIOD per boundary crossed (31 of them), unless a late tick
        // crossed two at once: never more, and each seen past a boundary.
        EXPECT_LE(period_positions.size(), total / period);
        EXPECT_GE(period_positions.size(), total / period / 2);
    }
    auto wav = read_speaker();
    std::vector<int16_t> expected;
    for (size_t i = 0; i < total; ++i) {
        auto s = static_cast<int16_t>((int32_t(u8_pattern(i)) - 128) * 256);
        expected.push_back(s);
        expected.push_back(s);
    }
    EXPECT_EQ(without_zero_frames(wav.samples), expected);
}

// Half a second of audio takes about half a second (loose bounds: the
// machine is shared and busy).
TEST_F(SoundPlayback, Pacing_RealTime)
{
    unmute_all();
    constexpr uint32_t frames = 4000; // 0.5 s at 8 kHz
    program(NKSND_STREAM_PLAYBACK, { .format = NKSND_FMT_U8, .channels = 1, .rate = 8000, .buf_bytes = 8192, .period_bytes = 1024,
                                        .limit = frames });
    for (uint32_t i = 0; i < frames; ++i)
        ring_data(0)[i] = static_cast<std::byte>(u8_pattern(i));
    auto start = std::chrono::steady_clock::now();
    run(NKSND_STREAM_PLAYBACK);
    ASSERT_TRUE(wait_status(NKSND_STREAM_PLAYBACK, NKSND_INT_XRUN));
    auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_GE(elapsed, 400ms);
    EXPECT_LE(elapsed, 2000ms);
    EXPECT_EQ(sread(0, NKSND_SREG_FRAMES), frames);
}

// A second run at another rate and format: the WAV keeps the first rate, the
// events say what changed.
TEST_F(SoundPlayback, RateAndFormatChange_Events)
{
    unmute_all();
    program(NKSND_STREAM_PLAYBACK, { .format = NKSND_FMT_U8, .channels = 1, .rate = 22050, .buf_bytes = 1024, .period_bytes = 256,
                                        .limit = 100 });
    run(NKSND_STREAM_PLAYBACK);
    ASSERT_TRUE(wait_status(NKSND_STREAM_PLAYBACK, NKSND_INT_XRUN));
    stop(NKSND_STREAM_PLAYBACK);
    program(NKSND_STREAM_PLAYBACK, { .rate = 44100, .limit = 400 });
    run(NKSND_STREAM_PLAYBACK);
    ASSERT_TRUE(wait_status(NKSND_STREAM_PLAYBACK, NKSND_INT_XRUN));
    stop(NKSND_STREAM_PLAYBACK);
    EXPECT_EQ(read_speaker().rate, 22050u);
    auto events = read_events();
    auto rate = named(events, "rate_change");
    ASSERT_EQ(rate.size(), 1u);
    EXPECT_EQ(rate[0]["from"], 22050);
    EXPECT_EQ(rate[0]["to"], 44100);
    auto format = named(events, "format_change");
    ASSERT_EQ(format.size(), 1u);
    EXPECT_EQ(format[0]["to"]["format"], "S16_LE");
    EXPECT_EQ(format[0]["to"]["channels"], 2);
    EXPECT_EQ(named(events, "start").size(), 2u);
    EXPECT_EQ(named(events, "stop").size(), 2u);
    auto status = m_card->speaker().status();
    EXPECT_EQ(status.frames_played, 200u);
    EXPECT_EQ(status.format.rate, 44100u);
}

} // namespace
} // namespace nk::test
