// SPDX-License-Identifier: MIT
// NKSND capture in real time: the ring receives exactly the microphone's
// frames (a sine, a WAV file converted but never resampled, then silence),
// after the CAPTURE gain; with no room the frames are dropped, counted once
// per overrun, and capture resumes, in time, when LIMIT moves.

#include "devices/sound/Microphone.h"
#include "devices/sound/SoundTestRig.h"

#include <cmath>
#include <numbers>
#include <thread>

namespace nk::test {
namespace {

int16_t sine(uint64_t n, uint32_t rate, double frequency = 440.0, double amplitude = 0.5)
{
    return static_cast<int16_t>(std::lround(amplitude * 32767.0 * std::sin(2.0 * std::numbers::pi * frequency * double(n) / double(rate))));
}

class SoundCapture : public SoundFixture {
protected:
    int16_t s16_at(uint32_t offset) const
    {
        auto const* at = m_rings[NKSND_STREAM_CAPTURE].buffer->data() + offset;
        return static_cast<int16_t>(static_cast<uint16_t>(std::to_integer<uint8_t>(at[0]) | (std::to_integer<uint8_t>(at[1]) << 8)));
    }
    uint8_t u8_at(uint32_t offset) const { return std::to_integer<uint8_t>(m_rings[NKSND_STREAM_CAPTURE].buffer->data()[offset]); }
};

// A driver in the interrupt handler keeps LIMIT ahead: the ring gets the
// sine, every frame, exactly, and nothing is dropped.
TEST_F(SoundCapture, Sine_EqualsSource)
{
    unmute_all();
    constexpr uint32_t buf = 65536, frame = 4, rate = 48000;
    constexpr size_t total = 12000; // 0.25 s
    std::mutex mutex;
    std::vector<int16_t> captured;
    uint32_t read = 0;
    auto drain = [&](uint32_t position) {
        for (; read != position; read = (read + 2) % buf)
            captured.push_back(s16_at(read));
    };
    program(NKSND_STREAM_CAPTURE, { .rate = rate, .buf_bytes = buf, .period_bytes = 4096, .limit = buf - frame,
                                       .enable = NKSND_INT_PERIOD });
    m_sink.set_handler([&] {
        std::scoped_lock lock(mutex);
        swrite(1, NKSND_SREG_INT_STATUS, sread(1, NKSND_SREG_INT_STATUS));
        auto position = sread(1, NKSND_SREG_POSITION);
        drain(position);
        swrite(1, NKSND_SREG_LIMIT, (position + buf - frame) % buf);
    });
    run(NKSND_STREAM_CAPTURE);
    ASSERT_TRUE(wait_until(20s, [&] { return sread(1, NKSND_SREG_FRAMES) >= total; }));
    m_sink.set_handler(nullptr);
    stop(NKSND_STREAM_CAPTURE);
    drain(sread(1, NKSND_SREG_POSITION));

    auto frames = sread(1, NKSND_SREG_FRAMES);
    ASSERT_EQ(captured.size(), size_t(frames) * 2);
    EXPECT_EQ(sread(1, NKSND_SREG_XRUNS), 0u);
    auto mic = m_card->microphone().status();
    EXPECT_EQ(mic.frames_dropped, 0u);
    EXPECT_EQ(mic.frames_captured, frames);
    EXPECT_EQ(mic.source_frames, frames);
    EXPECT_FALSE(mic.running);
    for (size_t n = 0; n < frames; ++n) {
        ASSERT_EQ(captured[2 * n], sine(n, rate)) << "frame " << n;
        ASSERT_EQ(captured[2 * n + 1], sine(n, rate)) << "frame " << n;
        ASSERT_EQ(captured[2 * n], sound::Microphone::sine_sample(440, 0.5, n, rate));
    }
}

// CAPTURE gain per side, then U8 mono: ((L*gl/100 + R*gr/100) / 2 >> 8) + 128.
TEST_F(SoundCapture, Gain_U8Mono)
{
    write32(NKSND_REG_MIX_CAPTURE, NKSND_MIX_VALUE(50, 20));
    constexpr uint32_t frames = 500, rate = 8000;
    program(NKSND_STREAM_CAPTURE, { .format = NKSND_FMT_U8, .channels = 1, .rate = rate, .buf_bytes = 1024, .period_bytes = 256,
                                       .limit = frames, .enable = NKSND_INT_XRUN });
    run(NKSND_STREAM_CAPTURE);
    ASSERT_TRUE(wait_status(NKSND_STREAM_CAPTURE, NKSND_INT_XRUN));
    stop(NKSND_STREAM_CAPTURE);
    EXPECT_EQ(sread(1, NKSND_SREG_FRAMES), frames);
    for (uint32_t n = 0; n < frames; ++n) {
        int32_t s = sine(n, rate);
        int32_t mono = (s * 50 / 100 + s * 20 / 100) / 2;
        ASSERT_EQ(u8_at(n), static_cast<uint8_t>((static_cast<int16_t>(mono) >> 8) + 128)) << "frame " << n;
    }
}

// Muted capture records silence (the reset default).
TEST_F(SoundCapture, MutedByDefault)
{
    program(NKSND_STREAM_CAPTURE, { .limit = 400, .enable = NKSND_INT_XRUN });
    run(NKSND_STREAM_CAPTURE);
    ASSERT_TRUE(wait_status(NKSND_STREAM_CAPTURE, NKSND_INT_XRUN));
    for (uint32_t offset = 0; offset < 400; offset += 2)
        ASSERT_EQ(s16_at(offset), 0);
    EXPECT_EQ(sread(1, NKSND_SREG_FRAMES), 100u);
}

// No room: the frames due are dropped (XRUN once), POSITION waits at LIMIT;
// when LIMIT moves capture resumes with the source where real time put it.
TEST_F(SoundCapture, Overrun_DropsAndCounts_ResumesInTime)
{
    unmute_all();
    constexpr uint32_t buf = 65536, frame = 4, rate = 8000, room = 64;
    program(NKSND_STREAM_CAPTURE, { .rate = rate, .buf_bytes = buf, .period_bytes = 4096, .limit = room * frame, .enable = NKSND_INT_XRUN });
    run(NKSND_STREAM_CAPTURE);
    ASSERT_TRUE(wait_status(NKSND_STREAM_CAPTURE, NKSND_INT_XRUN));
    std::this_thread::sleep_for(30ms);
    EXPECT_EQ(sread(1, NKSND_SREG_POSITION), room * frame);
    EXPECT_EQ(sread(1, NKSND_SREG_FRAMES), room);
    EXPECT_EQ(sread(1, NKSND_SREG_XRUNS), 1u);
    EXPECT_EQ(m_sink.count(), 1u);
    auto during = m_card->microphone().status();
    EXPECT_TRUE(during.in_overrun);
    EXPECT_EQ(during.overruns, 1u);
    EXPECT_GT(during.frames_dropped, 0u);

    swrite(1, NKSND_SREG_LIMIT, room * frame - frame); // everything but one frame is free
    ASSERT_TRUE(wait_until(10s, [&] { return sread(1, NKSND_SREG_FRAMES) >= room + 400; }));
    stop(NKSND_STREAM_CAPTURE);
    auto frames = sread(1, NKSND_SREG_FRAMES);
    ASSERT_EQ(sread(1, NKSND_SREG_XRUNS), 1u) << "a second overrun: the machine stalled for 2 s";
    auto mic = m_card->microphone().status();
    EXPECT_EQ(mic.frames_captured, frames);
    EXPECT_EQ(mic.source_frames, mic.frames_captured + mic.frames_dropped);
    for (uint32_t n = 0; n < room; ++n)
        ASSERT_EQ(s16_at(n * frame), sine(n, rate)) << "frame " << n;
    // After the gap, the frames real time reached: the dropped ones are gone.
    for (uint32_t k = 0; k < frames - room; ++k) {
        ASSERT_EQ(s16_at((room + k) * frame), sine(room + mic.frames_dropped + k, rate)) << "frame " << room + k;
        ASSERT_EQ(s16_at((room + k) * frame + 2), sine(room + mic.frames_dropped + k, rate)) << "frame " << room + k;
    }
    auto events = read_events();
    EXPECT_EQ(named(events, "overrun_begin").size(), 1u);
    EXPECT_EQ(named(events, "overrun_end").size(), 1u);
}

// A WAV file as the source: its frames in order, converted to the stream's
// format and channels, never resampled; then silence, and the events say so.
struct WavCase {
    char const* name;
    uint16_t file_channels;
    uint32_t file_rate;
    uint16_t file_bits;
    uint32_t format;
    uint32_t channels;
    uint32_t rate;
};

class SoundCaptureWav : public SoundFixture, public ::testing::WithParamInterface<WavCase> {
protected:
    void SetUp() override { }
};

TEST_P(SoundCaptureWav, EqualsFile_ThenSilence)
{
    auto const& c = GetParam();
    constexpr uint32_t file_frames = 1500, extra = 300, buf = 16384;
    std::vector<int> samples;
    for (uint32_t i = 0; i < file_frames * c.file_channels; ++i)
        samples.push_back(c.file_bits == 8 ? int(1 + (i * 13) % 254) : int((i * 1231) % 60000) - 30000);
    auto path = m_dir.file("mic.wav");
    write_wav(path, c.file_channels, c.file_rate, c.file_bits, samples);
    make_card(path);
    ASSERT_NE(m_card, nullptr);
    unmute_all();
    sound::PcmFormat format { .format = c.format, .channels = c.channels, .rate = c.rate };
    auto const frame = format.frame_bytes();
    program(NKSND_STREAM_CAPTURE, { .format = c.format, .channels = c.channels, .rate = c.rate, .buf_bytes = buf, .period_bytes = 1024,
                                       .limit = buf - frame });
    run(NKSND_STREAM_CAPTURE);
    ASSERT_TRUE(wait_until(20s, [&] { return sread(1, NKSND_SREG_FRAMES) >= file_frames + extra; }));
    stop(NKSND_STREAM_CAPTURE);
    ASSERT_EQ(sread(1, NKSND_SREG_XRUNS), 0u);
    auto frames = sread(1, NKSND_SREG_FRAMES);

    // The documented conversion, written out independently.
    auto to16 = [&](int s) { return c.file_bits == 8 ? static_cast<int16_t>((s - 128) * 256) : static_cast<int16_t>(s); };
    auto const* ring = ring_data(NKSND_STREAM_CAPTURE);
    for (uint32_t n = 0; n < frames; ++n) {
        int16_t left = 0, right = 0;
        if (n < file_frames) {
            left = to16(samples[n * c.file_channels]);
            right = c.file_channels == 2 ? to16(samples[n * c.file_channels + 1]) : left;
        }
        std::vector<int16_t> want = c.channels == 2 ? std::vector<int16_t> { left, right }
                                                    : std::vector<int16_t> { static_cast<int16_t>((int32_t(left) + int32_t(right)) / 2) };
        for (uint32_t ch = 0; ch < c.channels; ++ch) {
            auto const* at = ring + size_t(n) * frame + ch * format.sample_bytes();
            if (c.format == NKSND_FMT_U8) {
                ASSERT_EQ(std::to_integer<uint8_t>(at[0]), static_cast<uint8_t>((want[ch] >> 8) + 128)) << "frame " << n;
            } else {
                auto got = static_cast<int16_t>(static_cast<uint16_t>(std::to_integer<uint8_t>(at[0]) | (std::to_integer<uint8_t>(at[1]) << 8)));
                ASSERT_EQ(got, want[ch]) << "frame " << n << " channel " << ch;
            }
        }
    }
    auto mic = m_card->microphone().status();
    EXPECT_TRUE(mic.ended);
    EXPECT_EQ(mic.source, sound::Microphone::Source::Wav);
    auto end = named(read_events(), "microphone_end");
    ASSERT_EQ(end.size(), 1u);
    EXPECT_EQ(end[0]["source_frame"], file_frames);
    EXPECT_EQ(end[0]["stream"], "capture");
}

INSTANTIATE_TEST_SUITE_P(Formats, SoundCaptureWav,
    ::testing::Values(WavCase { "U8Mono_To_U8Mono", 1, 11025, 8, NKSND_FMT_U8, 1, 8000 },
        WavCase { "S16Stereo_To_S16Mono", 2, 44100, 16, NKSND_FMT_S16_LE, 1, 16000 },
        WavCase { "U8Mono_To_S16Stereo", 1, 8000, 8, NKSND_FMT_S16_LE, 2, 48000 },
        WavCase { "S16Stereo_To_U8Stereo", 2, 22050, 16, NKSND_FMT_U8, 2, 8000 }),
    [](auto const& info) { return std::string(info.param.name); });

} // namespace
} // namespace nk::test
