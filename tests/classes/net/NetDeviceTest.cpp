// SPDX-License-Identifier: MIT
// The net layer against a scripted port (no driver, no NIC): registration
// checks, the transmit queue's batching, back-pressure and wake, delivery to
// the stack above, the rx mode and MTU rules, kill, and the watchdog's
// transmit timeout and receive stall.

#include "base/Clock.h"
#include "classes/net/NetLayer.h"
#include "kernel/Kernel.h"
#include "kernel/bus/BusDevice.h"
#include "kernel/KernelTestSupport.h"
#include "kernel/exec/Context.h"
#include "support/TestSupport.h"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>

namespace nk {
namespace {

using namespace std::chrono_literals;

using test::NullHardware;
using test::TestModule;

// Records what the layer asks of the "driver"; answers start_xmit from a script.
class ScriptedPort final : public NetDriverPort {
public:
    Result<int> open(NetDevice&) override
    {
        opens++;
        return open_answer;
    }
    Result<int> stop(NetDevice&) override
    {
        stops++;
        return 0;
    }
    Result<size_t> start_xmit_batch(NetDevice& device, std::span<Frame const* const> frames, std::span<int> answers) override
    {
        std::scoped_lock lock(mutex);
        batches.push_back(frames.size());
        // A "driver" that dies with a batch holding a frame of this length.
        if (fail_on_length > 0 && std::ranges::any_of(frames, [&](Frame const* f) { return f->size() == fail_on_length; })) {
            failed_batches++;
            return make_error(ErrorCode::DriverFailed, "the driver failed");
        }
        for (size_t i = 0; i < frames.size(); ++i) {
            if (busy_after >= 0 && sent.size() >= static_cast<size_t>(busy_after)) {
                answers[i] = NK_NETDEV_TX_BUSY;
                if (stop_on_busy)
                    device.stop_queue();
                if (on_busy)
                    on_busy();
                return i + 1;
            }
            answers[i] = NK_NETDEV_TX_OK;
            sent.push_back(*frames[i]);
        }
        return frames.size();
    }
    Result<void> set_rx_mode(NetDevice&, nk_net_rx_mode const& mode) override
    {
        modes.push_back(mode);
        return {};
    }
    Result<int> set_mac_address(NetDevice&, EthernetAddress const& mac) override
    {
        macs.push_back(mac);
        return mac_answer;
    }
    Result<int> change_mtu(NetDevice&, uint32_t mtu) override
    {
        mtus.push_back(mtu);
        return 0;
    }
    void tx_timed_out(NetDevice&, uint64_t) override { tx_timeouts++; }
    void rx_stalled(NetDevice&, uint64_t, uint64_t waiting) override
    {
        rx_stalls++;
        stalled_waiting = waiting;
    }

    std::mutex mutex;
    int open_answer { 0 };
    int mac_answer { 0 };
    int busy_after { -1 }; // frames taken before every answer is BUSY (-1: never)
    size_t fail_on_length { 0 }; // a batch with a frame of this length fails the driver (0: never)
    int failed_batches { 0 };
    bool stop_on_busy { false };
    std::function<void()> on_busy; // called with each BUSY answer
    std::atomic<int> opens { 0 };
    std::atomic<int> stops { 0 };
    std::atomic<int> tx_timeouts { 0 };
    std::atomic<int> rx_stalls { 0 };
    std::atomic<uint64_t> stalled_waiting { 0 };
    std::vector<size_t> batches;
    std::vector<Frame> sent;
    std::vector<nk_net_rx_mode> modes;
    std::vector<EthernetAddress> macs;
    std::vector<uint32_t> mtus;
};

class RecordingUpper final : public NetUpper {
public:
    void frame_received(std::span<std::byte const> frame) override
    {
        std::scoped_lock lock(mutex);
        frames.emplace_back(frame.begin(), frame.end());
    }
    void carrier_changed(bool on) override { carrier = on; }
    void queue_woken() override { wakes++; }

    std::mutex mutex;
    std::vector<Frame> frames;
    std::atomic<bool> carrier { false };
    std::atomic<int> wakes { 0 };
};

Frame frame_of(size_t size, uint8_t seed)
{
    Frame frame(size);
    for (size_t i = 0; i < size; ++i)
        frame[i] = std::byte(static_cast<uint8_t>(seed + i));
    return frame;
}

nk_netdev_params good_params()
{
    nk_netdev_params params {};
    uint8_t const mac[] = { 0x02, 0x6e, 0x6b, 0x00, 0x00, 0x01 };
    std::copy(std::begin(mac), std::end(mac), params.mac);
    params.mtu = 1500;
    params.min_mtu = 68;
    params.max_mtu = 9000;
    return params;
}

class NetDeviceTest : public ::testing::Test {
protected:
    void SetUp() override { boot({}); }

    void boot(NetLayer::Options options)
    {
        device.reset();
        net.reset();
        net = std::make_unique<NetLayer>(options);
        auto owned = std::make_unique<ScriptedPort>();
        port = owned.get();
        auto registered = net->register_device(module, &bus_device, good_params(), std::move(owned), &private_data);
        ASSERT_TRUE(registered) << registered.error().message();
        device = *registered;
        device->attach_upper(&upper);
    }

    std::unique_ptr<Kernel> kernel { Kernel::create({}).value() };
    TestModule module { *kernel };
    BusDevice bus_device { std::make_unique<NullHardware>("nic0"), kernel->irqs(), nullptr };
    int private_data { 0 };
    std::unique_ptr<NetLayer> net;
    ScriptedPort* port { nullptr };
    std::shared_ptr<NetDevice> device;
    RecordingUpper upper;
};

TEST_F(NetDeviceTest, Register_NamedAfterItsBusDevice)
{
    EXPECT_EQ(device->name(), "nic0");
    EXPECT_EQ(net->find("nic0"), device);
    EXPECT_EQ(device->private_data(), &private_data);
    EXPECT_EQ(format_ethernet_address(device->mac()), "02:6e:6b:00:00:01");
    EXPECT_FALSE(device->up());
    EXPECT_TRUE(device->queue_stopped()); // until the driver starts it
    EXPECT_EQ(net->devices_of(module), std::vector<std::string> { "nic0" });
    // A second net device on the same bus device is refused.
    auto again = net->register_device(module, &bus_device, good_params(), std::make_unique<ScriptedPort>(), nullptr);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code(), ErrorCode::AlreadyExists);
}

// Every bad parameter is refused with its name.
TEST_F(NetDeviceTest, Register_BadParamsNamed)
{
    auto expect_refused = [&](std::function<void(nk_netdev_params&)> spoil, std::string const& needle) {
        auto params = good_params();
        spoil(params);
        BusDevice other(std::make_unique<NullHardware>("nic9"), kernel->irqs(), nullptr);
        auto result = net->register_device(module, &other, params, std::make_unique<ScriptedPort>(), nullptr);
        ASSERT_FALSE(result) << needle;
        EXPECT_EQ(result.error().code(), ErrorCode::InvalidArgument);
        EXPECT_NE(result.error().message().find(needle), std::string::npos) << result.error().message();
    };
    expect_refused([](auto& p) { p.mac[0] = 0x01; }, "params.mac");
    expect_refused([](auto& p) { std::fill(std::begin(p.mac), std::end(p.mac), 0); }, "params.mac");
    expect_refused([](auto& p) { p.min_mtu = 10; }, "params.min_mtu");
    expect_refused([](auto& p) { p.max_mtu = 20000; }, "params.max_mtu");
    expect_refused([](auto& p) { p.mtu = 9001; }, "params.mtu");
    expect_refused([](auto& p) { p.features = 4; }, "params.features");
    auto no_device = net->register_device(module, nullptr, good_params(), std::make_unique<ScriptedPort>(), nullptr);
    ASSERT_FALSE(no_device);
}

// Open calls the driver, then programs the receive filter as the stack wants it.
TEST_F(NetDeviceTest, Open_CallsDriverThenRxMode)
{
    nk_net_rx_mode mode {};
    mode.flags = NK_NET_RX_PROMISC;
    ASSERT_TRUE(device->set_rx_mode(mode)); // remembered while down
    EXPECT_TRUE(port->modes.empty());
    ASSERT_TRUE(device->open());
    EXPECT_TRUE(device->up());
    EXPECT_EQ(port->opens, 1);
    ASSERT_EQ(port->modes.size(), 1u);
    EXPECT_EQ(port->modes[0].flags, NK_NET_RX_PROMISC);
    ASSERT_TRUE(device->open()); // already up: nothing
    EXPECT_EQ(port->opens, 1);
    ASSERT_TRUE(device->stop());
    EXPECT_FALSE(device->up());
    EXPECT_EQ(port->stops, 1);
}

TEST_F(NetDeviceTest, Open_DriverRefusalLeavesItDown)
{
    port->open_answer = -ENOMEM;
    auto opened = device->open();
    ASSERT_FALSE(opened);
    EXPECT_FALSE(device->up());
    EXPECT_EQ(opened.error().to_errno(), ENOMEM);
}

// A multicast list longer than the ABI carries becomes all-multicast.
TEST_F(NetDeviceTest, RxMode_LongListBecomesAllMulti)
{
    ASSERT_TRUE(device->open());
    nk_net_rx_mode mode {};
    mode.mc_count = NK_NET_MC_MAX + 1;
    ASSERT_TRUE(device->set_rx_mode(mode));
    ASSERT_EQ(port->modes.size(), 2u);
    EXPECT_EQ(port->modes[1].flags & NK_NET_RX_ALLMULTI, NK_NET_RX_ALLMULTI);
    EXPECT_EQ(port->modes[1].mc_count, 0u);
}

TEST_F(NetDeviceTest, MtuAndMac_CheckedThenDriverDecides)
{
    EXPECT_FALSE(device->change_mtu(67));
    EXPECT_FALSE(device->change_mtu(9001));
    EXPECT_TRUE(port->mtus.empty()); // refused before the driver saw them
    ASSERT_TRUE(device->change_mtu(9000));
    EXPECT_EQ(device->mtu(), 9000u);
    EthernetAddress multicast { 0x01, 0, 0, 0, 0, 1 };
    EXPECT_FALSE(device->set_mac_address(multicast));
    port->mac_answer = -EADDRNOTAVAIL;
    EthernetAddress other { 0x02, 0, 0, 0, 0, 9 };
    EXPECT_FALSE(device->set_mac_address(other));
    EXPECT_EQ(format_ethernet_address(device->mac()), "02:6e:6b:00:00:01"); // unchanged
    port->mac_answer = 0;
    ASSERT_TRUE(device->set_mac_address(other));
    EXPECT_EQ(device->mac(), other);
}

// Frames queued while the driver's queue is stopped go in one batch once it starts.
TEST_F(NetDeviceTest, Transmit_BatchesWhatWaited)
{
    ASSERT_TRUE(device->open());
    ASSERT_TRUE(device->enqueue(frame_of(60, 0)));
    // The queue is stopped until the driver starts it: frames wait.
    device->run_queue();
    EXPECT_TRUE(port->batches.empty());
    for (uint8_t i = 1; i < 10; ++i)
        ASSERT_TRUE(device->enqueue(frame_of(60 + i, i)));
    {
        // As the driver does at open: inside a crossing, the queue runs when it returns.
        CrossingScope crossing(module, CrossingScope::Kind::Process);
        device->start_queue();
        EXPECT_TRUE(port->batches.empty());
    }
    ASSERT_EQ(port->batches.size(), 1u);
    EXPECT_EQ(port->batches[0], 10u);
    ASSERT_EQ(port->sent.size(), 10u);
    EXPECT_EQ(port->sent[0], frame_of(60, 0)); // in order
    EXPECT_EQ(port->sent[3], frame_of(63, 3));
    EXPECT_EQ(upper.wakes, 1);
    auto stats = device->stats();
    EXPECT_EQ(stats.tx_packets, 10u);
    EXPECT_EQ(stats.tx_batches, 1u);
}

// BUSY from a driver that stopped its queue: the frame and those behind it
// stay queued, in order; the driver's wake sends them.
TEST_F(NetDeviceTest, Transmit_BusyKeepsFramesAndStops)
{
    ASSERT_TRUE(device->open());
    device->start_queue();
    port->busy_after = 3;
    port->stop_on_busy = true;
    for (uint8_t i = 0; i < 6; ++i)
        ASSERT_TRUE(device->enqueue(frame_of(100, i)));
    device->run_queue();
    EXPECT_EQ(port->sent.size(), 3u);
    EXPECT_TRUE(device->queue_stopped());
    EXPECT_EQ(device->queued(), 3u);
    EXPECT_NE(device->stalled_since_ns(), 0u);
    port->busy_after = -1;
    device->wake_queue(); // outside a crossing: runs at once
    ASSERT_EQ(port->sent.size(), 6u);
    for (uint8_t i = 0; i < 6; ++i)
        EXPECT_EQ(port->sent[i], frame_of(100, i)) << int(i);
    EXPECT_EQ(device->stats().tx_busy, 1u);
    EXPECT_EQ(device->stalled_since_ns(), 0u);
}

// Reproducer: an isolated driver stops its queue and answers BUSY, but its
// poll's wake (on another channel) reaches the kernel first, so the stop is
// dropped as stale and the queue is found running. The layer must try again
// (it used to stop the queue itself, which nothing woke: a stuck queue and a
// transmit timeout under iperf3).
TEST_F(NetDeviceTest, Transmit_BusyWithTheQueueRunning_TriesAgain)
{
    ASSERT_TRUE(device->open());
    device->start_queue();
    port->busy_after = 2;
    for (uint8_t i = 0; i < 5; ++i)
        ASSERT_TRUE(device->enqueue(frame_of(100, i)));
    // The room comes back while the driver answers BUSY (its wake came first).
    int busy_answers = 0;
    port->on_busy = [&] {
        if (++busy_answers == 2)
            port->busy_after = -1;
    };
    device->run_queue();
    ASSERT_EQ(port->sent.size(), 5u);
    for (uint8_t i = 0; i < 5; ++i)
        EXPECT_EQ(port->sent[i], frame_of(100, i)) << int(i);
    EXPECT_FALSE(device->queue_stopped());
    EXPECT_EQ(device->stats().tx_busy, 2u);
}

// A driver that answers BUSY again and again without stopping its queue is
// stopped by the layer (so the watchdog's transmit timeout sees it), not
// retried for ever.
TEST_F(NetDeviceTest, Transmit_BusyForeverWithoutStop_Stops)
{
    ASSERT_TRUE(device->open());
    device->start_queue();
    port->busy_after = 0;
    ASSERT_TRUE(device->enqueue(frame_of(100, 0)));
    device->run_queue();
    EXPECT_TRUE(device->queue_stopped());
    EXPECT_EQ(device->queued(), 1u);
    EXPECT_EQ(device->stats().tx_busy, 16u);
    EXPECT_NE(device->stalled_since_ns(), 0u);
}

// The queue holds tx_queue_length frames; more are dropped and counted.
TEST_F(NetDeviceTest, Transmit_FullQueueDrops)
{
    boot({ .tx_queue_length = 4 });
    ASSERT_TRUE(device->open());
    for (int i = 0; i < 4; ++i)
        EXPECT_TRUE(device->enqueue(frame_of(60, 1)));
    EXPECT_FALSE(device->enqueue(frame_of(60, 1)));
    EXPECT_EQ(device->stats().tx_dropped, 1u);
    ASSERT_TRUE(device->stop());
    EXPECT_FALSE(device->enqueue(frame_of(60, 1))); // down
    EXPECT_EQ(device->queued(), 0u);
}

TEST_F(NetDeviceTest, Receive_ToTheUpperLayer)
{
    device->netif_rx(frame_of(64, 5));
    device->netif_rx(frame_of(13, 5));   // shorter than a header
    device->netif_rx(frame_of(9019, 5)); // longer than any frame
    ASSERT_EQ(upper.frames.size(), 1u);
    EXPECT_EQ(upper.frames[0], frame_of(64, 5));
    auto stats = device->stats();
    EXPECT_EQ(stats.rx_packets, 1u);
    EXPECT_EQ(stats.rx_bytes, 64u);
    EXPECT_EQ(stats.rx_dropped, 2u);
    device->carrier_on();
    EXPECT_TRUE(upper.carrier.load());
    EXPECT_TRUE(device->carrier());
}

// Killed: everything is refused, frames dropped, and it is gone from the registry.
TEST_F(NetDeviceTest, Unregister_StopsAndKills)
{
    ASSERT_TRUE(device->open());
    ASSERT_TRUE(net->unregister_device(*device));
    EXPECT_EQ(port->stops, 1); // brought down first, as Linux does
    EXPECT_FALSE(device->alive());
    EXPECT_EQ(net->find("nic0"), nullptr);
    EXPECT_FALSE(device->enqueue(frame_of(60, 1)));
    device->netif_rx(frame_of(64, 1));
    EXPECT_TRUE(upper.frames.empty());
    EXPECT_FALSE(device->open());
    EXPECT_FALSE(net->unregister_device(*device));
}

// A failed driver's device is killed without calling the driver.
TEST_F(NetDeviceTest, ReleaseFailed_NoDriverCall)
{
    ASSERT_TRUE(device->open());
    net->release_module(module);
    EXPECT_EQ(port->stops, 0);
    EXPECT_FALSE(device->alive());
}

// The watchdog reports a queue stopped too long.
TEST_F(NetDeviceTest, Watchdog_TransmitTimeout)
{
    boot({ .tx_timeout = 50ms, .rx_stall_timeout = 0ms });
    ASSERT_TRUE(device->open());
    device->start_queue();
    device->stop_queue();
    ASSERT_TRUE(test::wait_until(5s, [&] { return port->tx_timeouts.load() >= 1; }));
    device->wake_queue();
    auto seen = port->tx_timeouts.load();
    std::this_thread::sleep_for(200ms); // four timeouts' worth: a running queue is not reported
    EXPECT_EQ(port->tx_timeouts.load(), seen);
}

// The watchdog reports frames for us arriving with none delivered.
// Without a retry limit (no shadow) a batch the driver failed on is dropped
// with it (its device is about to go).
TEST_F(NetDeviceTest, FailedBatch_DroppedWithoutRetries)
{
    ASSERT_TRUE(device->open());
    device->start_queue();
    port->fail_on_length = 61;
    for (uint8_t i = 0; i < 3; ++i)
        ASSERT_TRUE(device->enqueue(frame_of(60 + i, i)));
    device->run_queue();
    EXPECT_EQ(port->failed_batches, 1);
    EXPECT_EQ(device->queued(), 0u);
    EXPECT_EQ(device->stats().tx_dropped, 3u);
    EXPECT_EQ(device->stats().tx_retried, 0u);
}

// With a retry limit (a shadow driver's), the failed batch goes back to the
// queue; each of its frames is then handed over alone, so the one that kills
// the driver is named by the next failures and dropped alone at the limit;
// the others go through, in order.
TEST_F(NetDeviceTest, FailedBatch_RetriedAloneAndTheKillerDroppedAlone)
{
    device->set_tx_retry_limit(3);
    ASSERT_TRUE(device->open());
    device->start_queue();
    port->fail_on_length = 61;
    for (uint8_t i = 0; i < 3; ++i)
        ASSERT_TRUE(device->enqueue(frame_of(60 + i, i)));
    device->run_queue();
    EXPECT_EQ(port->failed_batches, 1);
    EXPECT_EQ(device->queued(), 3u);
    EXPECT_EQ(device->suspects_queued(), 3u);
    EXPECT_EQ(device->stats().tx_dropped, 0u);
    // The "driver's next instance": every run hands one suspect alone.
    for (int run = 0; run < 6 && device->queued() > 0; ++run)
        device->run_queue();
    EXPECT_EQ(device->queued(), 0u);
    // The killer was in flight alone at failures 2 and 3 (3 in all).
    EXPECT_EQ(port->failed_batches, 3);
    ASSERT_EQ(port->sent.size(), 2u);
    EXPECT_EQ(port->sent[0], frame_of(60, 0));
    EXPECT_EQ(port->sent[1], frame_of(62, 2));
    auto stats = device->stats();
    EXPECT_EQ(stats.tx_failed_alone, 1u);
    EXPECT_EQ(stats.tx_packets, 2u);
    // Suspects went one per batch; new frames batch again.
    port->fail_on_length = 0;
    for (uint8_t i = 0; i < 4; ++i)
        ASSERT_TRUE(device->enqueue(frame_of(70 + i, i)));
    device->run_queue();
    EXPECT_EQ(port->batches.back(), 4u);
}

// A held carrier: the driver's changes are recorded but the upper keeps what
// it saw, until the hold is released (by the driver's link coming up after a
// restart, or by the deadline).
TEST_F(NetDeviceTest, CarrierHold_UpperKeepsItsLinkUntilReleased)
{
    device->carrier_on();
    EXPECT_TRUE(upper.carrier);
    device->hold_carrier();
    device->carrier_off();
    EXPECT_FALSE(device->carrier());
    EXPECT_TRUE(upper.carrier) << "the stack saw the failed driver's carrier go";
    device->release_carrier_at(monotonic_ns() + 10'000'000'000ull);
    EXPECT_TRUE(device->carrier_held());
    device->carrier_on(); // the new instance's link comes up
    EXPECT_FALSE(device->carrier_held());
    EXPECT_TRUE(upper.carrier);
    EXPECT_GT(device->carrier_released_ns(), 0u);
    // A link that never comes back: released at the deadline, and the stack sees it.
    device->hold_carrier();
    device->carrier_off();
    device->release_carrier_at(monotonic_ns() + 1'000'000);
    device->expire_carrier_hold(monotonic_ns()); // not yet
    EXPECT_TRUE(device->carrier_held());
    std::this_thread::sleep_for(2ms);
    device->expire_carrier_hold(monotonic_ns());
    EXPECT_FALSE(device->carrier_held());
    EXPECT_FALSE(upper.carrier);
}

// The NIC's counters restart from zero with a reset: carried over, they keep counting up.
TEST_F(NetDeviceTest, HwStats_CarriedOverAReset)
{
    device->update_hw_stats({ 5, 1, 0, 2 });
    device->carry_hw_stats();
    device->update_hw_stats({ 1, 0, 0, 0 });
    auto hw = device->stats().hw;
    EXPECT_EQ(hw.rx_missed, 6u);
    EXPECT_EQ(hw.rx_errors, 1u);
    EXPECT_EQ(hw.hw_errors, 2u);
}

// A device is not blamed for frames its NIC took before it existed (the
// failed driver's device, in nooks mode): the watch starts from the NIC's
// count at the device's first look.
TEST_F(NetDeviceTest, Watchdog_NewDeviceStartsFromTheNicsCount)
{
    boot({ .tx_timeout = 0ms, .rx_stall_timeout = 50ms });
    net->set_rx_probe("nic0", [] { return uint64_t { 500 }; });
    ASSERT_TRUE(device->open());
    std::this_thread::sleep_for(400ms);
    EXPECT_EQ(port->rx_stalls.load(), 0);
}

TEST_F(NetDeviceTest, Watchdog_ReceiveStall)
{
    boot({ .tx_timeout = 0ms, .rx_stall_timeout = 50ms });
    std::atomic<uint64_t> wire { 0 };
    net->set_rx_probe("nic0", [&] { return wire.load(); });
    ASSERT_TRUE(device->open());
    // Frames arrive and are delivered: healthy.
    for (int i = 0; i < 20; ++i) {
        wire++;
        device->netif_rx(frame_of(64, 1));
        std::this_thread::sleep_for(10ms);
    }
    EXPECT_EQ(port->rx_stalls.load(), 0);
    // Frames keep arriving, none delivered: a stall, reported once.
    for (int i = 0; i < 30; ++i) {
        wire += 3;
        std::this_thread::sleep_for(10ms);
    }
    ASSERT_TRUE(test::wait_until(5s, [&] { return port->rx_stalls.load() >= 1; }));
    EXPECT_GT(port->stalled_waiting.load(), 0u);
    std::this_thread::sleep_for(200ms);
    EXPECT_EQ(port->rx_stalls.load(), 1);
}

} // namespace
} // namespace nk
