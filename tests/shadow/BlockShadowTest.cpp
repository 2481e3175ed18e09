// SPDX-License-Identifier: MIT
// The block shadow driver: applications' I/O rides through driver failures.

#include "ShadowFixture.h"
#include "control/ControlServer.h"

#include <hw/nkdisk.h>

#include <atomic>

namespace nk {
namespace {

using test::pattern;

class BlockShadow_ : public test::ShadowFixture {
protected:
    void SetUp() override { boot(); }
};

// A stream of writes and flushes across one crash of each kind: no request
// fails, the same disk object serves throughout, the data is all there.
TEST_F(BlockShadow_, CrashesUnderLoad_NoErrorSameDiskDataIntact)
{
    constexpr size_t chunk = 64 * 1024;
    constexpr int chunks = 256; // 16 MiB
    std::atomic<int> errors { 0 };
    std::atomic<int> progress { 0 };
    std::atomic<bool> faults_done { false };
    // The writer goes round the disk area until every fault has fired (at least once
    // round), so a slow test thread cannot arm a fault after the workload ended.
    std::thread writer([&] {
        for (int n = 0; n < chunks || !faults_done; ++n) {
            int i = n % chunks;
            if (!block_io::write(*disk, uint64_t(i) * chunk, pattern(chunk, uint32_t(i)), false))
                errors++;
            if (i % 16 == 15 && !block_io::flush(*disk))
                errors++;
            progress = n + 1;
        }
    });
    test::StopAndJoin join_writer(writer, faults_done);
    std::vector<nlohmann::json> faults { { { "fault", "null-deref" }, { "entry", "blk_queue_rq" } },
        { { "fault", "panic" }, { "entry", "irq_handler" } }, { { "fault", "hang" }, { "entry", "blk_queue_rq" } },
        { { "fault", "wild-write-own" }, { "entry", "irq_handler" } }, { { "fault", "forbidden-syscall" }, { "entry", "blk_queue_rq" } },
        { { "fault", "bad-param" }, { "entry", "blk_queue_rq" } } };
    unsigned expected = 0;
    for (auto const& fault : faults) {
        // Space the faults through the workload.
        auto target = (static_cast<int>(expected) + 1) * chunks / static_cast<int>(faults.size() + 1);
        while (progress < target)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        inject(fault);
        ++expected;
        ASSERT_TRUE(wait_restarts(expected)) << "fault " << fault.dump() << " was not recovered";
    }
    faults_done = true;
    writer.join();
    EXPECT_EQ(errors.load(), 0);
    EXPECT_GE(restarts(), 1u);
    EXPECT_EQ(test::find_disk(*system, "disk0"), disk); // the same disk all along
    EXPECT_EQ(disk->queue().stats().failed, 0u);
    for (int i = 0; i < chunks; ++i) {
        std::vector<std::byte> back(chunk);
        ASSERT_TRUE(block_io::read(*disk, uint64_t(i) * chunk, back));
        ASSERT_EQ(back, pattern(chunk, uint32_t(i))) << "chunk " << i;
    }
    auto status = shadow_status();
    EXPECT_EQ(status.failures, restarts());
    EXPECT_FALSE(status.active);
}

// What applications configured survives the driver: the write-cache setting
// is replayed into the new instance (and reaches the controller again).
TEST_F(BlockShadow_, Configuration_Replayed)
{
    ASSERT_TRUE(disk->open());
    ASSERT_EQ(disk->ioctl(NK_BLK_IOCTL_SET_WRITE_CACHE, 0).value(), 0);
    inject({ { "fault", "null-deref" }, { "entry", "blk_queue_rq" } });
    std::vector<std::byte> data(4096, std::byte(7));
    ASSERT_TRUE(block_io::write(*disk, 0, data, false));
    ASSERT_TRUE(wait_restarts(1));
    EXPECT_EQ(disk->ioctl(NK_BLK_IOCTL_GET_WRITE_CACHE, 0).value(), 0);
    EXPECT_EQ(test::disk_controller(*system).read_register(0, NKDISK_REG_CONFIG, 4) & NKDISK_CONFIG_WCE, 0u);
    auto status = shadow_status();
    EXPECT_EQ(status.opens, 1u);
    EXPECT_EQ(status.write_cache, 0u);
    disk->release();
}

// A request that kills the driver every time fails alone, with EIO, after
// three tries; the rest of the disk is served, before and after.
TEST_F(BlockShadow_, DeterministicFault_FailsAloneRestServed)
{
    constexpr uint64_t poison = 4096; // sector
    inject({ { "fault", "null-deref" }, { "entry", "blk_queue_rq" }, { "sector", poison }, { "repeat", true } });
    std::atomic<int> other_errors { 0 };
    // The neighbour writes elsewhere (from 8 MiB on), at the same time.
    std::thread neighbour([&] {
        for (int i = 0; i < 64; ++i) {
            if (!block_io::write(*disk, (8u << 20) + uint64_t(i) * 65536, pattern(65536, uint32_t(i)), false))
                other_errors++;
        }
    });
    std::vector<std::byte> data(4096, std::byte(1));
    auto poisoned = block_io::write(*disk, poison * 512, data, false);
    neighbour.join();
    ASSERT_FALSE(poisoned);
    EXPECT_EQ(poisoned.error().to_errno(), EIO);
    EXPECT_EQ(other_errors.load(), 0);
    EXPECT_TRUE(wait_restarts(3));
    EXPECT_EQ(restarts(), 3u);
    EXPECT_EQ(shadow_status().failed_alone, 1u);
    // Disarm: the disk is healthy again, the poisoned sector writable.
    inject({ { "fault", "none" } });
    EXPECT_TRUE(block_io::write(*disk, poison * 512, data, false));
    std::vector<std::byte> back(65536);
    ASSERT_TRUE(block_io::read(*disk, 8u << 20, back));
    EXPECT_EQ(back, pattern(65536, 0));
}

// While the driver is down (the agent holds it down a while), the shadow
// answers for it: queries from the log, settings logged and replayed, I/O waits.
class BlockShadowSlowRecovery : public test::ShadowFixture { };

TEST_F(BlockShadowSlowRecovery, DriverDown_ShadowAnswers)
{
    auto server = ControlServer::listen(dir.file("agent.sock"));
    ASSERT_TRUE(server);
    (*server)->add("failure", [](nlohmann::json const&) -> Result<nlohmann::json> {
        return nlohmann::json { { "action", "restart" }, { "delay_ms", 1500 }, { "reason", "hold it down" } };
    });
    (*server)->start();
    boot(dir.file("agent.sock"));
    ASSERT_EQ(disk->ioctl(NK_BLK_IOCTL_GET_WRITE_CACHE, 0).value(), 1); // logged
    // Timed from the kill: the agent's backoff (1.5 s) bounds the wait from below.
    auto start = std::chrono::steady_clock::now();
    ASSERT_EQ(::kill(system->recovery()->driver("nkdisk@disk0")->module->domain().pid(), SIGKILL), 0);
    ASSERT_TRUE(test::wait_until(std::chrono::seconds(1), [&] { return shadow_status().active; }));
    EXPECT_EQ(disk->ioctl(NK_BLK_IOCTL_GET_WRITE_CACHE, 0).value(), 1);
    EXPECT_EQ(disk->ioctl(NK_BLK_IOCTL_SET_WRITE_CACHE, 0).value(), 0);
    EXPECT_EQ(disk->ioctl(NK_BLK_IOCTL_GET_WRITE_CACHE, 0).value(), 0);
    EXPECT_EQ(disk->ioctl(12345, 0).value(), -EAGAIN);
    ASSERT_TRUE(disk->open());
    // I/O submitted now waits for the driver's return, then succeeds.
    std::vector<std::byte> data(4096, std::byte(9));
    ASSERT_TRUE(block_io::write(*disk, 8192, data, true));
    auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_GE(waited, std::chrono::milliseconds(1500));
    ASSERT_TRUE(wait_restarts(1));
    EXPECT_EQ(restarts(), 1u);
    EXPECT_EQ(test::disk_controller(*system).read_register(0, NKDISK_REG_CONFIG, 4) & NKDISK_CONFIG_WCE, 0u);
    EXPECT_GE(shadow_status().longest_stall_ns, 1'000'000'000u);
    disk->release();
}

// When the policy gives up, the shadow stops holding the disk: what waits fails, and it goes.
TEST_F(BlockShadowSlowRecovery, GiveUp_RequestsFail)
{
    auto server = ControlServer::listen(dir.file("agent.sock"));
    ASSERT_TRUE(server);
    (*server)->add("failure", [](nlohmann::json const&) -> Result<nlohmann::json> {
        return nlohmann::json { { "action", "give-up" }, { "reason", "no" } };
    });
    (*server)->start();
    boot(dir.file("agent.sock"));
    inject({ { "fault", "null-deref" }, { "entry", "blk_queue_rq" } });
    std::vector<std::byte> data(4096, std::byte(9));
    auto written = block_io::write(*disk, 0, data, false);
    EXPECT_FALSE(written);
    // The shadow lets the disk go while the recovery manager still counts the driver as
    // recovering (so an operator's restart cannot slip in); Disabled follows.
    auto settled = [&] {
        return test::find_disk(*system, "disk0") == nullptr
            && system->recovery()->driver("nkdisk@disk0")->state == DriverState::Disabled;
    };
    test::wait_until(std::chrono::seconds(3), settled);
    EXPECT_EQ(test::find_disk(*system, "disk0"), nullptr);
    EXPECT_EQ(system->recovery()->driver("nkdisk@disk0")->state, DriverState::Disabled);
}

} // namespace
} // namespace nk
