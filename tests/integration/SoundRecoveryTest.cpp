// SPDX-License-Identifier: MIT
// Sound driver failures. Nooks mode: every kind of fault, injected into the
// unmodified nksnd while mpg123 plays through it, is detected and recovered
// with the kernel unharmed; as in Nooks, the failed card is unregistered (the
// player's open file fails: what the seed calls a malfunction) and the
// restarted driver's card starts from its defaults, so a volume set before
// the failure is lost; the card then plays exactly again, and the failed
// instance left nothing behind. Native mode: the same fault takes the kernel
// process down.

#include "SoundMachine.h"

#include "harness/KernelProcess.h"
#include "nooks/module/IsolatedModule.h"

#include <csignal>
#include <filesystem>
#include <fstream>
#include <future>
#include <sys/mount.h>

namespace nk {
namespace {

struct SoundFault {
    char const* fault;
    char const* entry;
    int after; // the fault fires at this call of the entry (1: the first)
    char const* cause; // as `failures` reports it
};

void PrintTo(SoundFault const& fault, std::ostream* out) { *out << fault.fault << " in " << fault.entry; }

class SoundRecovery : public test::SoundMachine, public ::testing::WithParamInterface<SoundFault> {
protected:
    void SetUp() override { boot("nooks"); }

    std::string outcome()
    {
        auto failures = control({ { "command", "failures" } });
        return failures["failures"].empty() ? std::string() : failures["failures"][0].value("outcome", std::string());
    }
};

TEST_P(SoundRecovery, FaultWhilePlayingIsRecoveredAndTheNewCardStartsFromItsDefaults)
{
    auto mp3 = test::make_mp3(m_dir.path(), 4.0);
    ASSERT_FALSE(mp3.mp3.empty());
    set_volume(SOUND_MIXER_WRITE_PCM, 50);
    auto module_before = m_system->driver_of("sound0");
    ASSERT_TRUE(module_before);
    auto objects_before = dynamic_cast<IsolatedModule&>(*module_before).tracker().count();
    module_before.reset();

    auto armed = control({ { "command", "inject" }, { "driver", "nksnd" }, { "fault", GetParam().fault }, { "entry", GetParam().entry },
        { "after", GetParam().after } });
    ASSERT_TRUE(armed.value("ok", false)) << armed.dump();
    auto player = std::async(std::launch::async, [&] { return run({ "mpg123", "-q", "-o", "oss", "-a", dsp(), mp3.mp3 }); });
    ASSERT_TRUE(test::wait_until(std::chrono::seconds(30), [&] { return outcome() == "restarted"; }))
        << "the driver was not restarted: " << control({ { "command", "failures" } }).dump();
    auto failure = control({ { "command", "failures" } })["failures"][0];
    EXPECT_EQ(failure["cause"], GetParam().cause) << failure.dump();
    ASSERT_EQ(player.wait_for(std::chrono::seconds(30)), std::future_status::ready) << "mpg123 hangs on the failed card";
    auto played = player.get();
    // Nooks recovers the driver, not the application's session: the player's
    // file belonged to the failed card, so the player fails (what the seed
    // reports as a malfunction).
    EXPECT_FALSE(played.ok()) << "mpg123 finished on a card that failed under it";
    std::cout << "[ nooks    ] mpg123 through a " << GetParam().fault << " in " << GetParam().entry << ": "
              << (played.ok() ? "finished" : played.describe()) << "\n";

    // The restarted driver's card: back under the same name, with its own
    // defaults (the volume set before the failure is gone), playing exactly.
    ASSERT_TRUE(test::wait_until(std::chrono::seconds(10), [&] { return ::access(dsp().c_str(), F_OK) == 0; }));
    int fd = ::open(mixer().c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    int volume = -1;
    EXPECT_EQ(::ioctl(fd, SOUND_MIXER_READ_PCM, &volume), 0);
    ::close(fd);
    EXPECT_EQ(volume, 100 | (100 << 8)) << "the new card kept the old one's volume";
    auto again = run({ "mpg123", "-q", "-o", "oss", "-a", dsp(), mp3.mp3 });
    EXPECT_TRUE(again.ok()) << again.describe();
    auto comparison = test::compare_audio(test::read_wav(mp3.reference), heard());
    // The speaker recorded both runs: the second one is the whole decode,
    // so the recording ends with it exactly.
    auto whole = test::without_silence(test::read_wav(speaker_path()));
    auto reference = test::without_silence(test::read_wav(mp3.reference));
    ASSERT_GE(whole.size(), reference.size());
    auto tail = std::vector<sound::Frame16>(whole.end() - static_cast<ptrdiff_t>(reference.size()), whole.end());
    auto second = test::compare_audio(reference, tail);
    EXPECT_TRUE(second.equal) << second.describe() << " (whole recording: " << comparison.describe() << ")";

    // Nothing of the failed instance is left: the new one holds what the first held at the same point.
    auto module = m_system->driver_of("sound0");
    ASSERT_TRUE(module);
    auto* isolated = dynamic_cast<IsolatedModule*>(module.get());
    ASSERT_NE(isolated, nullptr);
    EXPECT_EQ(isolated->tracker().count(), objects_before);
}

INSTANTIATE_TEST_SUITE_P(Faults, SoundRecovery,
    ::testing::Values(SoundFault { "null-deref", "snd_pcm_ack", 20, "crash" }, SoundFault { "panic", "irq_handler", 30, "panic" },
        SoundFault { "hang", "snd_pcm_ack", 10, "livelock" }, SoundFault { "bad-param", "snd_pcm_trigger", 1, "bad-parameter" },
        SoundFault { "forbidden-syscall", "snd_pcm_prepare", 1, "forbidden-syscall" },
        SoundFault { "wild-write-kernel", "snd_pcm_hw_params", 1, "crash" }, SoundFault { "stack-corrupt", "irq_handler", 10, "crash" }),
    [](auto const& info) {
        std::string name = std::string(info.param.fault) + "_in_" + info.param.entry;
        std::ranges::replace(name, '-', '_');
        return name;
    });

// The baseline: natively the driver's fault is the kernel's, and the player's card dies with it.
TEST(NativeSoundCrash, FaultTakesTheKernelDown)
{
    NK_REQUIRE_ROOT();
    if (auto reason = test::missing_programs({ "mpg123", "sox", "lame" }); !reason.empty())
        GTEST_SKIP() << reason;
    test::TempDir dir { "nooks-native-sound" };
    auto sound_mount = dir.file("sound");
    auto config = dir.file("machine.toml");
    std::ofstream(config) << fmt::format("mode = \"native\"\nmount = \"{}\"\nsound_mount = \"{}\"\ncontrol = \"{}\"\ndisk = []\nnic = []\n"
                                         "[[sound]]\nname = \"sound0\"\n",
        dir.file("disks"), sound_mount, dir.file("control.sock"));
    auto mp3 = test::make_mp3(dir.path(), 3.0);
    ASSERT_FALSE(mp3.mp3.empty());
    auto started = harness::KernelProcess::start(
        { .nooks_binary = harness::find_nooks_binary(), .args = { "--config", config }, .log_path = dir.file("kernel.log") });
    ASSERT_TRUE(started) << started.error().message();
    auto kernel = std::move(*started);
    struct Unmount {
        std::string path;
        ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
    } unmount_sound { sound_mount }, unmount_disks { dir.file("disks") };
    ASSERT_TRUE(test::wait_until(std::chrono::seconds(10), [&] { return ::access((sound_mount + "/dsp").c_str(), F_OK) == 0; }));

    auto armed = control_request(dir.file("control.sock"),
        { { "command", "inject" }, { "driver", "nksnd" }, { "fault", "null-deref" }, { "entry", "snd_pcm_ack" }, { "after", 5 } });
    ASSERT_TRUE(armed);
    ASSERT_TRUE((*armed)["ok"].get<bool>()) << armed->dump();
    auto played = harness::run_command({ "mpg123", "-q", "-o", "oss", "-a", sound_mount + "/dsp", mp3.mp3 });
    ASSERT_TRUE(played);
    EXPECT_FALSE(played->ok()) << "mpg123 finished although the kernel died";
    ASSERT_TRUE(kernel->wait_exit(std::chrono::seconds(20))) << "the kernel survived a native driver fault";
    EXPECT_EQ(kernel->exit_description(), fmt::format("killed by signal {} ({})", SIGSEGV, strsignal(SIGSEGV)));
}

} // namespace
} // namespace nk
