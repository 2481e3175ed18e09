// SPDX-License-Identifier: MIT
// The sound layer against a scripted port (no driver, no card): the test
// plays the card, moving its position and reporting periods and xruns by
// hand, so every step of the state machine, the ring and the limits is
// checked exactly: registration checks, OSS answers for what the card
// cannot do, lazy hw_params/prepare, the limit, start at a fragment,
// blocking and non-blocking writes and reads, drain, reset, trigger,
// positions, partial frames, a card that dies under a blocked writer, and
// the mixer.

#include "classes/sound/SoundLayer.h"
#include "kernel/Kernel.h"
#include "kernel/KernelTestSupport.h"
#include "kernel/bus/BusDevice.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <future>
#include <thread>
#include <vector>

namespace nk {
namespace {

using namespace std::chrono_literals;
using test::NullHardware;
using test::TestModule;

// Records what the layer asks of the "driver" and answers as a card would.
class ScriptedPort final : public SoundDriverPort {
public:
    Result<int> open(PcmSubstream&) override { return record("open", open_answer); }
    Result<int> close(PcmSubstream&) override { return record("close", 0); }
    Result<int> hw_params(PcmSubstream&, nk_snd_pcm_params const& p) override
    {
        std::lock_guard lock(mutex);
        params = p;
        calls.push_back("hw_params");
        return hw_params_answer;
    }
    Result<int> hw_free(PcmSubstream&) override { return record("hw_free", 0); }
    Result<int> prepare(PcmSubstream&) override { return record("prepare", 0); }
    Result<int> trigger(PcmSubstream&, int command) override
    {
        running = command == NK_SND_TRIGGER_START;
        return record(command == NK_SND_TRIGGER_START ? "start" : "stop", 0);
    }
    Result<uint32_t> pointer(PcmSubstream&) override
    {
        std::lock_guard lock(mutex);
        calls.push_back("pointer");
        return position.load();
    }
    Result<int> ack(PcmSubstream&, uint32_t l) override
    {
        limit = l;
        acks++;
        return 0;
    }
    Result<int> mixer_get(SoundCard&, uint32_t control) override { return control < 3 ? static_cast<int>(mixer[control]) : -EINVAL; }
    Result<int> mixer_put(SoundCard&, uint32_t control, uint32_t value) override
    {
        if (mixer_put_answer != 0)
            return mixer_put_answer;
        mixer[control] = value;
        return 0;
    }

    Result<int> record(char const* call, int answer)
    {
        std::lock_guard lock(mutex);
        calls.push_back(call);
        return answer;
    }
    std::vector<std::string> take_calls()
    {
        std::lock_guard lock(mutex);
        auto taken = calls;
        calls.clear();
        return taken;
    }
    size_t count(std::string const& call)
    {
        std::lock_guard lock(mutex);
        return static_cast<size_t>(std::count(calls.begin(), calls.end(), call));
    }

    std::mutex mutex;
    std::vector<std::string> calls;
    nk_snd_pcm_params params {};
    int open_answer { 0 };
    int hw_params_answer { 0 };
    int mixer_put_answer { 0 };
    std::atomic<uint32_t> position { 0 };
    std::atomic<uint32_t> limit { 0 };
    std::atomic<int> acks { 0 };
    std::atomic<bool> running { false };
    uint32_t mixer[3] { 0x6464, 0x6464, 0x6464 };
};

nk_snd_card_params good_params()
{
    nk_snd_card_params params {};
    std::strcpy(params.name, "Scripted");
    params.streams = 3;
    params.mixer_controls = 7;
    for (auto& hw : params.hw)
        hw = { NK_SND_FMT_U8 | NK_SND_FMT_S16_LE, 1, 2, 8000, 48000, 1u << 20, 64, 256u << 10 };
    return params;
}

std::vector<std::byte> pattern(size_t size, uint8_t seed)
{
    std::vector<std::byte> bytes(size);
    for (size_t i = 0; i < size; ++i)
        bytes[i] = std::byte(static_cast<uint8_t>(seed + i * 7));
    return bytes;
}

class PcmSubstreamTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        auto owned = std::make_unique<ScriptedPort>();
        port = owned.get();
        auto registered = sound.register_card(module, &bus_device, good_params(), std::move(owned), &private_data);
        ASSERT_TRUE(registered) << registered.error().message();
        card = *registered;
        playback = card->pcm(NK_SND_PLAYBACK);
        capture = card->pcm(NK_SND_CAPTURE);
        ASSERT_NE(playback, nullptr);
        ASSERT_NE(capture, nullptr);
    }

    // The ring as the card sees it, through the IOMMU.
    std::vector<std::byte> ring_bytes(uint32_t offset, uint32_t length)
    {
        auto pin = bus_device.iommu().pin(port->params.dma_addr + offset, length, DmaDirection::ToDevice);
        EXPECT_TRUE(pin) << (pin ? "" : pin.error().message());
        if (!pin)
            return {};
        return { pin->bytes().begin(), pin->bytes().end() };
    }
    void write_ring(uint32_t offset, std::span<std::byte const> bytes)
    {
        auto pin = bus_device.iommu().pin(port->params.dma_addr + offset, bytes.size(), DmaDirection::FromDevice);
        ASSERT_TRUE(pin);
        std::memcpy(pin->bytes().data(), bytes.data(), bytes.size());
    }
    // S16 stereo at 48 kHz with 1 KiB fragments, 4 of them (a 5 KiB ring).
    void configure(PcmSubstream& pcm)
    {
        ASSERT_TRUE(pcm.open());
        ASSERT_EQ(pcm.set_format(NK_SND_FMT_S16_LE).value(), NK_SND_FMT_S16_LE);
        ASSERT_EQ(pcm.set_channels(2).value(), 2u);
        ASSERT_EQ(pcm.set_rate(48000).value(), 48000u);
        ASSERT_EQ(pcm.set_fragments(10, 4).value().fragments, 4u);
    }

    std::unique_ptr<Kernel> kernel { Kernel::create({}).value() };
    TestModule module { *kernel };
    BusDevice bus_device { std::make_unique<NullHardware>("sound0"), kernel->irqs(), nullptr };
    int private_data { 0 };
    SoundLayer sound;
    ScriptedPort* port { nullptr };
    std::shared_ptr<SoundCard> card;
    PcmSubstream* playback { nullptr };
    PcmSubstream* capture { nullptr };
};

TEST_F(PcmSubstreamTest, Register_NamedAfterItsBusDeviceAndChecked)
{
    EXPECT_EQ(card->name(), "sound0");
    EXPECT_EQ(card->config().name, "Scripted");
    EXPECT_EQ(sound.find("sound0"), card);
    EXPECT_EQ(sound.devices_of(module), std::vector<std::string> { "sound0" });
    auto again = sound.register_card(module, &bus_device, good_params(), std::make_unique<ScriptedPort>(), nullptr);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code(), ErrorCode::AlreadyExists);

    struct Bad {
        void (*spoil)(nk_snd_card_params&);
        char const* named;
    } const bad[] = {
        { [](nk_snd_card_params& p) { p.name[0] = 0; }, "name" },
        { [](nk_snd_card_params& p) { std::memset(p.name, 'x', sizeof(p.name)); }, "name" },
        { [](nk_snd_card_params& p) { p.streams = 0; }, "streams" },
        { [](nk_snd_card_params& p) { p.streams = 4; }, "streams" },
        { [](nk_snd_card_params& p) { p.mixer_controls = 8; }, "mixer_controls" },
        { [](nk_snd_card_params& p) { p.hw[0].formats = 0x10; }, "formats" },
        { [](nk_snd_card_params& p) { p.hw[1].channels_max = 3; }, "channels" },
        { [](nk_snd_card_params& p) { p.hw[0].rate_min = 50000; }, "rate" },
        { [](nk_snd_card_params& p) { p.hw[0].period_bytes_min = 8; }, "period_bytes" },
        { [](nk_snd_card_params& p) { p.hw[0].buffer_bytes_max = 100; }, "buffer_bytes_max" },
    };
    BusDevice other { std::make_unique<NullHardware>("sound1"), kernel->irqs(), nullptr };
    for (auto const& [spoil, named] : bad) {
        auto params = good_params();
        spoil(params);
        auto refused = sound.register_card(module, &other, params, std::make_unique<ScriptedPort>(), nullptr);
        ASSERT_FALSE(refused) << named;
        EXPECT_EQ(refused.error().code(), ErrorCode::InvalidArgument);
        EXPECT_NE(refused.error().message().find(named), std::string::npos) << refused.error().message();
    }
}

TEST_F(PcmSubstreamTest, Open_SecondOpenerIsBusyUntilClose)
{
    ASSERT_TRUE(playback->open());
    auto second = playback->open();
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().to_errno(), EBUSY);
    EXPECT_TRUE(capture->open()); // the other stream is independent
    playback->close();
    EXPECT_TRUE(playback->open());
    EXPECT_EQ(port->count("open"), 3u);
    EXPECT_EQ(port->count("close"), 1u);
}

TEST_F(PcmSubstreamTest, Open_DriverRefusalIsItsErrno)
{
    port->open_answer = -EBUSY;
    auto opened = playback->open();
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().to_errno(), EBUSY);
    port->open_answer = 0;
    EXPECT_TRUE(playback->open());
}

TEST_F(PcmSubstreamTest, Configuration_AnswersWhatTheCardWillUse)
{
    ASSERT_TRUE(playback->open());
    auto defaults = playback->config();
    EXPECT_EQ(defaults.format, NK_SND_FMT_U8); // OSS's defaults
    EXPECT_EQ(defaults.channels, 1u);
    EXPECT_EQ(defaults.rate, 8000u);
    EXPECT_EQ(playback->set_rate(96000).value(), 48000u);
    EXPECT_EQ(playback->set_rate(4000).value(), 8000u);
    EXPECT_EQ(playback->set_rate(44100).value(), 44100u); // any rate in range is exact
    EXPECT_EQ(playback->set_channels(6).value(), 2u);
    EXPECT_EQ(playback->set_channels(0).value(), 1u);
    EXPECT_EQ(playback->set_format(0x40).value(), NK_SND_FMT_S16_LE);
    auto tiny = playback->set_fragments(2, 1).value();
    EXPECT_EQ(tiny.fragment_bytes, 64u); // the card's smallest period
    EXPECT_EQ(tiny.fragments, 2u);
    auto huge = playback->set_fragments(20, 0x7fff).value();
    EXPECT_EQ(huge.fragment_bytes, 256u << 10);
    EXPECT_LE((huge.fragments + 1) * huge.fragment_bytes, 1u << 20);
    // OSS's "as many as there can be": the application reads the layout back, and the pointer wraps in it.
    EXPECT_EQ(huge.pointer_ring, huge.fragment_bytes * huge.fragments);
    // A layout the card takes in size but not in count (the ALSA plugin never reads it back): the
    // pointer still wraps where the application thinks.
    auto many = playback->set_fragments(12, 512).value();
    EXPECT_EQ(many.fragment_bytes, 4096u);
    EXPECT_LT(many.fragments, 512u);
    EXPECT_EQ(many.pointer_ring, 4096u * 512u);
    EXPECT_TRUE(port->take_calls() == std::vector<std::string> { "open" }); // nothing reaches the driver before data
}

TEST_F(PcmSubstreamTest, Write_PreparesLazilyMovesTheLimitAndStartsAtAFragment)
{
    configure(*playback);
    port->take_calls();
    auto data = pattern(512, 1);
    ASSERT_EQ(playback->write(data, false, nullptr).value(), 512u);
    EXPECT_EQ(port->take_calls(), (std::vector<std::string> { "hw_params", "prepare" }));
    EXPECT_EQ(port->params.format, NK_SND_FMT_S16_LE);
    EXPECT_EQ(port->params.channels, 2u);
    EXPECT_EQ(port->params.rate, 48000u);
    EXPECT_EQ(port->params.period_bytes, 1024u);
    EXPECT_EQ(port->params.buffer_bytes, 5 * 1024u); // one fragment more than asked
    EXPECT_EQ(port->limit.load(), 512u);
    EXPECT_FALSE(port->running.load()); // less than a fragment: not started yet
    EXPECT_EQ(ring_bytes(0, 512), data);

    ASSERT_EQ(playback->write(pattern(512, 2), false, nullptr).value(), 512u);
    EXPECT_EQ(port->take_calls(), std::vector<std::string> { "start" });
    EXPECT_EQ(port->limit.load(), 1024u);
    EXPECT_EQ(playback->stats().state, PcmState::Running);
}

TEST_F(PcmSubstreamTest, Write_BlocksWhenFullUntilAPeriodElapses)
{
    configure(*playback);
    ASSERT_EQ(playback->write(pattern(4096, 3), false, nullptr).value(), 4096u); // the application's 4 fragments
    auto space = playback->space().value();
    EXPECT_EQ(space.bytes, 0u);
    EXPECT_EQ(space.fragstotal, 4u);
    auto full = playback->write(pattern(64, 4), true, nullptr);
    ASSERT_FALSE(full);
    EXPECT_EQ(full.error().to_errno(), EAGAIN);
    EXPECT_FALSE(playback->ready());

    auto blocked = std::async(std::launch::async, [&] { return playback->write(pattern(1024, 5), false, nullptr); });
    EXPECT_EQ(blocked.wait_for(100ms), std::future_status::timeout);
    playback->period_elapsed(1024); // the card played one fragment
    ASSERT_EQ(blocked.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(blocked.get().value(), 1024u);
    // The ring wrapped: the fragment went to offset 4096 (the fifth slot); the limit wrapped to 0.
    EXPECT_EQ(ring_bytes(4096, 1024), pattern(1024, 5));
    EXPECT_EQ(port->limit.load(), 0u);
    EXPECT_EQ(playback->stats().periods, 1u);
}

TEST_F(PcmSubstreamTest, Write_PlayedSpaceIsZeroedBeforeReuse)
{
    configure(*playback);
    auto first = pattern(2048, 6);
    ASSERT_TRUE(playback->write(first, false, nullptr));
    playback->period_elapsed(1024);
    ASSERT_TRUE(playback->write(pattern(4, 7), false, nullptr)); // any write zeroes what was played
    EXPECT_EQ(ring_bytes(0, 1024), std::vector<std::byte>(1024));
    // What the card has not played yet stays.
    EXPECT_EQ(ring_bytes(1024, 1024), std::vector<std::byte>(first.begin() + 1024, first.end()));
}

TEST_F(PcmSubstreamTest, Write_PartialFramesAreCarriedToTheNextWrite)
{
    configure(*playback); // 4-byte frames
    auto data = pattern(1030, 8);
    ASSERT_EQ(playback->write(std::span(data).first(3), false, nullptr).value(), 3u);
    EXPECT_EQ(port->acks.load(), 1); // prepare's limit only: no whole frame yet
    ASSERT_EQ(playback->write(std::span(data).subspan(3), false, nullptr).value(), 1027u);
    EXPECT_EQ(port->limit.load(), 1028u);
    EXPECT_EQ(ring_bytes(0, 1028), std::vector<std::byte>(data.begin(), data.begin() + 1028));
}

TEST_F(PcmSubstreamTest, Drain_PlaysEverythingThenStops)
{
    configure(*playback);
    ASSERT_TRUE(playback->write(pattern(1500, 9), false, nullptr));
    port->take_calls();
    auto drained = std::async(std::launch::async, [&] { return playback->drain(nullptr); });
    EXPECT_EQ(drained.wait_for(100ms), std::future_status::timeout);
    EXPECT_EQ(playback->stats().state, PcmState::Draining);
    playback->period_elapsed(1024);
    EXPECT_EQ(drained.wait_for(50ms), std::future_status::timeout);
    playback->xrun(1500); // the card ran into its limit: everything played
    ASSERT_EQ(drained.wait_for(5s), std::future_status::ready);
    EXPECT_TRUE(drained.get());
    EXPECT_EQ(port->take_calls(), std::vector<std::string> { "stop" });
    EXPECT_EQ(playback->stats().state, PcmState::Prepared);
    // The next write goes on where the card stopped, and starts it again.
    ASSERT_TRUE(playback->write(pattern(1024, 10), false, nullptr));
    EXPECT_EQ(port->take_calls(), std::vector<std::string> { "start" });
    EXPECT_EQ(port->limit.load(), 2524u);
}

TEST_F(PcmSubstreamTest, Drain_StartsAStreamShorterThanAFragment)
{
    configure(*playback);
    ASSERT_TRUE(playback->write(pattern(100, 11), false, nullptr));
    EXPECT_FALSE(port->running.load());
    auto drained = std::async(std::launch::async, [&] { return playback->drain(nullptr); });
    for (int i = 0; i < 100 && !port->running.load(); ++i)
        std::this_thread::sleep_for(10ms);
    EXPECT_TRUE(port->running.load());
    playback->xrun(100);
    ASSERT_EQ(drained.wait_for(5s), std::future_status::ready);
    EXPECT_TRUE(drained.get());
}

TEST_F(PcmSubstreamTest, Xrun_CountedAndLeftAtTheNextWrite)
{
    configure(*playback);
    ASSERT_TRUE(playback->write(pattern(1024, 12), false, nullptr));
    playback->xrun(1024);
    EXPECT_EQ(playback->stats().state, PcmState::Xrun);
    EXPECT_EQ(playback->stats().xruns, 1u);
    ASSERT_TRUE(playback->write(pattern(1024, 13), false, nullptr));
    EXPECT_EQ(playback->stats().state, PcmState::Running);
    EXPECT_EQ(port->limit.load(), 2048u);
}

TEST_F(PcmSubstreamTest, Reset_DropsDataAndPreparesAgain)
{
    configure(*playback);
    ASSERT_TRUE(playback->write(pattern(2048, 14), false, nullptr));
    port->take_calls();
    ASSERT_TRUE(playback->reset());
    EXPECT_EQ(port->take_calls(), std::vector<std::string> { "stop" });
    EXPECT_EQ(playback->position().value().bytes, 0u);
    ASSERT_TRUE(playback->write(pattern(64, 15), false, nullptr));
    EXPECT_EQ(port->take_calls(), (std::vector<std::string> { "hw_free", "hw_params", "prepare" }));
    EXPECT_EQ(port->limit.load(), 64u);
}

TEST_F(PcmSubstreamTest, NewRateWhileRunning_StopsAndAppliesAtTheNextStart)
{
    configure(*playback);
    ASSERT_TRUE(playback->write(pattern(2048, 16), false, nullptr));
    port->take_calls();
    ASSERT_EQ(playback->set_rate(44100).value(), 44100u);
    EXPECT_EQ(port->take_calls(), std::vector<std::string> { "stop" });
    ASSERT_TRUE(playback->write(pattern(1024, 17), false, nullptr));
    EXPECT_EQ(port->params.rate, 44100u);
    // The same value again changes nothing.
    port->take_calls();
    ASSERT_EQ(playback->set_rate(44100).value(), 44100u);
    EXPECT_TRUE(port->take_calls().empty());
}

TEST_F(PcmSubstreamTest, Trigger_OffKeepsItFromStartingOnRestarts)
{
    configure(*playback);
    ASSERT_TRUE(playback->set_trigger(false));
    ASSERT_TRUE(playback->write(pattern(2048, 18), false, nullptr));
    EXPECT_FALSE(port->running.load());
    ASSERT_TRUE(playback->set_trigger(true));
    EXPECT_TRUE(port->running.load());
    ASSERT_TRUE(playback->set_trigger(false));
    EXPECT_FALSE(port->running.load());
    EXPECT_EQ(playback->stats().state, PcmState::Prepared);
}

TEST_F(PcmSubstreamTest, Position_AsksTheCardAndWrapsInTheApplicationsRing)
{
    configure(*playback);
    ASSERT_TRUE(playback->write(pattern(4096, 19), false, nullptr));
    port->position = 3000;
    auto first = playback->position().value();
    EXPECT_EQ(first.bytes, 3000u);
    EXPECT_EQ(first.blocks, 2u);
    EXPECT_EQ(first.ptr, 3000u);
    ASSERT_TRUE(playback->write(pattern(2048, 20), false, nullptr)); // up to 6144: wraps the 5 KiB ring
    port->position = 6144 % 5120;
    auto second = playback->position().value();
    EXPECT_EQ(second.bytes, 6144u);
    EXPECT_EQ(second.blocks, 4u);
    EXPECT_EQ(second.ptr, 6144u % 4096u); // the application's ring is 4 x 1 KiB
}

TEST_F(PcmSubstreamTest, StalePosition_ArrivingAfterANewerOneIsIgnored)
{
    configure(*playback);
    ASSERT_TRUE(playback->write(pattern(4096, 28), false, nullptr));
    port->position = 2048;
    EXPECT_EQ(playback->position().value().bytes, 2048u);
    // The period report of 1024 comes late: it is behind, not a ring ahead.
    playback->period_elapsed(1024);
    EXPECT_EQ(playback->stats().hw_bytes, 2048u);
    EXPECT_EQ(playback->space().value().bytes, 2048u); // unplayed data is not taken for free space
}

TEST_F(PcmSubstreamTest, Capture_ReadStartsTheStreamAndGetsWhatTheCardWrote)
{
    configure(*capture);
    auto reader = std::async(std::launch::async, [&] {
        std::vector<std::byte> got(1024);
        auto read = capture->read(got, false, nullptr);
        return std::make_pair(read, got);
    });
    for (int i = 0; i < 200 && !port->running.load(); ++i)
        std::this_thread::sleep_for(5ms);
    ASSERT_TRUE(port->running.load());
    EXPECT_EQ(port->limit.load(), 4096u); // the capacity: everything but one fragment is free
    auto samples = pattern(1024, 21);
    write_ring(0, samples);
    capture->period_elapsed(1024);
    ASSERT_EQ(reader.wait_for(5s), std::future_status::ready);
    auto [read, got] = reader.get();
    ASSERT_TRUE(read);
    EXPECT_EQ(*read, 1024u);
    EXPECT_EQ(got, samples);
    EXPECT_EQ(port->limit.load(), (1024u + 4096u) % 5120u);
    std::vector<std::byte> more(16);
    auto empty = capture->read(more, true, nullptr);
    ASSERT_FALSE(empty);
    EXPECT_EQ(empty.error().to_errno(), EAGAIN);
}

TEST_F(PcmSubstreamTest, Kill_WakesABlockedWriterAndRefusesEverything)
{
    configure(*playback);
    ASSERT_TRUE(playback->write(pattern(4096, 22), false, nullptr));
    auto blocked = std::async(std::launch::async, [&] { return playback->write(pattern(1024, 23), false, nullptr); });
    EXPECT_EQ(blocked.wait_for(100ms), std::future_status::timeout);
    port->take_calls();
    sound.release_card(*card); // its driver failed
    ASSERT_EQ(blocked.wait_for(5s), std::future_status::ready);
    auto failed = blocked.get();
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().to_errno(), EIO);
    EXPECT_FALSE(playback->space());
    EXPECT_FALSE(playback->drain(nullptr));
    EXPECT_FALSE(card->mixer_get(NK_SND_MIXER_MASTER));
    playback->close();
    EXPECT_TRUE(port->take_calls().empty()); // the failed driver is never called
    EXPECT_EQ(sound.find("sound0"), nullptr);
}

TEST_F(PcmSubstreamTest, Interrupted_BlockedWriteGivesUp)
{
    configure(*playback);
    ASSERT_TRUE(playback->write(pattern(4096, 24), false, nullptr));
    std::atomic<bool> interrupted { false };
    auto blocked = std::async(std::launch::async, [&] { return playback->write(pattern(1024, 25), false, &interrupted); });
    EXPECT_EQ(blocked.wait_for(100ms), std::future_status::timeout);
    interrupted = true;
    playback->wake();
    ASSERT_EQ(blocked.wait_for(5s), std::future_status::ready);
    auto result = blocked.get();
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().to_errno(), EINTR);
}

TEST_F(PcmSubstreamTest, Unregister_ClosesOpenStreamsInTheDriver)
{
    configure(*playback);
    ASSERT_TRUE(playback->write(pattern(2048, 26), false, nullptr));
    port->take_calls();
    ASSERT_TRUE(sound.unregister_card(*card));
    EXPECT_EQ(port->take_calls(), (std::vector<std::string> { "stop", "hw_free", "close" }));
    EXPECT_FALSE(playback->write(pattern(4, 27), false, nullptr));
}

TEST_F(PcmSubstreamTest, Mixer_PassesThroughClampsAndRecords)
{
    EXPECT_EQ(card->mixer_get(NK_SND_MIXER_PCM).value(), 0x6464u);
    ASSERT_TRUE(card->mixer_put(NK_SND_MIXER_PCM, NK_SND_MIXER_VALUE(50, 200)));
    EXPECT_EQ(port->mixer[NK_SND_MIXER_PCM], NK_SND_MIXER_VALUE(50, 100));
    EXPECT_EQ(card->mixer_setting(NK_SND_MIXER_PCM), NK_SND_MIXER_VALUE(50, 100));
    EXPECT_EQ(card->mixer_setting(NK_SND_MIXER_MASTER), std::nullopt);
    EXPECT_EQ(card->mixer_get(7).error().code(), ErrorCode::NotFound);
    port->mixer_put_answer = -EINVAL;
    EXPECT_FALSE(card->mixer_put(NK_SND_MIXER_MASTER, 0));
}

} // namespace
} // namespace nk

namespace nk {
namespace {

// --- suspension and resume (the shadow driver's side) ------------------------

TEST_F(PcmSubstreamTest, Suspended_WritesWaitSpaceIsFullAndThePositionHolds)
{
    configure(*playback);
    ASSERT_TRUE(playback->write(pattern(2048, 40), false, nullptr));
    port->position = 1000;
    EXPECT_EQ(playback->position().value().bytes, 1000u);
    playback->suspend(true, 2048);
    EXPECT_TRUE(playback->suspended());
    port->take_calls();
    auto refused = playback->write(pattern(64, 41), true, nullptr);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().to_errno(), EAGAIN);
    EXPECT_EQ(playback->space().value().bytes, 0u);
    EXPECT_FALSE(playback->ready());
    EXPECT_EQ(playback->position().value().bytes, 1000u);
    // Configuration is recorded and answered; nothing reaches the driver.
    EXPECT_TRUE(playback->set_trigger(true));
    EXPECT_TRUE(port->take_calls().empty());
    // The card plays what it was handed: 1048 bytes more at 192 kB/s, about 5 ms.
    auto drained = playback->drained_at_ns();
    EXPECT_GT(drained, 0u);
    auto blocked = std::async(std::launch::async, [&] { return playback->write(pattern(64, 42), false, nullptr); });
    EXPECT_EQ(blocked.wait_for(300ms), std::future_status::timeout);
    ASSERT_TRUE(playback->resume_in_driver());
    ASSERT_EQ(blocked.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(blocked.get().value(), 64u);
}

TEST_F(PcmSubstreamTest, Resume_UnplayedDataGoesWhereTheResetCardStartsAndNothingPlaysTwice)
{
    configure(*playback);
    ASSERT_TRUE(playback->write(pattern(4096, 43), false, nullptr));
    playback->period_elapsed(1024);
    ASSERT_TRUE(playback->write(pattern(1024, 44), false, nullptr)); // offsets 4096..5120; appl 5120
    // The driver had taken the limit 4096 and started the card: the card
    // plays up to there on its own; 4096..5120 is what is left to play.
    playback->suspend(true, 4096);
    auto writer = std::async(std::launch::async, [&] { return playback->write(pattern(512, 45), false, nullptr); });
    EXPECT_EQ(writer.wait_for(100ms), std::future_status::timeout);
    port->take_calls();
    port->position = 0; // the new instance's card, reset
    auto resumed = playback->resume_in_driver();
    ASSERT_TRUE(resumed) << resumed.error().message();
    EXPECT_TRUE(*resumed);
    EXPECT_EQ(port->take_calls(), (std::vector<std::string> { "open", "hw_params", "prepare", "start" }));
    ASSERT_EQ(writer.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(writer.get().value(), 512u);
    EXPECT_EQ(ring_bytes(0, 1024), pattern(1024, 44)); // the unplayed data, at the card's start
    EXPECT_EQ(ring_bytes(1024, 512), pattern(512, 45)); // then what came while the driver was down
    EXPECT_EQ(ring_bytes(1536, 3584), std::vector<std::byte>(3584)); // silence, not the played data
    EXPECT_EQ(port->limit.load(), 1536u);
    auto stats = playback->stats();
    EXPECT_EQ(stats.hw_bytes, 4096u); // counted as played: the card played it
    EXPECT_EQ(stats.appl_bytes, 5632u);
    EXPECT_EQ(stats.state, PcmState::Running);
    playback->period_elapsed(1024);
    EXPECT_EQ(playback->stats().hw_bytes, 5120u);
}

TEST_F(PcmSubstreamTest, Resume_ACardNeverStartedCountsNothingAsPlayed)
{
    configure(*playback);
    ASSERT_TRUE(playback->write(pattern(512, 46), false, nullptr)); // less than a fragment: not started
    playback->suspend(false, 512);
    EXPECT_EQ(playback->drained_at_ns(), 0u);
    ASSERT_TRUE(playback->resume_in_driver());
    EXPECT_EQ(playback->stats().hw_bytes, 0u);
    EXPECT_EQ(ring_bytes(0, 512), pattern(512, 46));
    EXPECT_EQ(port->limit.load(), 512u);
}

TEST_F(PcmSubstreamTest, Position_AWholeRingAtOnceIsShownInSteps)
{
    configure(*playback);
    ASSERT_TRUE(playback->write(pattern(4096, 47), false, nullptr));
    EXPECT_EQ(playback->position().value().bytes, 0u);
    playback->suspend(true, 4096); // the card plays all of it while its driver is down
    port->position = 0;
    ASSERT_TRUE(playback->resume_in_driver());
    EXPECT_EQ(playback->stats().hw_bytes, 4096u);
    // 4096 bytes is the application's whole ring: its `ptr` would not move.
    auto first = playback->position().value();
    EXPECT_EQ(first.bytes, 4092u);
    EXPECT_EQ(first.ptr, 4092u);
    auto second = playback->position().value();
    EXPECT_EQ(second.bytes, 4096u);
    EXPECT_EQ(second.ptr, 0u);
}

TEST_F(PcmSubstreamTest, Resume_CaptureKeepsWhatWasNotReadYet)
{
    configure(*capture);
    std::vector<std::byte> got(1024);
    auto reader = std::async(std::launch::async, [&] { return capture->read(got, false, nullptr); });
    for (int i = 0; i < 200 && !port->running.load(); ++i)
        std::this_thread::sleep_for(5ms);
    ASSERT_TRUE(port->running.load());
    auto samples = pattern(2048, 48);
    write_ring(0, samples);
    capture->period_elapsed(2048);
    ASSERT_EQ(reader.wait_for(5s), std::future_status::ready);
    ASSERT_EQ(reader.get().value(), 1024u); // 1024 bytes captured and not read yet
    capture->suspend(true, port->limit.load());
    port->position = 0;
    ASSERT_TRUE(capture->resume_in_driver());
    // The new card writes from offset 0 on (the count 2048), free up to the
    // unread bytes, which sit just before it (offsets 4096..5120).
    EXPECT_EQ(port->limit.load(), (1024u + 4096u - 2048u) % 5120u);
    std::vector<std::byte> rest(1024);
    ASSERT_EQ(capture->read(rest, true, nullptr).value(), 1024u);
    EXPECT_EQ(rest, std::vector<std::byte>(samples.begin() + 1024, samples.end()));
}

} // namespace
} // namespace nk
