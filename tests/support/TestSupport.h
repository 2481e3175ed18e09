// SPDX-License-Identifier: MIT
#pragma once

// Helpers shared by the tests: temporary directories that always go away,
// the checks integration tests use to skip with a clear message, and an
// in-process kernel with the disk controller and the real nkdisk driver.

#include "classes/block/BlockLayer.h"
#include "devices/disk/DiskController.h"
#include "system/System.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace nk::test {

// A fresh directory under /tmp, removed (recursively) when destroyed.
class TempDir {
public:
    explicit TempDir(std::string const& prefix = "nooks-test");
    ~TempDir();
    TempDir(TempDir const&) = delete;
    TempDir& operator=(TempDir const&) = delete;
    std::string const& path() const { return m_path; }
    std::string file(std::string const& name) const { return m_path + "/" + name; }

private:
    std::string m_path;
};

// Raises `stop` and joins `thread` when it goes out of scope: a test's worker
// thread is joined on every path out of the test, a failed assertion included.
class StopAndJoin {
public:
    StopAndJoin(std::thread& thread, std::atomic<bool>& stop)
        : m_thread(thread)
        , m_stop(stop)
    {
    }
    ~StopAndJoin()
    {
        m_stop = true;
        if (m_thread.joinable())
            m_thread.join();
    }
    StopAndJoin(StopAndJoin const&) = delete;
    StopAndJoin& operator=(StopAndJoin const&) = delete;

private:
    std::thread& m_thread;
    std::atomic<bool>& m_stop;
};

// Why a root-only test cannot run here, or empty if it can.
std::string missing_privileges();

// Skips the current test with the reason, when root or /dev/fuse is missing.
#define NK_REQUIRE_ROOT()                                                                \
    do {                                                                                 \
        if (auto reason = ::nk::test::missing_privileges(); !reason.empty())             \
            GTEST_SKIP() << reason;                                                      \
    } while (0)

// Path of the nkdisk driver built with the tests.
std::string nkdisk_driver_path();

// A machine description (TOML, test devices known too); fails the test on error.
Config machine_config(std::string const& toml);
// A [[disk]] table: device `name`, its image in `dir`, `size` bytes, `driver` (default nkdisk).
std::string disk_table(TempDir const& dir, std::string const& name = "disk0", uint64_t size = 16ull << 20, std::string const& driver = {});

// Polls `condition` (every 2 ms) until it holds or `timeout` passes; false on timeout.
bool wait_until(std::chrono::milliseconds timeout, std::function<bool()> const& condition);

// The machine's block class, a disk of it, and a disk controller.
BlockLayer& block_layer(System& system);
std::shared_ptr<Disk> find_disk(System& system, std::string const& name = "disk0");
DiskController& disk_controller(System& system, std::string const& name = "disk0");

// Boots an in-process system (kernel + NKDISK controller + nkdisk driver, no
// FUSE) on an image in `dir`. Fails the test on error.
std::unique_ptr<System> boot_native(TempDir const& dir, uint64_t disk_size = 16ull << 20);

// Asserts a Result is a value and yields it; on error, fails with the message.
#define NK_ASSERT_OK(expr)                                                               \
    ({                                                                                   \
        auto&& _nk_result = (expr);                                                      \
        if (!_nk_result.has_value())                                                     \
            FAIL() << #expr << ": " << _nk_result.error().message();                     \
        ::nk::detail::take_value(std::move(_nk_result));                                 \
    })

} // namespace nk::test
