// SPDX-License-Identifier: MIT
#pragma once

// The backing store of an emulated disk: a regular file. Reads and writes go
// to the page cache; sync() makes everything written so far durable (fdatasync).

#include "base/Error.h"

#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace nk {

class DiskImage {
public:
    // Opens `path`, creating it with `create_size` bytes if it does not exist. An
    // existing image keeps its size (nothing is ever truncated); the size must be
    // a non-zero multiple of 512.
    static Result<std::unique_ptr<DiskImage>> open(std::string const& path, uint64_t create_size);
    ~DiskImage();
    DiskImage(DiskImage const&) = delete;
    DiskImage& operator=(DiskImage const&) = delete;

    uint64_t size() const { return m_size; }
    std::string const& path() const { return m_path; }
    bool created() const { return m_created; }

    Result<void> read(uint64_t offset, std::span<std::byte> out);
    Result<void> write(uint64_t offset, std::span<std::byte const> data);
    Result<void> sync();

private:
    DiskImage(int fd, std::string path, uint64_t size, bool created)
        : m_fd(fd)
        , m_path(std::move(path))
        , m_size(size)
        , m_created(created)
    {
    }

    int m_fd;
    std::string m_path;
    uint64_t m_size;
    bool m_created;
};

} // namespace nk
