// SPDX-License-Identifier: MIT
#include "harness/LoopDevice.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace nk::harness {

Result<std::unique_ptr<LoopDevice>> LoopDevice::attach(std::string const& file, bool direct_io)
{
    int backing = ::open(file.c_str(), O_RDWR | O_CLOEXEC | (direct_io ? O_DIRECT : 0));
    if (backing < 0)
        return errno_error(fmt::format("open {} for the loop device", file));
    int control = ::open("/dev/loop-control", O_RDWR | O_CLOEXEC);
    if (control < 0) {
        auto error = Error::from_errno("open /dev/loop-control");
        ::close(backing);
        return std::unexpected(std::move(error));
    }
    // Another process may take the free device between GET_FREE and CONFIGURE: retry.
    for (int attempt = 0; attempt < 20; ++attempt) {
        int number = ::ioctl(control, LOOP_CTL_GET_FREE);
        if (number < 0) {
            auto error = Error::from_errno("LOOP_CTL_GET_FREE");
            ::close(control);
            ::close(backing);
            return std::unexpected(std::move(error));
        }
        auto path = fmt::format("/dev/loop{}", number);
        int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
        if (fd < 0)
            continue;
        loop_config config {};
        config.fd = static_cast<uint32_t>(backing);
        config.block_size = 512;
        config.info.lo_flags = LO_FLAGS_AUTOCLEAR | (direct_io ? LO_FLAGS_DIRECT_IO : 0);
        std::strncpy(reinterpret_cast<char*>(config.info.lo_file_name), file.c_str(), LO_NAME_SIZE - 1);
        if (::ioctl(fd, LOOP_CONFIGURE, &config) == 0) {
            ::close(control);
            ::close(backing); // the loop device holds its own reference
            return std::unique_ptr<LoopDevice>(new LoopDevice(fd, number, path, direct_io));
        }
        int saved = errno;
        ::close(fd);
        if (saved != EBUSY) {
            ::close(control);
            ::close(backing);
            return std::unexpected(Error::from_errno(saved, fmt::format("LOOP_CONFIGURE {} on {}", path, file)));
        }
    }
    ::close(control);
    ::close(backing);
    return make_error(ErrorCode::ResourceExhausted, "no free loop device for {}", file);
}

LoopDevice::~LoopDevice() { (void)detach(); }

Result<void> LoopDevice::detach()
{
    if (m_fd < 0)
        return {};
    // With the device still open elsewhere (a mount), the kernel defers the
    // detach to the last close (autoclear); otherwise it happens now.
    int result = ::ioctl(m_fd, LOOP_CLR_FD, 0);
    int saved = errno;
    ::close(m_fd);
    m_fd = -1;
    if (result != 0 && saved != ENXIO)
        return std::unexpected(Error::from_errno(saved, fmt::format("detach {}", m_path)));
    // Wait until the backing file is really released (it keeps the FUSE mount busy).
    auto backing = fmt::format("/sys/block/loop{}/loop/backing_file", m_number);
    for (int i = 0; i < 500 && std::filesystem::exists(backing); ++i)
        ::usleep(10'000);
    if (std::filesystem::exists(backing))
        return make_error(ErrorCode::DeadlineExceeded, "{} still holds its backing file (is it mounted?)", m_path);
    return {};
}

} // namespace nk::harness
