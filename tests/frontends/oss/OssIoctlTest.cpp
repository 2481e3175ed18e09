// SPDX-License-Identifier: MIT
// The OSS ioctl decoding (no FUSE): each ioctl against the sound layer and a
// clocked test card, as the dsp and mixer files would issue them; the
// file-name rules; and the ALSA configuration the project ships.

#include "frontends/oss/AlsaConfig.h"
#include "frontends/oss/OssFrontend.h"
#include "frontends/oss/OssIoctl.h"
#include "frontends/oss/ClockedCard.h"

#include <gtest/gtest.h>

#include <linux/soundcard.h>

#include <fstream>
#include <sstream>

namespace nk {
namespace {

using namespace std::chrono_literals;
using oss::IoctlReply;

int int_of(IoctlReply const& reply)
{
    int value = 0;
    EXPECT_EQ(reply.out_size, sizeof(int));
    std::memcpy(&value, reply.out.data(), sizeof(value));
    return value;
}

template<typename T>
T struct_of(IoctlReply const& reply)
{
    T value {};
    EXPECT_EQ(reply.out_size, sizeof(T));
    std::memcpy(&value, reply.out.data(), sizeof(T));
    return value;
}

std::span<std::byte const> arg(int const& value) { return std::as_bytes(std::span(&value, 1)); }

class OssIoctlTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        ASSERT_TRUE(clocked.card());
        card->card = clocked.card();
        dsp.card = card;
    }
    void TearDown() override
    {
        for (auto* pcm : { dsp.playback, dsp.capture })
            if (pcm != nullptr)
                pcm->close();
    }
    void open(bool playback, bool capture)
    {
        if (playback) {
            dsp.playback = clocked.card()->pcm(NK_SND_PLAYBACK);
            ASSERT_TRUE(dsp.playback->open());
        }
        if (capture) {
            dsp.capture = clocked.card()->pcm(NK_SND_CAPTURE);
            ASSERT_TRUE(dsp.capture->open());
        }
    }
    IoctlReply call(unsigned cmd, int value = 0) { return oss::dsp_ioctl(dsp, cmd, arg(value), nullptr); }
    int call_int(unsigned cmd, int value = 0)
    {
        auto reply = call(cmd, value);
        EXPECT_EQ(reply.error, 0) << std::hex << cmd;
        return int_of(reply);
    }
    IoctlReply mixer(unsigned cmd, int value = 0) { return oss::mixer_ioctl(*card, cmd, arg(value)); }

    test::ClockedCard clocked;
    std::shared_ptr<oss::OssCard> card { std::make_shared<oss::OssCard>() };
    oss::OssDsp dsp;
};

TEST_F(OssIoctlTest, Format_EchoedWhenSupported_ElseTheOneInUse)
{
    open(true, false);
    EXPECT_EQ(call_int(SNDCTL_DSP_GETFMTS), AFMT_U8 | AFMT_S16_LE);
    EXPECT_EQ(call_int(SNDCTL_DSP_SETFMT, AFMT_QUERY), AFMT_U8); // the OSS default
    EXPECT_EQ(call_int(SNDCTL_DSP_SETFMT, AFMT_S16_LE), AFMT_S16_LE);
    EXPECT_EQ(call_int(SNDCTL_DSP_SETFMT, AFMT_MU_LAW), AFMT_S16_LE);
    EXPECT_EQ(call_int(SNDCTL_DSP_SETFMT, AFMT_S16_BE), AFMT_S16_LE);
    EXPECT_EQ(call_int(SOUND_PCM_READ_BITS), 16);
    EXPECT_EQ(call_int(SNDCTL_DSP_SETFMT, AFMT_U8), AFMT_U8);
    EXPECT_EQ(call_int(SOUND_PCM_READ_BITS), 8);
}

TEST_F(OssIoctlTest, ChannelsStereoAndSpeed_AnswerWhatTheCardUses)
{
    open(true, false);
    EXPECT_EQ(call_int(SNDCTL_DSP_STEREO, 1), 1);
    EXPECT_EQ(call_int(SOUND_PCM_READ_CHANNELS), 2);
    EXPECT_EQ(call_int(SNDCTL_DSP_CHANNELS, 6), 2); // the card's maximum
    EXPECT_EQ(call_int(SNDCTL_DSP_CHANNELS, 1), 1);
    EXPECT_EQ(call_int(SNDCTL_DSP_STEREO, 0), 0);
    EXPECT_EQ(call_int(SNDCTL_DSP_SPEED, 44100), 44100);
    EXPECT_EQ(call_int(SNDCTL_DSP_SPEED, 96000), 48000);
    EXPECT_EQ(call_int(SNDCTL_DSP_SPEED, 4000), 8000);
    EXPECT_EQ(call_int(SOUND_PCM_READ_RATE), 8000);
}

TEST_F(OssIoctlTest, Fragments_LayoutAnsweredAndBlockSize)
{
    open(true, false);
    int const word = call_int(SNDCTL_DSP_SETFRAGMENT, (8 << 16) | 10); // 8 x 1 KiB
    EXPECT_EQ(word, (8 << 16) | 10);
    EXPECT_EQ(call_int(SNDCTL_DSP_GETBLKSIZE), 1024);
    auto space = call(SNDCTL_DSP_GETOSPACE);
    ASSERT_EQ(space.error, 0);
    auto info = struct_of<audio_buf_info>(space);
    EXPECT_EQ(info.fragsize, 1024);
    EXPECT_EQ(info.fragstotal, 8);
    EXPECT_EQ(info.fragments, 8);
    EXPECT_EQ(info.bytes, 8 * 1024);
    EXPECT_EQ(call_int(SNDCTL_DSP_GETODELAY), 0);
    // Capture-only calls on a playback file.
    EXPECT_EQ(call(SNDCTL_DSP_GETISPACE).error, EINVAL);
    EXPECT_EQ(call(SNDCTL_DSP_GETIPTR).error, EINVAL);
}

TEST_F(OssIoctlTest, Playback_PositionAdvancesAndSyncDrains)
{
    open(true, false);
    call_int(SNDCTL_DSP_SETFMT, AFMT_S16_LE);
    call_int(SNDCTL_DSP_CHANNELS, 2);
    call_int(SNDCTL_DSP_SPEED, 48000);
    call_int(SNDCTL_DSP_SETFRAGMENT, (4 << 16) | 12); // 4 x 4 KiB
    std::vector<std::byte> data(12 * 1024, std::byte { 0x11 });
    auto written = dsp.playback->write(data, false, nullptr);
    ASSERT_TRUE(written) << written.error().message();
    EXPECT_GT(call_int(SNDCTL_DSP_GETODELAY), 0);
    ASSERT_EQ(call(SNDCTL_DSP_SYNC).error, 0);
    auto position = struct_of<count_info>(call(SNDCTL_DSP_GETOPTR));
    EXPECT_GE(position.bytes, 12 * 1024);
    EXPECT_GE(clocked.port().played_bytes(), 12u * 1024);
    EXPECT_EQ(call_int(SNDCTL_DSP_GETODELAY), 0);
}

TEST_F(OssIoctlTest, Trigger_BitsPerOpenedStream)
{
    open(true, true);
    EXPECT_EQ(call_int(SNDCTL_DSP_GETTRIGGER), PCM_ENABLE_OUTPUT | PCM_ENABLE_INPUT);
    EXPECT_EQ(call(SNDCTL_DSP_SETTRIGGER, PCM_ENABLE_INPUT).error, 0);
    EXPECT_EQ(call_int(SNDCTL_DSP_GETTRIGGER), PCM_ENABLE_INPUT);
    EXPECT_EQ(call(SNDCTL_DSP_SETTRIGGER, 0).error, 0);
    EXPECT_EQ(call_int(SNDCTL_DSP_GETTRIGGER), 0);
    EXPECT_EQ(call(SNDCTL_DSP_SETDUPLEX).error, 0);
}

TEST_F(OssIoctlTest, Capture_ReadsWhatTheCardCaptured)
{
    open(false, true);
    call_int(SNDCTL_DSP_SPEED, 48000);
    call_int(SNDCTL_DSP_SETFRAGMENT, (4 << 16) | 10);
    ASSERT_EQ(call(SNDCTL_DSP_SETTRIGGER, PCM_ENABLE_INPUT).error, 0);
    std::vector<std::byte> buffer(2048);
    auto got = dsp.capture->read(buffer, false, nullptr);
    ASSERT_TRUE(got) << got.error().message();
    EXPECT_EQ(*got, buffer.size());
    EXPECT_EQ(buffer[1], std::byte { 1 }); // the card's counting pattern
    auto position = struct_of<count_info>(call(SNDCTL_DSP_GETIPTR));
    EXPECT_GE(position.bytes, 2048);
    auto space = struct_of<audio_buf_info>(call(SNDCTL_DSP_GETISPACE));
    EXPECT_EQ(space.fragsize, 1024);
}

TEST_F(OssIoctlTest, Caps_TriggerAndRealtime_NeverMmap)
{
    open(true, false);
    int caps = call_int(SNDCTL_DSP_GETCAPS);
    EXPECT_NE(caps & DSP_CAP_TRIGGER, 0);
    EXPECT_NE(caps & DSP_CAP_REALTIME, 0);
    EXPECT_NE(caps & DSP_CAP_DUPLEX, 0);
    EXPECT_EQ(caps & DSP_CAP_MMAP, 0);
    EXPECT_EQ(call_int(OSS_GETVERSION), SOUND_VERSION);
    EXPECT_EQ(call(SNDCTL_DSP_RESET).error, 0);
    EXPECT_EQ(call(SNDCTL_DSP_POST).error, 0);
    EXPECT_EQ(call(SNDCTL_DSP_NONBLOCK).error, 0);
    EXPECT_TRUE(dsp.nonblock.load());
}

TEST_F(OssIoctlTest, Unknown_IsEnotty)
{
    open(true, false);
    EXPECT_EQ(call(SNDCTL_DSP_MAPOUTBUF).error, ENOTTY);
    EXPECT_EQ(call(_IOR('x', 1, int)).error, ENOTTY);
    EXPECT_EQ(mixer(SNDCTL_DSP_RESET).error, ENOTTY);
}

TEST_F(OssIoctlTest, DeadCard_EveryCallIsEio)
{
    open(true, false);
    clocked.port().halt();
    clocked.layer().release_card(*clocked.card());
    for (unsigned cmd : { unsigned(SNDCTL_DSP_SETFMT), unsigned(SNDCTL_DSP_GETOSPACE), unsigned(SNDCTL_DSP_SYNC),
             unsigned(SNDCTL_DSP_GETOPTR), unsigned(SNDCTL_DSP_GETCAPS), unsigned(SOUND_MIXER_READ_VOLUME) })
        EXPECT_EQ(call(cmd).error, EIO) << std::hex << cmd;
    EXPECT_EQ(mixer(SOUND_MIXER_READ_DEVMASK).error, EIO);
}

TEST_F(OssIoctlTest, Mixer_InfoAndMasks)
{
    auto info = struct_of<mixer_info>(mixer(SOUND_MIXER_INFO));
    EXPECT_STREQ(info.id, "sound0");
    EXPECT_STREQ(info.name, "Clocked");
    int const controls = SOUND_MASK_VOLUME | SOUND_MASK_PCM | SOUND_MASK_IGAIN;
    EXPECT_EQ(int_of(mixer(SOUND_MIXER_READ_DEVMASK)), controls);
    EXPECT_EQ(int_of(mixer(SOUND_MIXER_READ_STEREODEVS)), controls);
    EXPECT_EQ(int_of(mixer(SOUND_MIXER_READ_RECMASK)), SOUND_MASK_LINE);
    EXPECT_EQ(int_of(mixer(SOUND_MIXER_READ_RECSRC)), SOUND_MASK_LINE);
    EXPECT_EQ(int_of(mixer(SOUND_MIXER_WRITE_RECSRC, SOUND_MASK_MIC)), SOUND_MASK_LINE);
    EXPECT_EQ(int_of(mixer(SOUND_MIXER_READ_CAPS)), SOUND_CAP_EXCL_INPUT);
}

TEST_F(OssIoctlTest, Mixer_ReadWriteEachControl)
{
    EXPECT_EQ(int_of(mixer(SOUND_MIXER_READ_VOLUME)), 75 | 75 << 8);
    EXPECT_EQ(int_of(mixer(SOUND_MIXER_WRITE_VOLUME, 40 | 60 << 8)), 40 | 60 << 8);
    EXPECT_EQ(int_of(mixer(SOUND_MIXER_READ_VOLUME)), 40 | 60 << 8);
    EXPECT_EQ(int_of(mixer(SOUND_MIXER_WRITE_PCM, 200 | 100 << 8)), 100 | 100 << 8); // clamped
    EXPECT_EQ(int_of(mixer(SOUND_MIXER_WRITE_IGAIN, 30 | 30 << 8)), 30 | 30 << 8);
    EXPECT_EQ(clocked.card()->mixer_setting(NK_SND_MIXER_CAPTURE), NK_SND_MIXER_VALUE(30, 30));
    EXPECT_EQ(struct_of<mixer_info>(mixer(SOUND_MIXER_INFO)).modify_counter, 3);
    // Devices the card does not have.
    EXPECT_EQ(mixer(SOUND_MIXER_READ_BASS).error, EINVAL);
    EXPECT_EQ(mixer(SOUND_MIXER_WRITE_RECLEV, 10).error, EINVAL);
}

// mpg123 -g sets the volume through the dsp file.
TEST_F(OssIoctlTest, Mixer_AlsoOnTheDspFile)
{
    open(true, false);
    EXPECT_EQ(call_int(SOUND_MIXER_READ_DEVMASK), SOUND_MASK_VOLUME | SOUND_MASK_PCM | SOUND_MASK_IGAIN);
    EXPECT_EQ(call_int(SOUND_MIXER_WRITE_PCM, 10 | 10 << 8), 10 | 10 << 8);
}

TEST_F(OssIoctlTest, Mixer_CardWithoutControls)
{
    test::ClockedCard bare("sound1", test::clocked_card_params(1, 1));
    ASSERT_TRUE(bare.card());
    oss::OssCard other;
    other.card = bare.card();
    EXPECT_EQ(int_of(oss::mixer_ioctl(other, SOUND_MIXER_READ_DEVMASK, {})), SOUND_MASK_VOLUME);
    EXPECT_EQ(int_of(oss::mixer_ioctl(other, SOUND_MIXER_READ_RECMASK, {})), 0);
    int value = 0;
    EXPECT_EQ(oss::mixer_ioctl(other, SOUND_MIXER_READ_PCM, arg(value)).error, EINVAL);
}

TEST(OssNames, DspAndMixerByCardIndex)
{
    EXPECT_EQ(OssFrontend::dsp_name(0), "dsp");
    EXPECT_EQ(OssFrontend::mixer_name(0), "mixer");
    EXPECT_EQ(OssFrontend::dsp_name(2), "dsp2");
    EXPECT_EQ(OssFrontend::mixer_name(2), "mixer2");
    EXPECT_EQ(OssFrontend::card_index("sound0"), 0u);
    EXPECT_EQ(OssFrontend::card_index("sound12"), 12u);
    EXPECT_EQ(OssFrontend::card_index("sound"), std::nullopt);
}

TEST(AlsaConfig, ShippedFileIsTheDefaultMount)
{
    std::ifstream shipped(NOOKS_ALSA_CONF);
    ASSERT_TRUE(shipped) << NOOKS_ALSA_CONF;
    std::stringstream text;
    text << shipped.rdbuf();
    EXPECT_EQ(text.str(), alsa_config_text("/run/nooks/sound"));
}

TEST(AlsaConfig, WrittenForAnotherMount)
{
    char dir[] = "/tmp/nooks-alsa-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    auto const path = std::string(dir) + "/asound.conf";
    ASSERT_TRUE(write_alsa_config(path, "/tmp/elsewhere"));
    std::ifstream written(path);
    std::stringstream text;
    text << written.rdbuf();
    EXPECT_NE(text.str().find("device \"/tmp/elsewhere/dsp\""), std::string::npos);
    EXPECT_NE(text.str().find("device \"/tmp/elsewhere/mixer\""), std::string::npos);
    EXPECT_EQ(alsa_config_path_value(path), "/usr/share/alsa/alsa.conf:" + path);
    std::remove(path.c_str());
    rmdir(dir);
}

} // namespace
} // namespace nk
