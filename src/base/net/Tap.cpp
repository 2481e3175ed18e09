// SPDX-License-Identifier: MIT
#include "base/net/Tap.h"

#include "base/net/NetNamespace.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace nk {

namespace {

bool valid_interface_name(std::string const& name)
{
    if (name.empty() || name.size() > Tap::max_name || name == "." || name == "..")
        return false;
    for (char c : name) {
        if (c == '/' || c == ':' || c <= ' ' || c == 0x7f)
            return false;
    }
    return true;
}

} // namespace

Result<Tap> Tap::create(NetNamespace const& ns, std::string name)
{
    auto what = fmt::format("tap {} in namespace {}", name, ns.name());
    if (!valid_interface_name(name))
        return make_error(ErrorCode::InvalidArgument, "{}: an interface name is 1..{} characters, no '/', ':' or spaces", what, max_name);
    return ns.call_in([&]() -> Result<Tap> {
        if (::if_nametoindex(name.c_str()) != 0)
            return make_error(ErrorCode::AlreadyExists, "{}: an interface named {} already exists there", what, name);
        UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
        if (!fd) {
            if (errno == ENOENT || errno == ENODEV || errno == ENXIO)
                return make_error(ErrorCode::NotFound, "{}: open /dev/net/tun: {} (load the tun module: modprobe tun)", what, std::strerror(errno));
            return errno_error(fmt::format("{}: open /dev/net/tun", what));
        }
        struct ifreq request { };
        // IFF_TUN_EXCL: never attach to an existing (persistent) device of that name.
        request.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_TUN_EXCL;
        std::memcpy(request.ifr_name, name.c_str(), name.size());
        if (::ioctl(fd.get(), TUNSETIFF, &request) != 0) {
            int error = errno;
            auto failure = Error::from_errno(error, fmt::format("{}: TUNSETIFF", what));
            if (error == EBUSY || error == EEXIST)
                return std::unexpected(Error(ErrorCode::AlreadyExists, failure.message(), error));
            return std::unexpected(std::move(failure));
        }
        int ifindex = static_cast<int>(::if_nametoindex(name.c_str()));
        if (ifindex == 0)
            return errno_error(fmt::format("{}: finding its index", what));
        return Tap(name, ns.name(), ifindex, std::move(fd));
    });
}

std::string Tap::what() const { return fmt::format("tap {} in namespace {}", m_name, m_namespace); }

Result<size_t> Tap::read(std::span<std::byte> buffer)
{
    for (;;) {
        auto got = ::read(m_fd.get(), buffer.data(), buffer.size());
        if (got >= 0)
            return static_cast<size_t>(got);
        if (errno == EAGAIN)
            return 0;
        if (errno != EINTR)
            return errno_error(fmt::format("{}: read", what()));
    }
}

Result<bool> Tap::write(std::span<std::byte const> frame)
{
    for (;;) {
        auto put = ::write(m_fd.get(), frame.data(), frame.size());
        if (put >= 0)
            return true;
        if (errno == EAGAIN || errno == EIO)
            return false;
        if (errno != EINTR)
            return errno_error(fmt::format("{}: write of a {}-byte frame", what(), frame.size()));
    }
}

Result<void> Tap::set_carrier(bool on)
{
    int value = on ? 1 : 0;
    if (::ioctl(m_fd.get(), TUNSETCARRIER, &value) != 0)
        return errno_error(fmt::format("{}: TUNSETCARRIER {}", what(), on ? "on" : "off"));
    return {};
}

} // namespace nk
