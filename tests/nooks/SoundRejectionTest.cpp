// SPDX-License-Identifier: MIT
// The sound class under isolation, with nktest's sound card (aux0, see
// nktest.h):
//   - every kind of bad parameter a driver can pass in a sound call, and
//     every bad answer of a sound entry point, is rejected before the kernel
//     acts on it, with a message that names the function and the parameter;
//     the driver is failed, everything it held is released (its card too),
//     the kernel serves on;
//   - a position report is checked against the stream's ring, and a stale
//     one (the stream has no ring) is dropped, when a call is forged;
//   - a driver that follows the rules goes through a card's whole life
//     (registration, mixer, playback and capture streams: configuration,
//     start, periods, position, close; unregistration with a stream open)
//     without failing, and leaves nothing of the sound class tracked.

#include "support/TestMachine.h"

#include "classes/sound/SoundLayer.h"
#include "nooks/recovery/Failure.h"
#include "nooks/wrappers/sound/SoundWrappers.h"

#include <nktest.h>

#include <vector>

namespace nk {
namespace {

using namespace std::chrono_literals;

// The kernel's sound class; one is registered if the machine's catalog has none.
SoundLayer* sound_layer(test::TestMachine& machine)
{
    if (auto* sound = machine.kernel().driver_class<SoundLayer>())
        return sound;
    auto registered = machine.kernel().register_class(std::make_unique<SoundLayer>());
    return registered ? dynamic_cast<SoundLayer*>(*registered) : nullptr;
}

// What the driver holds of the sound class: cards and their streams.
size_t sound_objects(IsolatedModule& module)
{
    size_t count = 0;
    for (auto const& object : module.tracker().list())
        count += object.type == snd_card_object || object.type == snd_pcm_object ? 1 : 0;
    return count;
}

std::vector<std::byte> silence(size_t bytes) { return std::vector<std::byte>(bytes, std::byte { 0 }); }

// A playback stream in S16_LE stereo (4-byte frames) with one fragment written: started.
void start_playback(PcmSubstream& pcm)
{
    (void)pcm.set_format(NK_SND_FMT_S16_LE);
    (void)pcm.set_channels(2);
    auto data = silence(pcm.config().fragment_bytes);
    (void)pcm.write(data, true, nullptr);
}

// ---- Bad parameters and bad answers ---------------------------------------------

// What the kernel does after the kind armed the driver.
enum class Then { Nothing, Open, Start, Position, Mixer };

struct SoundBadParam {
    char const* name;
    int kind; // enum nktest_bad_param
    FailureCause cause;
    std::vector<char const*> expected; // pieces of the failure message
    // The bad call is made inside the ioctl (which then fails); false: in an
    // entry point the kernel calls afterwards.
    bool call_fails { true };
    Then then { Then::Nothing };
};

void PrintTo(SoundBadParam const& param, std::ostream* os) { *os << param.name; }

class SoundRejection : public ::testing::TestWithParam<SoundBadParam> { };

TEST_P(SoundRejection, DriverFailedKernelUnharmed)
{
    auto const& param = GetParam();
    test::TempDir dir;
    auto machine = test::TestMachine::boot(dir, { .backend = test::Backend::Process });
    ASSERT_NE(machine, nullptr);
    auto* module = machine->isolated();
    ASSERT_NE(module, nullptr);
    auto* sound = sound_layer(*machine);
    ASSERT_NE(sound, nullptr);

    std::shared_ptr<SoundCard> held; // the card the test opened a stream of
    auto result = machine->ioctl(NKTEST_BAD_PARAM, static_cast<uint64_t>(param.kind));
    if (param.call_fails) {
        EXPECT_FALSE(result.has_value()) << "the call returned " << result.value_or(0);
    }
    if (param.then != Then::Nothing) {
        ASSERT_EQ(result.value_or(-1), 0) << "arming the misbehaviour";
        auto card = sound->find("aux0");
        ASSERT_NE(card, nullptr);
        auto* pcm = card->pcm(NK_SND_PLAYBACK);
        ASSERT_NE(pcm, nullptr);
        switch (param.then) {
        case Then::Open: EXPECT_FALSE(pcm->open().has_value()) << "open succeeded"; break;
        case Then::Start:
            NK_ASSERT_OK(pcm->open());
            start_playback(*pcm);
            break;
        case Then::Position:
            NK_ASSERT_OK(pcm->open());
            start_playback(*pcm);
            EXPECT_FALSE(pcm->position().has_value()) << "position succeeded";
            break;
        case Then::Mixer: EXPECT_FALSE(card->mixer_get(NK_SND_MIXER_MASTER).has_value()) << "mixer_get succeeded"; break;
        case Then::Nothing: break;
        }
        held = card;
    }

    ASSERT_TRUE(test::wait_until(10s, [&] { return module->failure().has_value(); })) << "the driver was not failed";
    auto failure = *module->failure();
    EXPECT_EQ(failure.cause, param.cause) << failure_cause_name(failure.cause) << ": " << failure.message;
    for (auto const* piece : param.expected)
        EXPECT_NE(failure.message.find(piece), std::string::npos) << "'" << piece << "' is not in: " << failure.message;
    EXPECT_EQ(module->state(), ModuleState::Failed);

    // Everything the driver held is released: its card and disk are gone,
    // nothing is tracked; the kernel serves on.
    ASSERT_TRUE(module->wait_released(10s));
    EXPECT_EQ(module->tracker().count(), 0u);
    EXPECT_EQ(sound->find("aux0"), nullptr);
    EXPECT_TRUE(sound->cards().empty());
    EXPECT_TRUE(sound->devices_of(*module).empty());
    EXPECT_EQ(test::block_layer(machine->system()).find("disk0"), nullptr);
    EXPECT_EQ(machine->kernel().bus().find_device("aux0")->driver(), nullptr);
    EXPECT_TRUE(machine->kernel().irqs().is_valid(1));
    if (held) {
        // The streams of a released card refuse everything.
        EXPECT_FALSE(held->alive());
        EXPECT_FALSE(held->pcm(NK_SND_PLAYBACK)->open().has_value());
        held->pcm(NK_SND_PLAYBACK)->close();
        held.reset();
    }
}

constexpr auto rejection = FailureCause::Rejection;
constexpr auto misuse = FailureCause::Misuse;

INSTANTIATE_TEST_SUITE_P(Kinds, SoundRejection,
    ::testing::Values(
        // nk_snd_card_register
        SoundBadParam { "NameUnterminated", NKTEST_BAD_SND_NAME_UNTERMINATED, rejection,
            { "nk_snd_card_register: params->name: not NUL-terminated" } },
        SoundBadParam { "NameEmpty", NKTEST_BAD_SND_NAME_EMPTY, rejection, { "nk_snd_card_register: params->name: empty" } },
        SoundBadParam { "UnknownStream", NKTEST_BAD_SND_STREAMS, rejection, { "nk_snd_card_register: ", "streams 0x4" } },
        SoundBadParam { "NoStreams", NKTEST_BAD_SND_NO_STREAMS, rejection, { "nk_snd_card_register: ", "streams 0x0" } },
        SoundBadParam { "UnknownControl", NKTEST_BAD_SND_CONTROLS, rejection, { "nk_snd_card_register: ", "mixer_controls 0x8" } },
        SoundBadParam { "UnknownFormat", NKTEST_BAD_SND_FORMATS, rejection, { "nk_snd_card_register: ", "hw[playback].formats 0x4" } },
        SoundBadParam { "ThreeChannels", NKTEST_BAD_SND_CHANNELS, rejection, { "nk_snd_card_register: ", "hw[playback].channels 1..3" } },
        SoundBadParam { "RatesReversed", NKTEST_BAD_SND_RATE, rejection, { "nk_snd_card_register: ", "hw[capture].rate 48000..8000" } },
        SoundBadParam { "TinyPeriod", NKTEST_BAD_SND_PERIOD, rejection, { "nk_snd_card_register: ", "hw[playback].period_bytes 8.." } },
        SoundBadParam { "BufferBelowThreePeriods", NKTEST_BAD_SND_BUFFER, rejection,
            { "nk_snd_card_register: ", "hw[capture].buffer_bytes_max 128" } },
        SoundBadParam { "NoPointer", NKTEST_BAD_SND_OPS, rejection, { "nk_snd_card_register: pcm_ops->pointer: missing" } },
        SoundBadParam { "ControlsWithoutMixer", NKTEST_BAD_SND_MIXER_OPS, rejection,
            { "nk_snd_card_register: mixer_ops->mixer_get: missing" } },
        SoundBadParam { "RegisterOnRegisterWindow", NKTEST_BAD_SND_DEV, rejection,
            { "nk_snd_card_register: dev: 0x", "is a register-window, not a device" } },
        SoundBadParam { "RegisterHoldingSpinlock", NKTEST_BAD_SND_ATOMIC_REGISTER, misuse,
            { "nk_snd_card_register: may sleep, called in atomic context" } },
        // Card handles
        SoundBadParam { "CardNotAHandle", NKTEST_BAD_SND_CARD_HANDLE, rejection,
            { "nk_snd_card_unregister: card: 0x1234 is not a kernel object handle" } },
        SoundBadParam { "CardWrongType", NKTEST_BAD_SND_CARD_TYPE, rejection,
            { "nk_snd_card_unregister: card: 0x", "is a register-window, not a snd-card" } },
        SoundBadParam { "CardReleased", NKTEST_BAD_SND_CARD_STALE, rejection,
            { "nk_snd_card_unregister: card: 0x", "is a snd-card this driver already released (use after free)" } },
        // Stream handles
        SoundBadParam { "PcmNotAHandle", NKTEST_BAD_SND_PCM_HANDLE, rejection,
            { "nk_snd_pcm_period_elapsed: pcm: 0x1234 is not a kernel object handle" } },
        SoundBadParam { "PcmIsCard", NKTEST_BAD_SND_PCM_IS_CARD, rejection,
            { "nk_snd_pcm_period_elapsed: pcm: 0x", "is a snd-card, not a snd-pcm" } },
        SoundBadParam { "XrunOnRegisterWindow", NKTEST_BAD_SND_XRUN_TYPE, rejection,
            { "nk_snd_pcm_xrun: pcm: 0x", "is a register-window, not a snd-pcm" } },
        // Entry points that answer wrong, or call what their context forbids
        SoundBadParam { "PointerPastRing", NKTEST_BAD_SND_POINTER_PAST_RING, rejection,
            { "snd_pcm_pointer returned ", "(not a frame boundary inside the ring" }, false, Then::Position },
        SoundBadParam { "PointerOffFrame", NKTEST_BAD_SND_POINTER_OFF_FRAME, rejection,
            { "snd_pcm_pointer returned 2 (not a frame boundary inside the ring", "in steps of 4" }, false, Then::Position },
        SoundBadParam { "TriggerAnswersPositive", NKTEST_BAD_SND_TRIGGER_ANSWER, rejection,
            { "snd_pcm_trigger returned 5 (not 0 or a negative errno)" }, false, Then::Start },
        SoundBadParam { "TriggerUnregisters", NKTEST_BAD_SND_TRIGGER_UNREGISTER, misuse,
            { "nk_snd_card_unregister: may sleep, called in atomic context" }, false, Then::Start },
        SoundBadParam { "OpenUnregisters", NKTEST_BAD_SND_OPEN_UNREGISTER, misuse,
            { "nk_snd_card_unregister: card 0x", "called from the card's own open (it waits for that to return)" }, false, Then::Open },
        SoundBadParam { "MixerTooLoud", NKTEST_BAD_SND_MIXER_LOUD, rejection,
            { "snd_mixer_get returned 25701 (not a mixer value" }, false, Then::Mixer },
        SoundBadParam { "HwParamsErrnoOutOfRange", NKTEST_BAD_SND_HW_PARAMS_ERRNO, rejection,
            { "snd_pcm_hw_params returned -5000 (not 0 or a negative errno)" }, false, Then::Start },
        SoundBadParam { "PeriodPastRing", NKTEST_BAD_SND_PERIOD_PAST_RING, rejection,
            { "nk_snd_pcm_period_elapsed: position ", ": not a frame boundary inside the ring" }, false, Then::Start },
        SoundBadParam { "PeriodOffFrame", NKTEST_BAD_SND_PERIOD_OFF_FRAME, rejection,
            { "nk_snd_pcm_period_elapsed: position 2: not a frame boundary inside the ring", "in steps of 4" }, false, Then::Start },
        SoundBadParam { "XrunPastRing", NKTEST_BAD_SND_XRUN_PAST_RING, rejection,
            { "nk_snd_pcm_xrun: position ", ": not a frame boundary inside the ring" }, false, Then::Start }),
    [](auto const& info) { return std::string(info.param.name); });

// ---- Forged position reports --------------------------------------------------------

// A position is checked against the ring the stream's port knows (from the
// hw_params the driver accepted); a report on a stream with no ring (its
// interrupt raced with hw_free or close) is dropped, not rejected.
TEST(SoundForgedCall, PositionsCheckedAgainstTheRing)
{
    test::TempDir dir;
    auto machine = test::TestMachine::boot(dir, { .backend = test::Backend::Process });
    ASSERT_NE(machine, nullptr);
    auto* module = machine->isolated();
    ASSERT_NE(module, nullptr);
    auto* sound = sound_layer(*machine);
    ASSERT_NE(sound, nullptr);
    ASSERT_EQ(machine->ioctl(NKTEST_SND_REGISTER).value_or(-1), 0);
    auto card = sound->find("aux0");
    ASSERT_NE(card, nullptr);
    auto* pcm = card->pcm(NK_SND_PLAYBACK);
    ASSERT_NE(pcm, nullptr);
    auto handle = pcm->object_handle();
    ASSERT_NE(handle, 0u);

    SoundWrappers wrappers(*module);
    auto forge = [&](abi::KernelCall id, uint64_t stream, uint32_t position) {
        abi::SndPcmPositionArgs args { stream, position, 0 };
        IncomingCall call { id, std::as_bytes(std::span(&args, 1)), 0 };
        ReplyPayload reply;
        return wrappers.handle(call, reply);
    };
    // No ring yet: dropped.
    EXPECT_TRUE(forge(abi::KernelCall::snd_pcm_period_elapsed, handle, 3).has_value());

    NK_ASSERT_OK(pcm->open());
    start_playback(*pcm);
    auto stats = pcm->stats();
    ASSERT_EQ(stats.state, PcmState::Running);
    uint32_t const ring = stats.config.fragment_bytes * (stats.config.fragments + 1);
    for (uint32_t position : { 2u, ring, ring + 4, 0xfffffffcu }) {
        for (auto id : { abi::KernelCall::snd_pcm_period_elapsed, abi::KernelCall::snd_pcm_xrun }) {
            auto handled = forge(id, handle, position);
            ASSERT_FALSE(handled.has_value()) << abi::name_of(id) << " at " << position << " accepted";
            EXPECT_EQ(failure_cause_of(handled.error().code()), FailureCause::Rejection);
            EXPECT_EQ(handled.error().message(),
                fmt::format("{}: position {}: not a frame boundary inside the ring (0 .. {} in steps of 4)", abi::name_of(id), position, ring - 1));
        }
    }
    EXPECT_EQ(pcm->stats().periods, 0u);
    // A good one acts.
    ASSERT_TRUE(forge(abi::KernelCall::snd_pcm_period_elapsed, handle, stats.config.fragment_bytes).has_value());
    EXPECT_EQ(pcm->stats().periods, 1u);
    EXPECT_EQ(pcm->stats().hw_bytes, stats.config.fragment_bytes);
    // A bad handle names the function.
    auto bad = forge(abi::KernelCall::snd_pcm_xrun, 0x1234, 0);
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().message(), "nk_snd_pcm_xrun: pcm: 0x1234 is not a kernel object handle");
    // After close the stream has no ring: a late report is dropped.
    pcm->close();
    EXPECT_TRUE(forge(abi::KernelCall::snd_pcm_period_elapsed, handle, 2).has_value());
    EXPECT_FALSE(module->failure().has_value());
    card.reset();
}

// ---- A driver that follows the rules ------------------------------------------------

class SoundLifecycle : public ::testing::TestWithParam<test::Backend> { };

TEST_P(SoundLifecycle, WellBehavedDriverRunsAndLeavesNothing)
{
    test::TempDir dir;
    auto machine = test::TestMachine::boot(dir, { .backend = GetParam() });
    ASSERT_NE(machine, nullptr);
    auto* module = machine->isolated();
    ASSERT_EQ(module != nullptr, GetParam() == test::Backend::Process);
    auto* sound = sound_layer(*machine);
    ASSERT_NE(sound, nullptr);
    auto seen = [&](nktest_snd_seen what) { return machine->ioctl(NKTEST_SND_SEEN, what).value_or(-1); };
    auto tracked_before = module != nullptr ? module->tracker().count() : 0;

    // Registered: the card and its two streams.
    ASSERT_EQ(machine->ioctl(NKTEST_SND_REGISTER).value_or(-1), 0);
    auto card = sound->find("aux0");
    ASSERT_NE(card, nullptr);
    EXPECT_EQ(&card->owner(), &machine->module());
    EXPECT_EQ(card->config().name, NKTEST_SND_NAME);
    EXPECT_EQ(card->config().streams, 3u);
    if (module != nullptr) {
        EXPECT_EQ(sound_objects(*module), 3u);
    }
    EXPECT_EQ(machine->ioctl(NKTEST_SND_EXERCISE).value_or(-100), 0);

    // The mixer.
    NK_ASSERT_OK(card->mixer_put(NK_SND_MIXER_PCM, NK_SND_MIXER_VALUE(30, 40)));
    auto volume = card->mixer_get(NK_SND_MIXER_PCM);
    ASSERT_TRUE(volume.has_value()) << volume.error().message();
    EXPECT_EQ(*volume, NK_SND_MIXER_VALUE(30, 40));
    EXPECT_EQ(seen(NKTEST_SND_SEEN_MIXER_PUTS), 1);
    EXPECT_EQ(seen(NKTEST_SND_SEEN_MIXER_GETS), 1);

    // Playback: configured, prepared, started by one fragment; a period; the position.
    auto* playback = card->pcm(NK_SND_PLAYBACK);
    ASSERT_NE(playback, nullptr);
    NK_ASSERT_OK(playback->open());
    EXPECT_EQ(seen(NKTEST_SND_SEEN_OPENS), 1);
    start_playback(*playback);
    auto fragment = playback->stats().config.fragment_bytes;
    EXPECT_EQ(playback->stats().state, PcmState::Running);
    EXPECT_EQ(seen(NKTEST_SND_SEEN_HW_PARAMS), 1);
    EXPECT_EQ(seen(NKTEST_SND_SEEN_PREPARES), 1);
    EXPECT_EQ(seen(NKTEST_SND_SEEN_STARTS), 1);
    EXPECT_GE(seen(NKTEST_SND_SEEN_ACKS), 1);
    EXPECT_EQ(machine->ioctl(NKTEST_SND_PERIOD, NK_SND_PLAYBACK).value_or(-1), static_cast<int>(fragment));
    ASSERT_TRUE(test::wait_until(5s, [&] { return playback->stats().periods == 1; })) << playback->stats().periods << " periods";
    auto position = playback->position();
    ASSERT_TRUE(position.has_value()) << position.error().message();
    EXPECT_EQ(position->bytes, fragment);
    EXPECT_GE(seen(NKTEST_SND_SEEN_POINTERS), 1);
    playback->close();
    EXPECT_EQ(seen(NKTEST_SND_SEEN_STOPS), 1);
    EXPECT_EQ(seen(NKTEST_SND_SEEN_HW_FREES), 1);
    EXPECT_EQ(seen(NKTEST_SND_SEEN_CLOSES), 1);

    // Capture starts when its trigger is enabled.
    auto* capture = card->pcm(NK_SND_CAPTURE);
    ASSERT_NE(capture, nullptr);
    NK_ASSERT_OK(capture->open());
    NK_ASSERT_OK(capture->set_trigger(true));
    EXPECT_EQ(capture->stats().state, PcmState::Running);
    EXPECT_EQ(seen(NKTEST_SND_SEEN_STARTS), 2);
    capture->close();
    EXPECT_EQ(seen(NKTEST_SND_SEEN_CLOSES), 2);

    // Unregistered with a stream open: the driver closes it first.
    NK_ASSERT_OK(playback->open());
    EXPECT_EQ(machine->ioctl(NKTEST_SND_UNREGISTER).value_or(-1), 0);
    EXPECT_FALSE(card->alive());
    EXPECT_EQ(sound->find("aux0"), nullptr);
    EXPECT_FALSE(playback->open().has_value());
    playback->close();
    card.reset();

    EXPECT_EQ(machine->module().state(), ModuleState::Live);
    if (module != nullptr) {
        EXPECT_FALSE(module->failure().has_value()) << module->failure()->message;
        EXPECT_EQ(sound_objects(*module), 0u);
        EXPECT_EQ(module->tracker().count(), tracked_before);
    }
    EXPECT_EQ(machine->ioctl(NKTEST_ECHO, 42).value_or(0), 42);
}

INSTANTIATE_TEST_SUITE_P(Backends, SoundLifecycle, ::testing::Values(test::Backend::Native, test::Backend::Process),
    [](auto const& info) { return std::string(test::backend_name(info.param)); });

} // namespace
} // namespace nk
