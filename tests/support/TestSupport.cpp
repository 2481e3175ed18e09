// SPDX-License-Identifier: MIT
#include "support/TestSupport.h"

#include "base/Log.h"
#include "system/test/TestPackage.h"

#include <cstdlib>
#include <filesystem>
#include <thread>
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

Config machine_config(std::string const& toml)
{
    // No NIC unless the test asks for one (a NIC needs root and namespaces).
    auto text = toml.find("[[nic]]") == std::string::npos && toml.find("nic =") == std::string::npos ? "nic = []\n" + toml : toml;
    auto config = Config::parse(text, "test config", test_catalog().device_kinds());
    if (!config) {
        ADD_FAILURE() << "config: " << config.error().message() << "\n" << toml;
        return Config {};
    }
    return std::move(*config);
}

std::string disk_table(TempDir const& dir, std::string const& name, uint64_t size, std::string const& driver)
{
    return fmt::format("[[disk]]\nname = \"{}\"\nimage = \"{}\"\nsize = {}\ndriver = \"{}\"\n", name, dir.file(name + ".img"), size,
        driver.empty() ? nkdisk_driver_path() : driver);
}

bool wait_until(std::chrono::milliseconds timeout, std::function<bool()> const& condition)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() >= deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
}

BlockLayer& block_layer(System& system) { return *system.kernel().driver_class<BlockLayer>(); }

std::shared_ptr<Disk> find_disk(System& system, std::string const& name) { return block_layer(system).find(name); }

DiskController& disk_controller(System& system, std::string const& name) { return *system.hardware<DiskController>(name); }

std::unique_ptr<System> boot_native(TempDir const& dir, uint64_t disk_size)
{
    auto config = machine_config("control = \"\"\n" + disk_table(dir, "disk0", disk_size));
    auto system = System::boot(config, { .mount_frontends = false });
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
