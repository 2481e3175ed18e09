// SPDX-License-Identifier: MIT
// The block layer with the real nkdisk driver and the emulated controller, in
// one process, without FUSE: data reaches the image, errors reach the caller.

#include "classes/block/BlockIo.h"
#include "support/TestSupport.h"

#include <hw/nkdisk.h>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <random>
#include <thread>
#include <unistd.h>

namespace nk {
namespace {

std::vector<std::byte> random_bytes(size_t size, uint32_t seed)
{
    std::mt19937 generator(seed);
    std::vector<std::byte> bytes(size);
    for (auto& byte : bytes)
        byte = static_cast<std::byte>(generator());
    return bytes;
}

std::vector<std::byte> read_image(std::string const& path, uint64_t offset, size_t size)
{
    std::vector<std::byte> bytes(size);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::pread(fd, bytes.data(), size, static_cast<off_t>(offset)), static_cast<ssize_t>(size));
    ::close(fd);
    return bytes;
}

class BlockStackTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        system = test::boot_native(dir);
        ASSERT_NE(system, nullptr);
        disk = test::find_disk(*system, "disk0");
        ASSERT_NE(disk, nullptr);
    }

    test::TempDir dir;
    std::unique_ptr<System> system;
    std::shared_ptr<Disk> disk;
};

// The driver registered a disk matching the controller's geometry.
TEST_F(BlockStackTest, Probe_RegistersDiskWithControllerGeometry)
{
    EXPECT_EQ(disk->geometry().capacity_bytes(), 16ull << 20);
    EXPECT_EQ(disk->geometry().max_sectors, 2048u);
    EXPECT_EQ(disk->geometry().features, NK_BLK_FEAT_FLUSH | NK_BLK_FEAT_FUA);
    EXPECT_EQ(&disk->owner(), system->driver_of("disk0").get());
}

// Aligned writes land in the image file byte for byte and read back identical.
TEST_F(BlockStackTest, AlignedWrite_ReachesImageAndReadsBack)
{
    auto data = random_bytes(256 * 1024, 1);
    ASSERT_TRUE(block_io::write(*disk, 1 << 20, data, false));
    std::vector<std::byte> back(data.size());
    ASSERT_TRUE(block_io::read(*disk, 1 << 20, back));
    EXPECT_EQ(back, data);
    EXPECT_EQ(read_image(dir.file("disk0.img"), 1 << 20, data.size()), data);
}

// Unaligned offsets and lengths are read-modify-written without touching neighbours.
TEST_F(BlockStackTest, UnalignedWrite_PreservesNeighbours)
{
    auto base = random_bytes(8192, 2);
    ASSERT_TRUE(block_io::write(*disk, 0, base, false));
    auto patch = random_bytes(1000, 3);
    ASSERT_TRUE(block_io::write(*disk, 777, patch, false));
    std::copy(patch.begin(), patch.end(), base.begin() + 777);
    std::vector<std::byte> back(8192);
    ASSERT_TRUE(block_io::read(*disk, 0, back));
    EXPECT_EQ(back, base);
    std::vector<std::byte> middle(333);
    ASSERT_TRUE(block_io::read(*disk, 1001, middle));
    EXPECT_TRUE(std::equal(middle.begin(), middle.end(), base.begin() + 1001));
}

// A transfer larger than the driver's max_sectors is split, and still one batch.
TEST_F(BlockStackTest, LargeTransfer_SplitIntoRequests)
{
    auto before = disk->queue().stats();
    auto data = random_bytes(3 << 20, 4);
    ASSERT_TRUE(block_io::write(*disk, 0, data, false));
    auto after = disk->queue().stats();
    EXPECT_EQ(after.completed - before.completed, 3u);
    EXPECT_EQ(after.dispatch_batches - before.dispatch_batches, 1u);
    EXPECT_EQ(read_image(dir.file("disk0.img"), 0, data.size()), data);
}

// A flush reaches the device as a FLUSH command; FUA writes are marked.
TEST_F(BlockStackTest, Flush_ReachesDevice)
{
    auto before = test::disk_controller(*system).stats();
    ASSERT_TRUE(block_io::write(*disk, 0, random_bytes(4096, 5), true));
    ASSERT_TRUE(block_io::flush(*disk));
    auto after = test::disk_controller(*system).stats();
    EXPECT_EQ(after.flushes - before.flushes, 1u);
    EXPECT_EQ(after.writes - before.writes, 1u);
}

// A media error on the device reaches the caller as an I/O error (EIO); the rest of the disk works.
TEST_F(BlockStackTest, MediaError_ReachesCallerAsEio)
{
    test::disk_controller(*system).inject_media_error(100, 8);
    std::vector<std::byte> buffer(4096);
    auto failed = block_io::read(*disk, 100 * 512, buffer);
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().code(), ErrorCode::IoError);
    EXPECT_EQ(failed.error().to_errno(), EIO);
    EXPECT_TRUE(block_io::read(*disk, 200 * 512, buffer));
    test::disk_controller(*system).clear_media_errors();
    EXPECT_TRUE(block_io::read(*disk, 100 * 512, buffer));
}

// Ranges that leave the disk are refused before any request is made.
TEST_F(BlockStackTest, OutOfRange_Rejected)
{
    std::vector<std::byte> buffer(4096);
    auto capacity = disk->geometry().capacity_bytes();
    EXPECT_EQ(block_io::read(*disk, capacity - 512, buffer).error().code(), ErrorCode::InvalidArgument);
    EXPECT_EQ(block_io::write(*disk, capacity, buffer, false).error().code(), ErrorCode::InvalidArgument);
}

// Several threads writing disjoint regions concurrently all land intact.
TEST_F(BlockStackTest, ConcurrentWriters_AllLand)
{
    constexpr int threads = 4;
    constexpr size_t chunk = 64 * 1024;
    std::vector<std::vector<std::byte>> data;
    for (int t = 0; t < threads; ++t)
        data.push_back(random_bytes(chunk * 8, 10 + t));
    std::vector<std::thread> workers;
    std::atomic<int> failures { 0 };
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            for (size_t i = 0; i < 8; ++i) {
                auto offset = (uint64_t(t) * 8 + i) * chunk;
                if (!block_io::write(*disk, offset, std::span(data[t]).subspan(i * chunk, chunk), false))
                    failures++;
            }
        });
    }
    for (auto& worker : workers)
        worker.join();
    EXPECT_EQ(failures.load(), 0);
    for (int t = 0; t < threads; ++t)
        EXPECT_EQ(read_image(dir.file("disk0.img"), uint64_t(t) * 8 * chunk, 8 * chunk), data[t]);
}

// The write-cache ioctl goes through the driver to the controller's CONFIG register.
TEST_F(BlockStackTest, WriteCacheIoctl_ProgramsController)
{
    ASSERT_TRUE(disk->open());
    EXPECT_EQ(disk->ioctl(NK_BLK_IOCTL_GET_WRITE_CACHE, 0).value(), 1);
    EXPECT_EQ(disk->ioctl(NK_BLK_IOCTL_SET_WRITE_CACHE, 0).value(), 0);
    EXPECT_EQ(test::disk_controller(*system).read_register(0, NKDISK_REG_CONFIG, 4) & NKDISK_CONFIG_WCE, 0u);
    EXPECT_EQ(disk->ioctl(NK_BLK_IOCTL_GET_WRITE_CACHE, 0).value(), 0);
    EXPECT_EQ(disk->ioctl(NK_BLK_IOCTL_SET_WRITE_CACHE, 7).value(), -EINVAL);
    EXPECT_EQ(disk->ioctl(12345, 0).value(), -ENOTTY);
    disk->release();
}

// A fatal controller error (here: the ring unmapped behind the driver's back is
// impossible to arrange, so a bad doorbell) makes the driver fail what was in
// flight and reset the controller; the disk keeps working afterwards.
TEST_F(BlockStackTest, ControllerFatalError_DriverResetsAndRecovers)
{
    // A CQ_HEAD doorbell ahead of the device is a fatal misprogramming.
    test::disk_controller(*system).write_register(0, NKDISK_REG_CQ_HEAD, 4, 17);
    EXPECT_EQ(test::disk_controller(*system).stats().last_fatal_code, NKDISK_FATAL_BAD_DOORBELL);
    // The driver's reset work runs on a kernel worker; new I/O waits for it and then succeeds.
    auto data = random_bytes(4096, 6);
    Result<void> written = make_error(ErrorCode::Unavailable, "not yet");
    for (int attempt = 0; attempt < 100 && !written; ++attempt) {
        written = block_io::write(*disk, 0, data, false);
        if (!written)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(written) << written.error().message();
    std::vector<std::byte> back(4096);
    ASSERT_TRUE(block_io::read(*disk, 0, back));
    EXPECT_EQ(back, data);
}

// Unloading the driver unregisters the disk: later I/O fails, nothing hangs.
TEST_F(BlockStackTest, Unload_DiskGoneIoFails)
{
    ASSERT_TRUE(system->kernel().unload_module(*system->driver_of("disk0").get()));
    EXPECT_FALSE(disk->alive());
    EXPECT_EQ(test::find_disk(*system, "disk0"), nullptr);
    std::vector<std::byte> buffer(512);
    EXPECT_EQ(block_io::read(*disk, 0, buffer).error().code(), ErrorCode::IoError);
}

} // namespace
} // namespace nk
