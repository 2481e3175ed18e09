// SPDX-License-Identifier: MIT
// The emulated segment is a hub: every frame reaches every other station,
// unchanged, never its sender; bad frames are refused; a detached station
// gets nothing more, even while another thread is sending.

#include "devices/nic/Ethernet.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace nk {
namespace {

class Recorder final : public EthernetStation {
public:
    void receive(std::span<std::byte const> frame) override
    {
        std::scoped_lock lock(mutex);
        frames.emplace_back(frame.begin(), frame.end());
    }
    size_t count()
    {
        std::scoped_lock lock(mutex);
        return frames.size();
    }

    std::mutex mutex;
    std::vector<std::vector<std::byte>> frames;
};

std::vector<std::byte> frame_of(size_t size, uint8_t seed)
{
    std::vector<std::byte> frame(size);
    for (size_t i = 0; i < size; ++i)
        frame[i] = std::byte(static_cast<uint8_t>(seed + i));
    return frame;
}

TEST(EthernetSegment, FloodsToEveryOtherStation)
{
    EthernetSegment segment("test");
    Recorder a, b, c;
    auto pa = segment.attach(a, "a");
    auto pb = segment.attach(b, "b");
    auto pc = segment.attach(c, "c");
    auto frame = frame_of(60, 7);
    pa->send(frame);
    EXPECT_EQ(a.count(), 0u);
    ASSERT_EQ(b.count(), 1u);
    ASSERT_EQ(c.count(), 1u);
    EXPECT_EQ(b.frames[0], frame);
    EXPECT_EQ(c.frames[0], frame);
    auto stats = segment.stats();
    EXPECT_EQ(stats.frames, 1u);
    EXPECT_EQ(stats.deliveries, 2u);
}

TEST(EthernetSegment, RefusesFramesOutsideTheSizes)
{
    EthernetSegment segment("test");
    Recorder a, b;
    auto pa = segment.attach(a, "a");
    auto pb = segment.attach(b, "b");
    pa->send(frame_of(EthernetSegment::min_frame - 1, 1));
    pa->send(frame_of(EthernetSegment::max_frame + 1, 1));
    pa->send(frame_of(EthernetSegment::min_frame, 1));
    pa->send(frame_of(EthernetSegment::max_frame, 1));
    EXPECT_EQ(b.count(), 2u);
    EXPECT_EQ(segment.stats().bad_frames, 2u);
}

TEST(EthernetSegment, DetachedStationGetsNothingMore)
{
    EthernetSegment segment("test");
    Recorder a, b;
    auto pa = segment.attach(a, "a");
    auto pb = segment.attach(b, "b");
    pa->send(frame_of(64, 1));
    pb.reset();
    pa->send(frame_of(64, 2));
    EXPECT_EQ(b.count(), 1u);
}

// Race reproducer shape: a station detaches while another thread floods; once
// its port is gone its receive() is never called (it is destroyed right after).
TEST(EthernetSegment, DetachWhileSendingNeverCallsTheGoneStation)
{
    EthernetSegment segment("test");
    Recorder sender_station;
    auto sender = segment.attach(sender_station, "sender");
    std::atomic<bool> stop { false };
    std::thread flood([&] {
        auto frame = frame_of(100, 3);
        while (!stop.load())
            sender->send(frame);
    });
    for (int round = 0; round < 200; ++round) {
        auto station = std::make_unique<Recorder>();
        auto port = segment.attach(*station, "victim");
        std::this_thread::yield();
        port.reset();
        auto seen = station->count();
        std::this_thread::yield();
        EXPECT_EQ(station->count(), seen) << "round " << round;
        station.reset(); // a call after this would be a use after free (ASan)
    }
    stop = true;
    flood.join();
}

// A port may outlive its segment.
TEST(EthernetSegment, PortOutlivesSegment)
{
    Recorder a;
    std::unique_ptr<EthernetPort> port;
    {
        EthernetSegment segment("test");
        port = segment.attach(a, "a");
    }
    port->send(frame_of(64, 1));
    port.reset();
}

} // namespace
} // namespace nk
