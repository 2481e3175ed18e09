// SPDX-License-Identifier: MIT
#include "harness/Mount.h"

#include <cerrno>
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

namespace nk::harness {

Result<std::unique_ptr<Mount>> Mount::mount(std::string const& source, std::string const& target, std::string const& type,
    std::string const& options)
{
    if (::mount(source.c_str(), target.c_str(), type.c_str(), 0, options.empty() ? nullptr : options.c_str()) != 0)
        return errno_error(fmt::format("mount {} ({}) on {}", source, type, target));
    return std::unique_ptr<Mount>(new Mount(target));
}

Mount::~Mount() { (void)unmount(); }

Result<void> Mount::unmount()
{
    if (!m_mounted)
        return {};
    for (int attempt = 0; attempt < 50; ++attempt) {
        if (::umount2(m_target.c_str(), 0) == 0) {
            m_mounted = false;
            return {};
        }
        if (errno != EBUSY)
            break;
        ::usleep(100'000);
    }
    auto error = Error::from_errno(fmt::format("unmount {}", m_target));
    ::umount2(m_target.c_str(), MNT_DETACH);
    m_mounted = false;
    return std::unexpected(std::move(error));
}

Result<void> drop_caches()
{
    ::sync();
    int fd = ::open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return errno_error("open /proc/sys/vm/drop_caches");
    auto written = ::write(fd, "3\n", 2);
    int saved = errno;
    ::close(fd);
    if (written != 2)
        return std::unexpected(Error::from_errno(saved, "drop caches"));
    return {};
}

} // namespace nk::harness
