// SPDX-License-Identifier: MIT
#include "devices/disk/DiskImage.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace nk {

Result<std::unique_ptr<DiskImage>> DiskImage::open(std::string const& path, uint64_t create_size)
{
    bool created = false;
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        if (create_size == 0 || create_size % 512 != 0)
            return make_error(ErrorCode::InvalidArgument, "disk image {}: size {} is not a non-zero multiple of 512", path,
                create_size);
        fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
            return errno_error(fmt::format("create disk image {}", path));
        if (::ftruncate(fd, static_cast<off_t>(create_size)) != 0) {
            auto error = Error::from_errno(fmt::format("size disk image {}", path));
            ::close(fd);
            ::unlink(path.c_str());
            return std::unexpected(std::move(error));
        }
        created = true;
    }
    if (fd < 0)
        return errno_error(fmt::format("open disk image {}", path));

    struct stat st { };
    if (::fstat(fd, &st) != 0) {
        auto error = Error::from_errno(fmt::format("stat disk image {}", path));
        ::close(fd);
        return std::unexpected(std::move(error));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        return make_error(ErrorCode::InvalidArgument, "disk image {} is not a regular file", path);
    }
    // One controller per image, in this process or any other: two writing
    // one file would corrupt it. The lock goes with the descriptor.
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        auto busy = errno == EWOULDBLOCK;
        auto error = busy ? Error(ErrorCode::Unavailable, fmt::format("disk image {} is in use by another device or nooks kernel", path))
                          : Error::from_errno(fmt::format("lock disk image {}", path));
        ::close(fd);
        if (created)
            ::unlink(path.c_str());
        return std::unexpected(std::move(error));
    }
    auto size = static_cast<uint64_t>(st.st_size);
    if (size == 0 || size % 512 != 0) {
        ::close(fd);
        return make_error(ErrorCode::InvalidArgument, "disk image {}: size {} is not a non-zero multiple of 512", path, size);
    }
    return std::unique_ptr<DiskImage>(new DiskImage(fd, path, size, created));
}

DiskImage::~DiskImage() { ::close(m_fd); }

Result<void> DiskImage::read(uint64_t offset, std::span<std::byte> out)
{
    size_t done = 0;
    while (done < out.size()) {
        auto n = ::pread(m_fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno_error(fmt::format("read {} at {}", m_path, offset + done));
        if (n == 0)
            return make_error(ErrorCode::IoError, "read {} at {}: unexpected end of image", m_path, offset + done);
        done += static_cast<size_t>(n);
    }
    return {};
}

Result<void> DiskImage::write(uint64_t offset, std::span<std::byte const> data)
{
    size_t done = 0;
    while (done < data.size()) {
        auto n = ::pwrite(m_fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno_error(fmt::format("write {} at {}", m_path, offset + done));
        done += static_cast<size_t>(n);
    }
    return {};
}

Result<void> DiskImage::sync()
{
    if (::fdatasync(m_fd) != 0)
        return errno_error(fmt::format("fdatasync {}", m_path));
    return {};
}

} // namespace nk
