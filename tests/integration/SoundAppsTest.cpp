// SPDX-License-Identifier: MIT
// Real audio programs through the sound driver (nksnd on an NKSND card), in
// native, nooks and shadow mode (its taps passive: no failure), each judged against a reference made without us:
// what the card's speaker played, silence removed, must equal the
// reference's samples exactly, at the right rate and format; a recording
// must equal the microphone's source.

#include "SoundMachine.h"

#include <fstream>

namespace nk {
namespace {

class SoundApps : public test::SoundMachine, public ::testing::WithParamInterface<char const*> {
protected:
    void SetUp() override { boot(GetParam()); }

    std::string events() const
    {
        std::ifstream in(card().events_path());
        return { std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>() };
    }

    void expect_heard(std::vector<sound::Frame16> const& expected, uint32_t rate, uint32_t channels)
    {
        auto comparison = test::compare_audio(expected, heard());
        EXPECT_TRUE(comparison.equal) << comparison.describe() << "\nthe card's events:\n" << events();
        auto status = card().speaker().status();
        EXPECT_EQ(status.wav_rate, rate);
        EXPECT_EQ(status.format.rate, rate);
        EXPECT_EQ(status.format.channels, channels);
        EXPECT_EQ(status.format.format_name(), "S16_LE");
        // The one underrun allowed is the end: the card ran dry before the drain stopped it.
        EXPECT_LE(status.underruns, 1u) << "the audio was interrupted; the card's events:\n" << events();
    }
};

TEST_P(SoundApps, Mpg123Oss_PlaysTheDecodeExactly)
{
    auto mp3 = test::make_mp3(m_dir.path(), 2.0);
    ASSERT_FALSE(mp3.mp3.empty());
    auto played = run({ "mpg123", "-q", "-o", "oss", "-a", dsp(), mp3.mp3 });
    EXPECT_TRUE(played.ok()) << played.describe();
    expect_heard(test::read_wav(mp3.reference), 44100, 2);
}

TEST_P(SoundApps, Mpg123Alsa_PlaysTheDecodeExactly)
{
    auto mp3 = test::make_mp3(m_dir.path(), 2.0);
    ASSERT_FALSE(mp3.mp3.empty());
    auto played = run({ "mpg123", "-q", "-o", "alsa", "-a", "nooks", mp3.mp3 });
    EXPECT_TRUE(played.ok()) << played.describe();
    expect_heard(test::read_wav(mp3.reference), 44100, 2);
}

TEST_P(SoundApps, Aplay_PlaysAWaveFileExactly)
{
    auto source = m_dir.file("tone.wav");
    ASSERT_TRUE(run({ "sox", "-q", "-n", "-r", "22050", "-c", "1", "-b", "16", source, "synth", "1.5", "sine", "500", "vol", "0.4" }).ok());
    auto played = run({ "aplay", "-q", "-D", "nooks", source });
    EXPECT_TRUE(played.ok()) << played.describe();
    expect_heard(test::read_wav(source), 22050, 1);
}

TEST_P(SoundApps, EspeakNg_SpeaksWhatItWouldWrite)
{
    if (auto reason = test::missing_programs({ "espeak-ng" }); !reason.empty())
        GTEST_SKIP() << reason;
    auto const* text = "Shadow drivers keep applications running through driver failures.";
    auto reference = m_dir.file("speech.wav");
    ASSERT_TRUE(run({ "espeak-ng", "-w", reference, text }).ok());
    auto spoken = run({ "espeak-ng", "-d", "nooks", text });
    EXPECT_TRUE(spoken.ok()) << spoken.describe();
    expect_heard(test::read_wav(reference), test::wav_rate(reference), 1);
}

TEST_P(SoundApps, VolumeSetThroughTheMixer_IsMeasuredInTheOutput)
{
    set_volume(SOUND_MIXER_WRITE_PCM, 50);
    auto mp3 = test::make_mp3(m_dir.path(), 1.0);
    ASSERT_FALSE(mp3.mp3.empty());
    auto played = run({ "mpg123", "-q", "-o", "oss", "-a", dsp(), mp3.mp3 });
    EXPECT_TRUE(played.ok()) << played.describe();
    // The card scales each sample by MASTER x PCM (100 x 50 here), truncating toward zero.
    auto expected = test::read_wav(mp3.reference);
    for (auto& frame : expected) {
        frame.left = sound::apply_gain(frame.left, 50);
        frame.right = sound::apply_gain(frame.right, 50);
    }
    auto comparison = test::compare_audio(expected, heard());
    EXPECT_TRUE(comparison.equal) << comparison.describe();
    EXPECT_EQ(card().speaker().status().pcm.left, 50u);
}

TEST_P(SoundApps, GameLikeProgram_MixesManyShortSoundsWithASmallBuffer)
{
    if (::access("/usr/lib/python3/dist-packages/pygame/__init__.py", R_OK) != 0)
        GTEST_SKIP() << "needs python3-pygame (scripts/install-deps.sh installs it)";
    auto script = m_dir.file("game.py");
    ASSERT_TRUE(test::write_game_script(script, 60));
    auto game = run({ "/usr/bin/python3", script });
    EXPECT_TRUE(game.ok()) << game.describe();
    EXPECT_NE(game.output.find("played"), std::string::npos) << game.output;
    auto audio = test::without_silence(heard());
    // 60 effects of 80 ms at 44.1 kHz, overlapping: a few seconds of audio at least.
    EXPECT_GT(audio.size(), 44100u) << "the effects were not heard";
    EXPECT_EQ(card().speaker().status().format.rate, 44100u);
}

TEST_P(SoundApps, Arecord_RecordsTheMicrophonesSignal)
{
    // Another card: its microphone plays a file the test knows.
    m_system->shutdown();
    m_system.reset();
    auto source = m_dir.file("mic.wav");
    ASSERT_TRUE(run({ "sox", "-q", "-n", "-r", "44100", "-c", "2", "-b", "16", source, "synth", "4", "sine", "300", "sine", "500", "vol", "0.5" })
                    .ok());
    boot(GetParam(), source);
    auto recording = m_dir.file("recorded.wav");
    auto recorded = run({ "arecord", "-q", "-D", "nooks", "-f", "S16_LE", "-r", "44100", "-c", "2", "-d", "1", recording });
    EXPECT_TRUE(recorded.ok()) << recorded.describe();
    auto got = test::read_wav(recording);
    auto expected = test::read_wav(source);
    ASSERT_GE(got.size(), 44100u * 9 / 10) << "a 1 s recording is short";
    // What was recorded is a stretch of the source, sample for sample (the
    // microphone runs from the first start; a restart of the stream by the
    // plugin may have skipped what came before).
    size_t offset = 0;
    while (offset + got.size() <= expected.size() && (expected[offset].left != got[0].left || expected[offset].right != got[0].right))
        ++offset;
    ASSERT_LE(offset + got.size(), expected.size()) << "the recording's first frame is not in the source";
    size_t same = 0;
    while (same < got.size() && expected[offset + same].left == got[same].left && expected[offset + same].right == got[same].right)
        ++same;
    EXPECT_EQ(same, got.size()) << "the recording departs from the source at frame " << same << " (offset " << offset << ")";
}

INSTANTIATE_TEST_SUITE_P(Modes, SoundApps, ::testing::Values("native", "nooks", "shadow"));

} // namespace
} // namespace nk
