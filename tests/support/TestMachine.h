// SPDX-License-Identifier: MIT
#pragma once

// A kernel with an NKDISK controller and an auxiliary test device on its bus,
// and one driver loaded natively or in a protection domain: what the XPC,
// wrapper and isolation tests run against, one suite for both backends.

#include "classes/block/Disk.h"
#include "devices/HardwareDevice.h"
#include "devices/disk/DiskController.h"
#include "kernel/Kernel.h"
#include "nooks/module/IsolatedModule.h"
#include "support/TestSupport.h"

#include <mutex>
#include <vector>

namespace nk::test {

// The auxiliary device of the nktest driver (drivers/test/nktest/nktest.h):
// FIFO writes are logged, COUNT reads how many, SCRATCH is a plain register.
class TestDevice final : public HardwareDevice {
public:
    explicit TestDevice(std::string name)
        : m_name(std::move(name))
    {
    }
    uint16_t vendor_id() const override { return 0x1de5; }
    uint16_t device_id() const override { return 0x7e57; }
    std::string const& name() const override { return m_name; }
    uint32_t window_count() const override { return 1; }
    uint32_t window_size(uint32_t) const override { return 4096; }
    uint32_t vector_count() const override { return 1; }
    uint64_t read_register(uint32_t, uint32_t offset, unsigned) override;
    void write_register(uint32_t, uint32_t offset, unsigned, uint64_t value) override;
    void hard_reset() override;

    std::vector<uint64_t> log() const;

private:
    std::string m_name;
    mutable std::mutex m_mutex;
    std::vector<uint64_t> m_log;
    uint64_t m_scratch { 0 };
};

enum class Backend { Native, Process };
char const* backend_name(Backend backend);

class TestMachine {
public:
    struct Options {
        Backend backend { Backend::Native };
        std::string driver;                  // default: nktest
        uint64_t livelock_ms { 500 };
        unsigned channels { 8 };
        uint32_t poll_ns { 50'000 }; // IsolationOptions::poll_ns
    };

    // Boots; fails the current test (and returns null) on error.
    static std::unique_ptr<TestMachine> boot(TempDir const& dir, Options options);
    ~TestMachine();

    Kernel& kernel() { return *m_kernel; }
    DiskController& controller() { return *m_controller; }
    TestDevice& aux() { return *m_aux; }
    Module& module() { return *m_module; }
    IsolatedModule* isolated() { return dynamic_cast<IsolatedModule*>(m_module); }
    std::shared_ptr<Disk> disk() { return m_kernel->block().find("disk0"); }

    // The disk's ioctl, as an application's would reach it.
    Result<int> ioctl(uint32_t cmd, uint64_t arg = 0);

private:
    TestMachine() = default;
    std::unique_ptr<Kernel> m_kernel;
    DiskController* m_controller { nullptr };
    TestDevice* m_aux { nullptr };
    Module* m_module { nullptr };
};

std::string nktest_driver_path();

} // namespace nk::test
