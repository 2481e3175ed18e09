// SPDX-License-Identifier: MIT
#include "frontends/oss/OssMount.h"

#include <filesystem>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace nk::test {

static std::string make_directory()
{
    char name[] = "/tmp/nooks-oss-XXXXXX";
    return ::mkdtemp(name) != nullptr ? std::string(name) : std::string();
}

bool wait_until(std::chrono::milliseconds timeout, std::function<bool()> const& condition)
{
    auto const deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() >= deadline)
            return condition();
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
}

std::string oss_mount_unavailable()
{
    if (::geteuid() != 0)
        return "needs root (FUSE mounts); run the test suite as root";
    if (::access("/dev/fuse", R_OK | W_OK) != 0)
        return "needs /dev/fuse";
    return {};
}

OssMount::OssMount(double speed)
    : m_dir(make_directory())
    , m_mountpoint(m_dir + "/mnt")
    , m_card("sound0", clocked_card_params(), speed)
{
    if (m_dir.empty() || ::mkdir(m_mountpoint.c_str(), 0755) != 0) {
        m_error = "mkdir " + m_mountpoint;
        return;
    }
    auto mounted = OssFrontend::mount(m_card.layer(), { .mountpoint = m_mountpoint });
    if (!mounted) {
        m_error = mounted.error().message();
        return;
    }
    m_frontend = std::move(*mounted);
}

OssMount::~OssMount()
{
    if (m_frontend)
        m_frontend->unmount();
    m_frontend.reset();
    // Only once nothing is mounted below it.
    std::error_code ignored;
    if (!m_dir.empty() && ::rmdir(m_mountpoint.c_str()) == 0)
        std::filesystem::remove_all(m_dir, ignored);
}

} // namespace nk::test
