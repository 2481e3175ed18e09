// SPDX-License-Identifier: MIT
// The [[sound]] kind: its identity and defaults, every key checked with an
// error naming it, and the card it builds.

#include "devices/sound/SoundDevice.h"
#include "devices/sound/SoundKind.h"
#include "devices/sound/SoundTestRig.h"

#include <filesystem>

namespace nk::test {
namespace {

class SoundKindTest : public ::testing::Test {
protected:
    ConfigTable table() const { return ConfigTable("sound0.", "machine.toml"); }
    Result<std::shared_ptr<DeviceSettings const>> parse(ConfigTable const& t) const { return kind.parse("sound0", t); }
    // Parsing fails and the message names `key`.
    void expect_error(ConfigTable const& t, std::string const& key, std::string const& also = {})
    {
        auto parsed = parse(t);
        ASSERT_FALSE(parsed.has_value());
        EXPECT_EQ(parsed.error().code(), ErrorCode::InvalidArgument);
        EXPECT_NE(parsed.error().message().find("sound0." + key), std::string::npos) << parsed.error().message();
        if (!also.empty()) {
            EXPECT_NE(parsed.error().message().find(also), std::string::npos) << parsed.error().message();
        }
    }

    SoundKind kind;
    TempDir dir { "nooks-sound-kind" };
};

TEST_F(SoundKindTest, Identity)
{
    EXPECT_EQ(kind.table(), "sound");
    EXPECT_EQ(kind.driver_class(), "sound");
    EXPECT_EQ(kind.default_driver(), "nksnd.so");
    EXPECT_EQ(kind.default_count(), 0u);
}

TEST_F(SoundKindTest, Defaults)
{
    auto parsed = parse(table());
    ASSERT_TRUE(parsed.has_value()) << parsed.error().message();
    auto const& settings = static_cast<SoundSettings const&>(**parsed);
    EXPECT_EQ(settings.speaker, "");
    EXPECT_EQ(settings.microphone, "sine:440");
    EXPECT_TRUE(settings.exclusive_resources().empty());
    EXPECT_NE(settings.describe().find("not recorded"), std::string::npos);

    auto device = kind.create("sound0", settings);
    ASSERT_TRUE(device.has_value()) << device.error().message();
    auto* card = dynamic_cast<SoundDevice*>(device->get());
    ASSERT_NE(card, nullptr);
    EXPECT_EQ(card->name(), "sound0");
    EXPECT_EQ(card->events_path(), "");
    EXPECT_EQ(card->microphone().status().source, sound::Microphone::Source::Sine);
}

TEST_F(SoundKindTest, Speaker_AndItsResource)
{
    auto t = table();
    t.set("speaker", dir.file("out.wav"));
    t.set("microphone", "silence");
    auto parsed = parse(t);
    ASSERT_TRUE(parsed.has_value()) << parsed.error().message();
    auto const& settings = static_cast<SoundSettings const&>(**parsed);
    EXPECT_EQ(settings.speaker, dir.file("out.wav"));
    auto resources = settings.exclusive_resources();
    ASSERT_EQ(resources.size(), 1u);
    EXPECT_EQ(resources[0], "speaker " + std::filesystem::weakly_canonical(dir.file("out.wav")).string());
    // Another spelling of the same file is the same resource.
    auto other = table();
    other.set("speaker", dir.path() + "/./x/../out.wav");
    std::filesystem::create_directory(dir.file("x"));
    auto again = parse(other);
    ASSERT_TRUE(again.has_value()) << again.error().message();
    EXPECT_EQ((*again)->exclusive_resources(), resources);

    auto device = kind.create("sound1", settings);
    ASSERT_TRUE(device.has_value()) << device.error().message();
    EXPECT_TRUE(std::filesystem::exists(dir.file("out.wav")));
    EXPECT_TRUE(std::filesystem::exists(dir.file("out.wav.events")));
    EXPECT_EQ(static_cast<SoundDevice&>(**device).events_path(), dir.file("out.wav.events"));
}

TEST_F(SoundKindTest, BadKeys)
{
    {
        auto t = table();
        t.set("volume", int64_t(3));
        expect_error(t, "volume");
    }
    {
        auto t = table();
        t.set("speaker", int64_t(3));
        expect_error(t, "speaker");
    }
    {
        auto t = table();
        t.set("speaker", dir.file("missing/out.wav"));
        expect_error(t, "speaker", "does not exist");
    }
    {
        auto t = table();
        t.set("speaker", dir.path());
        expect_error(t, "speaker", "directory");
    }
    {
        auto t = table();
        t.set("speaker", dir.path() + "/");
        expect_error(t, "speaker", "directory");
    }
    for (auto const* bad : { "", "sine:", "sine:abc", "sine:0", "sine:-5", "sine:30000", "sine:440:2", "sine:440:-0.1", "sine:440:x" }) {
        SCOPED_TRACE(bad);
        auto t = table();
        t.set("microphone", std::string(bad));
        expect_error(t, "microphone");
    }
    {
        auto t = table();
        t.set("microphone", int64_t(440));
        expect_error(t, "microphone");
    }
    {
        auto t = table();
        t.set("microphone", dir.file("nosuch.wav"));
        expect_error(t, "microphone", "nosuch.wav");
    }
    {
        // Not a WAV at all.
        auto path = dir.file("text.wav");
        std::FILE* file = std::fopen(path.c_str(), "w");
        std::fputs("hello, not audio at all, but long enough for a header\n", file);
        std::fclose(file);
        auto t = table();
        t.set("microphone", path);
        expect_error(t, "microphone", "not a WAV");
    }
    {
        // A WAV of a kind not read: 24-bit.
        auto path = dir.file("deep.wav");
        write_wav(path, 1, 8000, 16, { 1, 2, 3, 4 });
        std::FILE* file = std::fopen(path.c_str(), "r+b");
        std::fseek(file, 34, SEEK_SET);
        std::fputc(24, file);
        std::fclose(file);
        auto t = table();
        t.set("microphone", path);
        expect_error(t, "microphone", "24-bit");
    }
    {
        // Three channels.
        auto path = dir.file("three.wav");
        write_wav(path, 3, 8000, 16, { 1, 2, 3 });
        auto t = table();
        t.set("microphone", path);
        expect_error(t, "microphone", "3 channels");
    }
}

TEST_F(SoundKindTest, Microphone_Accepted)
{
    auto path = dir.file("voice.wav");
    write_wav(path, 2, 44100, 16, { 1, 2, 3, 4 });
    for (auto const& spec : { std::string("sine:1000"), std::string("sine:440.5:0.25"), std::string("sine:100:0"), std::string("sine:200:1"),
             std::string("silence"), path }) {
        SCOPED_TRACE(spec);
        auto t = table();
        t.set("microphone", spec);
        auto parsed = parse(t);
        ASSERT_TRUE(parsed.has_value()) << parsed.error().message();
        EXPECT_EQ(static_cast<SoundSettings const&>(**parsed).microphone, spec);
    }
}

// A WAV that vanished between parsing and creating: the card is not made, and the error says why.
TEST_F(SoundKindTest, Create_MicrophoneGone)
{
    SoundSettings settings;
    settings.microphone = dir.file("gone.wav");
    auto device = kind.create("sound0", settings);
    ASSERT_FALSE(device.has_value());
    EXPECT_NE(device.error().message().find("gone.wav"), std::string::npos) << device.error().message();
}

} // namespace
} // namespace nk::test
