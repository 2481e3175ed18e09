// SPDX-License-Identifier: MIT
// The FUSE disk file itself, served by an in-process system, so the test can
// also reach into the device (inject media errors) and check the image.

#include "support/TestSupport.h"

#include <nooks/uapi/blkioctl.h>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <random>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace nk {
namespace {

class DiskFileTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        NK_REQUIRE_ROOT();
        auto config = test::machine_config(fmt::format("mount = \"{}\"\ncontrol = \"\"\nfuse_threads = 2\n{}", dir.file("disks"),
            test::disk_table(dir, "disk0", 32ull << 20)));
        auto booted = System::boot(config);
        ASSERT_TRUE(booted) << booted.error().message();
        system = std::move(*booted);
        fd = ::open(system->endpoint("disk0").c_str(), O_RDWR | O_CLOEXEC);
        ASSERT_GE(fd, 0) << std::strerror(errno);
    }
    void TearDown() override
    {
        if (fd >= 0)
            ::close(fd);
        system.reset();
    }

    std::vector<char> random_data(size_t size, uint32_t seed)
    {
        std::mt19937 generator(seed);
        std::vector<char> data(size);
        for (auto& c : data)
            c = static_cast<char>(generator());
        return data;
    }

    test::TempDir dir;
    std::unique_ptr<System> system;
    int fd { -1 };
};

// The file has the disk's size and is root-only.
TEST_F(DiskFileTest, Attributes_SizeAndRootOnly)
{
    struct stat st { };
    ASSERT_EQ(::fstat(fd, &st), 0);
    EXPECT_EQ(st.st_size, 32 << 20);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(st.st_uid, 0u);
}

// Reads and writes at odd offsets and lengths land exactly, in the image too.
TEST_F(DiskFileTest, OddOffsets_ReadBackAndImageAgree)
{
    struct Piece {
        off_t offset;
        size_t size;
    };
    for (auto [offset, size] : { Piece { 1, 1 }, Piece { 511, 2 }, Piece { 4097, 10000 }, Piece { 1 << 20, 3 << 20 },
             Piece { (32 << 20) - 700, 700 } }) {
        auto data = random_data(size, static_cast<uint32_t>(offset));
        ASSERT_EQ(::pwrite(fd, data.data(), size, offset), static_cast<ssize_t>(size));
        std::vector<char> back(size);
        ASSERT_EQ(::pread(fd, back.data(), size, offset), static_cast<ssize_t>(size));
        EXPECT_EQ(back, data) << "offset " << offset;
        ASSERT_EQ(::fsync(fd), 0);
        int image = ::open(dir.file("disk0.img").c_str(), O_RDONLY | O_CLOEXEC);
        ASSERT_GE(image, 0);
        std::vector<char> stored(size);
        EXPECT_EQ(::pread(image, stored.data(), size, offset), static_cast<ssize_t>(size));
        ::close(image);
        EXPECT_EQ(stored, data) << "offset " << offset;
    }
}

// Reading at the end gives a short read; writing past the end is ENOSPC.
TEST_F(DiskFileTest, EndOfDisk_ShortReadAndEnospc)
{
    char buffer[1024];
    EXPECT_EQ(::pread(fd, buffer, sizeof(buffer), (32 << 20) - 100), 100);
    EXPECT_EQ(::pread(fd, buffer, sizeof(buffer), 32 << 20), 0);
    EXPECT_EQ(::pwrite(fd, buffer, sizeof(buffer), 32 << 20), -1);
    EXPECT_EQ(errno, ENOSPC);
}

// A failing medium reaches the application as EIO; the rest of the disk works.
TEST_F(DiskFileTest, MediaError_ApplicationSeesEio)
{
    test::disk_controller(*system).inject_media_error(2048, 8);
    char buffer[4096];
    EXPECT_EQ(::pread(fd, buffer, sizeof(buffer), 2048 * 512), -1);
    EXPECT_EQ(errno, EIO);
    EXPECT_EQ(::pwrite(fd, buffer, sizeof(buffer), 2048 * 512), -1);
    EXPECT_EQ(errno, EIO);
    EXPECT_EQ(::pread(fd, buffer, sizeof(buffer), 0), static_cast<ssize_t>(sizeof(buffer)));
}

// fsync on the file becomes a device flush.
TEST_F(DiskFileTest, Fsync_FlushesDevice)
{
    auto before = test::disk_controller(*system).stats().flushes;
    char buffer[512] = { 1 };
    ASSERT_EQ(::pwrite(fd, buffer, sizeof(buffer), 0), 512);
    ASSERT_EQ(::fsync(fd), 0);
    EXPECT_GT(test::disk_controller(*system).stats().flushes, before);
}

// Truncating to the disk's own size succeeds (mkfs, shells do it); any other size fails.
TEST_F(DiskFileTest, Truncate_OnlyToOwnSize)
{
    EXPECT_EQ(::ftruncate(fd, 32 << 20), 0);
    EXPECT_EQ(::ftruncate(fd, 0), -1);
    EXPECT_EQ(::ftruncate(fd, 64 << 20), -1);
    timespec times[2] = { { 1000, 0 }, { 2000, 0 } };
    ASSERT_EQ(::futimens(fd, times), 0);
    struct stat st { };
    ASSERT_EQ(::fstat(fd, &st), 0);
    EXPECT_EQ(st.st_mtim.tv_sec, 2000);
}

// The write-cache ioctl on the file reaches the driver and the controller.
TEST_F(DiskFileTest, WriteCacheIoctl_ThroughTheFile)
{
    uint32_t value = 7;
    ASSERT_EQ(::ioctl(fd, NKBLK_IOC_GET_WRITE_CACHE, &value), 0) << std::strerror(errno);
    EXPECT_EQ(value, 1u);
    value = 0;
    ASSERT_EQ(::ioctl(fd, NKBLK_IOC_SET_WRITE_CACHE, &value), 0) << std::strerror(errno);
    value = 7;
    ASSERT_EQ(::ioctl(fd, NKBLK_IOC_GET_WRITE_CACHE, &value), 0);
    EXPECT_EQ(value, 0u);
}

} // namespace
} // namespace nk
