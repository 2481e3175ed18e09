// SPDX-License-Identifier: MIT
#include "devices/disk/DiskImage.h"

#include "support/TestSupport.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <vector>

namespace nk::test {
namespace {

namespace fs = std::filesystem;

std::vector<std::byte> pattern(size_t size, unsigned seed)
{
    std::vector<std::byte> bytes(size);
    for (size_t i = 0; i < size; ++i)
        bytes[i] = static_cast<std::byte>((i * 13 + seed) & 0xff);
    return bytes;
}

// The file's bytes at [offset, offset+size), read without DiskImage.
std::vector<std::byte> file_bytes(std::string const& path, uint64_t offset, size_t size)
{
    std::vector<std::byte> bytes(size);
    std::ifstream file(path, std::ios::binary);
    file.seekg(static_cast<std::streamoff>(offset));
    file.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
    EXPECT_EQ(file.gcount(), static_cast<std::streamsize>(size));
    return bytes;
}

void write_file(std::string const& path, size_t size)
{
    std::ofstream file(path, std::ios::binary);
    std::vector<char> zeros(size, 'x');
    file.write(zeros.data(), static_cast<std::streamsize>(size));
}

// A missing image is created with the requested size, zero-filled.
TEST(DiskImage, Open_CreatesAtSize)
{
    TempDir dir;
    auto path = dir.file("disk.img");
    auto image = DiskImage::open(path, 1 << 20);
    ASSERT_TRUE(image.has_value()) << image.error().message();
    EXPECT_TRUE((*image)->created());
    EXPECT_EQ((*image)->size(), 1u << 20);
    EXPECT_EQ((*image)->path(), path);
    EXPECT_EQ(fs::file_size(path), 1u << 20);
    EXPECT_EQ(file_bytes(path, (1 << 20) - 512, 512), std::vector<std::byte>(512));
}

// An existing image keeps its size whatever size is asked for: it is never truncated or grown.
TEST(DiskImage, Open_ExistingKeepsSize)
{
    TempDir dir;
    auto path = dir.file("disk.img");
    {
        auto image = DiskImage::open(path, 64 * 1024).value();
        ASSERT_TRUE(image->write(64 * 1024 - 512, pattern(512, 3)).has_value());
    }
    for (uint64_t asked : { uint64_t(4096), uint64_t(1) << 20, uint64_t(0), uint64_t(1000) }) {
        SCOPED_TRACE(::testing::Message() << "create_size " << asked);
        auto image = DiskImage::open(path, asked);
        ASSERT_TRUE(image.has_value()) << image.error().message();
        EXPECT_FALSE((*image)->created());
        EXPECT_EQ((*image)->size(), 64u * 1024);
        EXPECT_EQ(fs::file_size(path), 64u * 1024);
    }
    // The data at the end survived every open.
    EXPECT_EQ(file_bytes(path, 64 * 1024 - 512, 512), pattern(512, 3));
}

// One image, one open image at a time (here or in another kernel): a second
// open is refused while the first holds it, and succeeds after it closed.
TEST(DiskImage, Open_SecondOpenRefusedWhileHeld)
{
    TempDir dir;
    auto path = dir.file("disk.img");
    auto first = DiskImage::open(path, 64 * 1024);
    ASSERT_TRUE(first.has_value()) << first.error().message();
    auto second = DiskImage::open(path, 64 * 1024);
    ASSERT_FALSE(second.has_value());
    EXPECT_EQ(second.error().code(), ErrorCode::Unavailable);
    EXPECT_NE(second.error().message().find("in use"), std::string::npos) << second.error().message();
    first->reset();
    EXPECT_TRUE(DiskImage::open(path, 64 * 1024).has_value());
}

// Creating with a size that is zero or not a multiple of 512 fails and leaves no file.
TEST(DiskImage, Open_BadCreateSizeRejected)
{
    TempDir dir;
    for (uint64_t size : { uint64_t(0), uint64_t(1), uint64_t(511), uint64_t(1000), uint64_t(4097) }) {
        SCOPED_TRACE(::testing::Message() << "size " << size);
        auto path = dir.file("disk.img");
        auto image = DiskImage::open(path, size);
        ASSERT_FALSE(image.has_value());
        EXPECT_EQ(image.error().code(), ErrorCode::InvalidArgument);
        EXPECT_NE(image.error().message().find(path), std::string::npos) << image.error().message();
        EXPECT_FALSE(fs::exists(path));
    }
}

// An existing file whose size is not a non-zero multiple of 512 is refused and left alone.
TEST(DiskImage, Open_ExistingBadSizeRejected)
{
    TempDir dir;
    for (size_t size : { size_t(0), size_t(100), size_t(513) }) {
        SCOPED_TRACE(::testing::Message() << "size " << size);
        auto path = dir.file("odd.img");
        write_file(path, size);
        auto image = DiskImage::open(path, 4096);
        ASSERT_FALSE(image.has_value());
        EXPECT_EQ(image.error().code(), ErrorCode::InvalidArgument);
        EXPECT_EQ(fs::file_size(path), size);
    }
}

// Paths that are not regular files, or cannot be created, are errors.
TEST(DiskImage, Open_BadPathRejected)
{
    TempDir dir;
    auto directory = DiskImage::open(dir.path(), 4096);
    ASSERT_FALSE(directory.has_value());

    auto missing_parent = DiskImage::open(dir.file("no/such/dir/disk.img"), 4096);
    ASSERT_FALSE(missing_parent.has_value());
    EXPECT_EQ(missing_parent.error().code(), ErrorCode::NotFound);
}

// Data written is read back, is in the file, and survives reopening.
TEST(DiskImage, ReadWrite_RoundTrip)
{
    TempDir dir;
    auto path = dir.file("disk.img");
    auto first = pattern(4096, 1);
    auto second = pattern(512, 2);
    {
        auto image = DiskImage::open(path, 1 << 20).value();
        ASSERT_TRUE(image->write(8192, first).has_value());
        ASSERT_TRUE(image->write(0, second).has_value());
        ASSERT_TRUE(image->sync().has_value());

        std::vector<std::byte> back(4096);
        ASSERT_TRUE(image->read(8192, back).has_value());
        EXPECT_EQ(back, first);
        // Unwritten areas read as zeros.
        std::vector<std::byte> zeros(512, std::byte { 0xff });
        ASSERT_TRUE(image->read(4096, zeros).has_value());
        EXPECT_EQ(zeros, std::vector<std::byte>(512));
        EXPECT_EQ(file_bytes(path, 8192, 4096), first);
    }
    auto reopened = DiskImage::open(path, 1 << 20).value();
    std::vector<std::byte> back(512);
    ASSERT_TRUE(reopened->read(0, back).has_value());
    EXPECT_EQ(back, second);
    std::vector<std::byte> unaligned(100);
    ASSERT_TRUE(reopened->read(8192 + 7, unaligned).has_value());
    EXPECT_EQ(unaligned, std::vector<std::byte>(first.begin() + 7, first.begin() + 107));
}

// Reading past the end of the image is an I/O error, not a short read.
TEST(DiskImage, Read_PastEndFails)
{
    TempDir dir;
    auto image = DiskImage::open(dir.file("disk.img"), 4096).value();
    std::vector<std::byte> buffer(1024);
    auto straddling = image->read(4096 - 512, buffer);
    ASSERT_FALSE(straddling.has_value());
    EXPECT_EQ(straddling.error().code(), ErrorCode::IoError);
    EXPECT_FALSE(image->read(4096, buffer).has_value());
    std::vector<std::byte> last(512);
    EXPECT_TRUE(image->read(4096 - 512, last).has_value());
}

} // namespace
} // namespace nk::test
