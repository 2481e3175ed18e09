// SPDX-License-Identifier: MIT
#include "support/TestSupport.h"

#include "base/Log.h"

#include <cstdlib>
#include <filesystem>
#include <unistd.h>

namespace nk::test {

TempDir::TempDir(std::string const& prefix)
{
    std::string pattern = "/tmp/" + prefix + "-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr)
        throw std::runtime_error("mkdtemp failed");
    m_path = pattern;
}

TempDir::~TempDir()
{
    std::error_code error;
    std::filesystem::remove_all(m_path, error);
}

std::string missing_privileges()
{
    if (::geteuid() != 0)
        return "needs root (FUSE mounts, loop devices, ext4); run the test suite as root";
    if (::access("/dev/fuse", R_OK | W_OK) != 0)
        return "needs /dev/fuse";
    if (::access("/dev/loop-control", R_OK | W_OK) != 0)
        return "needs loop devices (/dev/loop-control)";
    return {};
}

std::string nkdisk_driver_path() { return default_driver_directory() + "/nkdisk.so"; }

std::unique_ptr<System> boot_native(TempDir const& dir, uint64_t disk_size)
{
    Config config;
    config.disk.image = dir.file("disk0.img");
    config.disk.size = disk_size;
    config.disk.driver = nkdisk_driver_path();
    config.control.clear();
    auto system = System::boot(config, { .mount_fuse = false });
    if (!system) {
        ADD_FAILURE() << "boot: " << system.error().message();
        return nullptr;
    }
    return std::move(*system);
}

} // namespace nk::test

namespace {

// Tests log only warnings and errors unless NOOKS_TEST_LOG names a level.
struct QuietLogs {
    QuietLogs()
    {
        char const* level = std::getenv("NOOKS_TEST_LOG");
        nk::log::configure(level != nullptr ? level : "warn");
    }
} const quiet_logs;

} // namespace
