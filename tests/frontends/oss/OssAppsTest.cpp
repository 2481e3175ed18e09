// SPDX-License-Identifier: MIT
// Real programs on the OSS files of a clocked test card: mpg123's OSS
// output, aplay and arecord through alsa-lib's oss plugin with our ALSA
// configuration, sox's OSS driver both ways, and amixer on the mixer. Each
// is skipped when its program is missing. Needs root and /dev/fuse.

#include "frontends/oss/AlsaConfig.h"
#include "frontends/oss/OssMount.h"
#include "harness/Command.h"

#include <gtest/gtest.h>

#include <chrono>
#include <sys/stat.h>

namespace nk {
namespace {

using namespace std::chrono_literals;
using harness::CommandOptions;
using harness::have_program;
using harness::run_command;

class OssAppsTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        NK_REQUIRE_OSS_MOUNT();
        if (!have_program("sox"))
            GTEST_SKIP() << "needs sox (to make the test sounds)";
        mount = std::make_unique<test::OssMount>(4.0); // the card runs 4x real time
        ASSERT_TRUE(mount->error().empty()) << mount->error();
        tone = mount->file("tone.wav");
        auto made = run_command({ "sox", "-n", "-r", "44100", "-c", "2", "-b", "16", tone, "synth", "1", "sine", "1000" });
        ASSERT_TRUE(made && made->ok()) << (made ? made->describe() : made.error().message());
        config = mount->file("asound.conf");
        ASSERT_TRUE(write_alsa_config(config, mount->mountpoint()));
        alsa.env["ALSA_CONFIG_PATH"] = alsa_config_path_value(config);
        alsa.timeout = 60s;
    }
    void TearDown() override { mount.reset(); }

    void expect_ok(std::vector<std::string> const& argv, CommandOptions const& options)
    {
        auto result = run_command(argv, options);
        ASSERT_TRUE(result) << result.error().message();
        EXPECT_TRUE(result->ok()) << argv[0] << ": " << result->describe();
    }

    std::unique_ptr<test::OssMount> mount;
    std::string tone;
    std::string config;
    CommandOptions alsa;
    CommandOptions plain { .timeout = 60s };
};

// 1 s of 44.1 kHz stereo S16: 176400 bytes.
constexpr size_t tone_bytes = 176400;

TEST_F(OssAppsTest, Mpg123_PlaysThroughTheDspFile)
{
    if (!have_program("mpg123") || !have_program("lame"))
        GTEST_SKIP() << "needs mpg123 and lame";
    auto const mp3 = mount->file("tone.mp3");
    expect_ok({ "lame", "--quiet", tone, mp3 }, plain);
    expect_ok({ "mpg123", "-q", "-o", "oss", "-a", mount->path("dsp"), mp3 }, plain);
    EXPECT_GE(mount->port().played_bytes(), tone_bytes * 9 / 10);
    auto params = mount->port().params_of(NK_SND_PLAYBACK);
    EXPECT_EQ(params.rate, 44100u);
    EXPECT_EQ(params.channels, 2u);
}

TEST_F(OssAppsTest, Mpg123_GainThroughTheDspFile)
{
    if (!have_program("mpg123") || !have_program("lame"))
        GTEST_SKIP() << "needs mpg123 and lame";
    auto const mp3 = mount->file("tone.mp3");
    expect_ok({ "lame", "--quiet", tone, mp3 }, plain);
    expect_ok({ "mpg123", "-q", "-g", "40", "-o", "oss", "-a", mount->path("dsp"), mp3 }, plain);
    auto pcm = mount->card().card()->mixer_setting(NK_SND_MIXER_PCM);
    auto master = mount->card().card()->mixer_setting(NK_SND_MIXER_MASTER);
    EXPECT_TRUE(pcm == NK_SND_MIXER_VALUE(40, 40) || master == NK_SND_MIXER_VALUE(40, 40));
}

TEST_F(OssAppsTest, Aplay_ThroughTheAlsaPlugin)
{
    if (!have_program("aplay"))
        GTEST_SKIP() << "needs aplay";
    expect_ok({ "aplay", "-q", "-D", "nooks", tone }, alsa);
    EXPECT_GE(mount->port().played_bytes(), tone_bytes * 9 / 10);
    // The default device is ours too.
    mount->port().take_played();
    expect_ok({ "aplay", "-q", tone }, alsa);
    EXPECT_GE(mount->port().played_bytes(), tone_bytes * 9 / 10);
}

TEST_F(OssAppsTest, Arecord_ThroughTheAlsaPlugin)
{
    if (!have_program("arecord"))
        GTEST_SKIP() << "needs arecord";
    auto const out = mount->file("rec.wav");
    expect_ok({ "arecord", "-q", "-D", "nooks", "-f", "S16_LE", "-r", "44100", "-c", "2", "-d", "1", out }, alsa);
    struct stat st { };
    ASSERT_EQ(::stat(out.c_str(), &st), 0);
    EXPECT_GE(static_cast<size_t>(st.st_size), tone_bytes);
}

TEST_F(OssAppsTest, Sox_PlaysAndRecords)
{
    // Debian's sox (14.4.2+git20190427) osswrite bounds each chunk by the
    // call's sample count instead of what is left of it, so a 16-bit output
    // reads past its input (SIGSEGV) on a call of more than bufsiz/2 samples
    // that is no multiple of it (the end of most files), whatever the device.
    // 8-bit output (chunks of bufsiz) never trips it.
    expect_ok({ "sox", "-q", tone, "-t", "oss", "-b", "8", mount->path("dsp") }, plain);
    EXPECT_GE(mount->port().played_bytes(), tone_bytes / 2 * 9 / 10);
    EXPECT_EQ(mount->port().params_of(NK_SND_PLAYBACK).format, NK_SND_FMT_U8);
    auto const out = mount->file("sox-rec.wav");
    expect_ok({ "sox", "-q", "-t", "oss", "-r", "44100", "-c", "2", "-b", "16", mount->path("dsp"), out, "trim", "0", "0.5" }, plain);
    struct stat st { };
    ASSERT_EQ(::stat(out.c_str(), &st), 0);
    EXPECT_GE(static_cast<size_t>(st.st_size), tone_bytes / 2);
}

TEST_F(OssAppsTest, Amixer_ReadsAndWritesTheMixer)
{
    if (!have_program("amixer"))
        GTEST_SKIP() << "needs amixer";
    expect_ok({ "amixer", "-q", "-D", "nooks", "sset", "Master", "50%" }, alsa);
    EXPECT_EQ(mount->card().card()->mixer_setting(NK_SND_MIXER_MASTER), NK_SND_MIXER_VALUE(50, 50));
    expect_ok({ "amixer", "-q", "-D", "nooks", "sset", "Capture", "30%" }, alsa);
    EXPECT_EQ(mount->card().card()->mixer_setting(NK_SND_MIXER_CAPTURE), NK_SND_MIXER_VALUE(30, 30));
    auto read = run_command({ "amixer", "-D", "nooks", "sget", "PCM" }, alsa);
    ASSERT_TRUE(read && read->ok()) << (read ? read->describe() : read.error().message());
    EXPECT_NE(read->output.find("[75%]"), std::string::npos) << read->output;
}

} // namespace
} // namespace nk

