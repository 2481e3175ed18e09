// SPDX-License-Identifier: MIT
// Shadow mode: real audio programs play through sound driver failures of
// several kinds, injected one after another into the unmodified nksnd while
// they play, and each one finishes without an error; the speaker's output,
// silence removed, equals the reference exactly (no frame lost or played
// twice), at the rate, format and volume the application set; the silence a
// failure inserts is bounded by that recovery's time plus two periods.

#include "SoundMachine.h"

#include <fstream>
#include <future>

namespace nk {
namespace {

struct Injection {
    char const* fault;
    char const* entry;
    int after; // the fault fires at this call of the entry (1: the first)
};

class SoundShadow : public test::SoundMachine {
protected:
    void SetUp() override { boot("shadow"); }

    nlohmann::json failures() { return control({ { "command", "failures" } }).value("failures", nlohmann::json::array()); }

    // Arms each fault in turn, the next once the driver is back from the
    // last, while `playing` has not finished. Returns how many fired.
    size_t inject_in_turn(std::vector<Injection> const& faults, std::future<harness::CommandResult>& playing)
    {
        size_t fired = 0;
        for (auto const& fault : faults) {
            auto armed = control({ { "command", "inject" }, { "driver", "nksnd" }, { "fault", fault.fault }, { "entry", fault.entry },
                { "after", fault.after } });
            EXPECT_TRUE(armed.value("ok", false)) << armed.dump();
            bool finished = false;
            bool back = test::wait_until(std::chrono::seconds(20), [&] {
                auto list = failures();
                if (list.size() > fired && list.back().value("outcome", std::string()) == "restarted")
                    return true;
                finished = playing.wait_for(std::chrono::milliseconds(0)) == std::future_status::ready;
                return finished;
            });
            if (finished && failures().size() == fired)
                break; // the program ended first: the caller judges the count
            if (!back && !finished) {
                ADD_FAILURE() << fault.fault << " in " << fault.entry << " did not fire and recover within 20 s: " << failures().dump();
                break;
            }
            // The program may have ended right as the driver recovered.
            EXPECT_TRUE(test::wait_until(std::chrono::seconds(10), [&] { return failures().back().value("outcome", std::string()) == "restarted"; }));
            ++fired;
            if (playing.wait_for(std::chrono::milliseconds(0)) == std::future_status::ready)
                break;
        }
        return fired;
    }

    std::string events() const
    {
        std::ifstream in(card().events_path());
        return { std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>() };
    }

    // The silence of every underrun in the middle of the recording (the end's
    // is the drain), in ms, from the speaker's events.
    std::vector<double> gaps_ms() const
    {
        std::vector<double> gaps;
        std::ifstream in(card().events_path());
        double begin = -1;
        for (std::string line; std::getline(in, line);) {
            auto event = nlohmann::json::parse(line, nullptr, false);
            if (event.is_discarded())
                continue;
            auto name = event.value("event", std::string());
            if (name == "underrun_begin")
                begin = event.value("t_ms", 0.0);
            else if (name == "underrun_end" && begin >= 0) {
                gaps.push_back(event.value("t_ms", 0.0) - begin);
                begin = -1;
            }
        }
        return gaps;
    }

    // Every gap fits in a recovery plus two periods of `period_ms`.
    void expect_bounded_gaps(double period_ms)
    {
        double longest_recovery_ms = 0;
        for (auto const& failure : failures())
            longest_recovery_ms = std::max(longest_recovery_ms, failure.value("recovery_us", 0.0) / 1000);
        for (auto gap : gaps_ms())
            EXPECT_LE(gap, longest_recovery_ms + 2 * period_ms) << "a silence longer than a recovery (" << longest_recovery_ms
                                                                << " ms) plus two periods; the card's events:\n"
                                                                << events();
    }

    void expect_heard(std::vector<sound::Frame16> const& expected)
    {
        auto comparison = test::compare_audio(expected, heard());
        EXPECT_TRUE(comparison.equal) << comparison.describe() << "\nthe card's events:\n" << events() << "\nfailures: " << failures().dump();
        auto status = card().speaker().status();
        EXPECT_EQ(status.format.rate, 44100u);
        EXPECT_EQ(status.format.channels, 2u);
        EXPECT_EQ(status.format.format_name(), "S16_LE");
    }
};

std::vector<Injection> const several_kinds {
    { "null-deref", "snd_pcm_ack", 40 },
    { "panic", "irq_handler", 40 },
    { "stack-corrupt", "irq_handler", 30 },
    { "wild-write-kernel", "snd_pcm_ack", 30 },
};

TEST_F(SoundShadow, Mpg123Oss_PlaysExactlyThroughRepeatedFailures)
{
    auto mp3 = test::make_mp3(m_dir.path(), 8.0);
    ASSERT_FALSE(mp3.mp3.empty());
    auto player = std::async(std::launch::async, [&] { return run({ "mpg123", "-q", "-o", "oss", "-a", dsp(), mp3.mp3 }); });
    auto fired = inject_in_turn(several_kinds, player);
    auto played = player.get();
    EXPECT_TRUE(played.ok()) << played.describe();
    EXPECT_GE(fired, 3u) << "the player finished before the failures";
    std::cout << "[ shadow   ] mpg123 through " << fired << " driver failures: " << (played.ok() ? "finished" : played.describe()) << "\n";
    expect_heard(test::read_wav(mp3.reference));
    // mpg123's fragments: 4 KiB at 44.1 kHz S16 stereo, 23 ms each.
    expect_bounded_gaps(4096.0 / (44100 * 4) * 1000);
    auto status = control({ { "command", "list" } });
    auto cards = status["/classes/sound/shadow/sound_cards"_json_pointer];
    ASSERT_EQ(cards.size(), 1u) << status.dump();
    EXPECT_EQ(cards[0].value("failures", 0u), fired);
    EXPECT_FALSE(cards[0].value("active", true));
}

TEST_F(SoundShadow, VolumeSetBeforeTheFailures_IsKeptInTheOutput)
{
    set_volume(SOUND_MIXER_WRITE_PCM, 50);
    auto mp3 = test::make_mp3(m_dir.path(), 4.0);
    ASSERT_FALSE(mp3.mp3.empty());
    auto player = std::async(std::launch::async, [&] { return run({ "mpg123", "-q", "-o", "oss", "-a", dsp(), mp3.mp3 }); });
    auto fired = inject_in_turn({ { "null-deref", "snd_pcm_ack", 30 }, { "panic", "irq_handler", 30 } }, player);
    auto played = player.get();
    EXPECT_TRUE(played.ok()) << played.describe();
    EXPECT_EQ(fired, 2u);
    auto expected = test::read_wav(mp3.reference);
    for (auto& frame : expected) {
        frame.left = sound::apply_gain(frame.left, 50);
        frame.right = sound::apply_gain(frame.right, 50);
    }
    expect_heard(expected);
    EXPECT_EQ(card().speaker().status().pcm.left, 50u);
    int fd = ::open(mixer().c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    int volume = -1;
    EXPECT_EQ(::ioctl(fd, SOUND_MIXER_READ_PCM, &volume), 0);
    ::close(fd);
    EXPECT_EQ(volume, 50 | (50 << 8));
}

TEST_F(SoundShadow, Mpg123Alsa_PlaysExactlyThroughFailures)
{
    auto mp3 = test::make_mp3(m_dir.path(), 6.0);
    ASSERT_FALSE(mp3.mp3.empty());
    auto player = std::async(std::launch::async, [&] { return run({ "mpg123", "-q", "-o", "alsa", "-a", "nooks", mp3.mp3 }); });
    // The ALSA plugin's periods are long (16 KiB, 93 ms here): few interrupts.
    auto fired = inject_in_turn({ { "panic", "irq_handler", 10 }, { "null-deref", "irq_handler", 8 } }, player);
    auto played = player.get();
    EXPECT_TRUE(played.ok()) << played.describe();
    EXPECT_EQ(fired, 2u) << failures().dump();
    expect_heard(test::read_wav(mp3.reference));
}

TEST_F(SoundShadow, EspeakNg_SpeaksExactlyThroughFailures)
{
    if (auto reason = test::missing_programs({ "espeak-ng" }); !reason.empty())
        GTEST_SKIP() << reason;
    auto const* text = "Shadow drivers keep applications running through driver failures. The speech goes on, "
                       "word for word, while the sound driver is restarted underneath it, twice.";
    auto reference = m_dir.file("speech.wav");
    ASSERT_TRUE(run({ "espeak-ng", "-w", reference, text }).ok());
    auto speaker = std::async(std::launch::async, [&] { return run({ "espeak-ng", "-d", "nooks", text }); });
    auto fired = inject_in_turn({ { "null-deref", "snd_pcm_ack", 20 }, { "stack-corrupt", "irq_handler", 40 } }, speaker);
    auto spoken = speaker.get();
    EXPECT_TRUE(spoken.ok()) << spoken.describe();
    EXPECT_GE(fired, 1u);
    auto comparison = test::compare_audio(test::read_wav(reference), heard());
    EXPECT_TRUE(comparison.equal) << comparison.describe() << "\nthe card's events:\n" << events();
    EXPECT_EQ(card().speaker().status().format.rate, test::wav_rate(reference));
}

TEST_F(SoundShadow, GameLikeProgram_GoesOnThroughFailures)
{
    if (::access("/usr/lib/python3/dist-packages/pygame/__init__.py", R_OK) != 0)
        GTEST_SKIP() << "needs python3-pygame (scripts/install-deps.sh installs it)";
    auto script = m_dir.file("game.py");
    ASSERT_TRUE(test::write_game_script(script, 120));
    auto game = std::async(std::launch::async, [&] { return run({ "/usr/bin/python3", script }); });
    auto fired = inject_in_turn({ { "panic", "irq_handler", 60 }, { "null-deref", "snd_pcm_ack", 60 } }, game);
    auto played = game.get();
    EXPECT_TRUE(played.ok()) << played.describe();
    EXPECT_NE(played.output.find("played"), std::string::npos) << played.output;
    EXPECT_GE(fired, 1u);
    // Its mixing follows the clock, so there is no exact reference: the
    // effects go on being heard after the failures, at the game's rate.
    auto audio = test::without_silence(heard());
    EXPECT_GT(audio.size(), 44100u * 2) << "the effects were not heard";
    EXPECT_EQ(card().speaker().status().format.rate, 44100u);
}

TEST_F(SoundShadow, Arecord_RecordsThroughFailuresWithTheSourceInOrder)
{
    m_system->shutdown();
    m_system.reset();
    // Every frame of the source says which it is (left: the low 15 bits of
    // its index, right: the rest), so the recording shows exactly what it
    // kept and what it lost.
    auto source = m_dir.file("mic.wav");
    auto made = run({ "/usr/bin/python3", "-c",
        "import struct, sys, wave\n"
        "w = wave.open(sys.argv[1], 'wb'); w.setnchannels(2); w.setsampwidth(2); w.setframerate(44100)\n"
        "w.writeframes(b''.join(struct.pack('<hh', i & 0x7fff, i >> 15) for i in range(44100 * 12)))\n"
        "w.close()\n",
        source });
    ASSERT_TRUE(made.ok()) << made.describe();
    boot("shadow", source);
    auto recording = m_dir.file("recorded.wav");
    auto recorder = std::async(std::launch::async,
        [&] { return run({ "arecord", "-q", "-D", "nooks", "-f", "S16_LE", "-r", "44100", "-c", "2", "-d", "4", recording }); });
    auto fired = inject_in_turn({ { "panic", "irq_handler", 10 }, { "null-deref", "irq_handler", 8 } }, recorder);
    auto recorded = recorder.get();
    EXPECT_TRUE(recorded.ok()) << recorded.describe();
    EXPECT_GE(fired, 1u);
    auto got = test::read_wav(recording);
    EXPECT_EQ(got.size(), 44100u * 4) << "arecord -d 4 got a short recording";
    // The microphone runs in real time: what came while the driver was down
    // is not there (an overrun), but what is there is the source, in order,
    // nothing twice: the indices only go up, jumping once per failure at most.
    size_t jumps = 0;
    for (size_t i = 1; i < got.size(); ++i) {
        auto index = [&](size_t at) { return static_cast<int64_t>(got[at].left) + (static_cast<int64_t>(got[at].right) << 15); };
        ASSERT_GT(index(i), index(i - 1)) << "recorded frame " << i << " (source frame " << index(i) << ") comes after source frame "
                                          << index(i - 1) << ": out of order or twice";
        if (index(i) != index(i - 1) + 1) {
            ++jumps;
            std::cout << "[ shadow   ] arecord lost source frames " << index(i - 1) + 1 << " .. " << index(i) - 1 << " ("
                      << (index(i) - index(i - 1) - 1) * 1000.0 / 44100 << " ms)\n";
        }
    }
    EXPECT_LE(jumps, fired) << "the recording departs from the source more often than the driver failed";
}

} // namespace
} // namespace nk
