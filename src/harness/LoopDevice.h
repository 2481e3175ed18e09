// SPDX-License-Identifier: MIT
#pragma once

// A loop block device over a file (what `losetup --direct-io=on` does), via the
// loop ioctls. Detached when the object goes away; detach it before the file's
// file system (the FUSE mount) is unmounted.

#include "base/Error.h"

#include <memory>
#include <string>

namespace nk::harness {

class LoopDevice {
public:
    // Attaches a free loop device to `file`. With direct_io, the loop device
    // reads and writes the file with O_DIRECT (no second page cache).
    static Result<std::unique_ptr<LoopDevice>> attach(std::string const& file, bool direct_io);
    ~LoopDevice();
    LoopDevice(LoopDevice const&) = delete;
    LoopDevice& operator=(LoopDevice const&) = delete;

    // Detaches and waits until the kernel has let go of the backing file.
    Result<void> detach();

    std::string const& path() const { return m_path; } // "/dev/loop3"
    bool direct_io() const { return m_direct_io; }

private:
    LoopDevice(int fd, int number, std::string path, bool direct_io)
        : m_fd(fd)
        , m_number(number)
        , m_path(std::move(path))
        , m_direct_io(direct_io)
    {
    }

    int m_fd;
    int m_number;
    std::string m_path;
    bool m_direct_io;
};

} // namespace nk::harness
