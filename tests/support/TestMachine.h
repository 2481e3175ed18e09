// SPDX-License-Identifier: MIT
#pragma once

// A machine with an NKDISK controller (disk0) and an auxiliary NKAUX test
// device (aux0) on its bus (and, if asked, an NKTICK clock, tick0), and one
// driver loaded natively or in a protection
// domain: what the XPC, wrapper and isolation tests run against, one suite for
// both backends. Booted by System from a machine description, like `nooks run`
// (no frontends, no recovery: a failed driver stays failed).

#include "classes/block/Disk.h"
#include "devices/aux/AuxDevice.h"
#include "devices/disk/DiskController.h"
#include "kernel/Kernel.h"
#include "nooks/module/IsolatedModule.h"
#include "support/TestSupport.h"
#include "system/System.h"

#include <vector>

namespace nk::test {

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
        bool pin_workers { true };   // IsolationOptions::pin_workers
        bool tick { false };         // also an NKTICK clock, tick0 (nktest runs it at 1 kHz)
    };

    // Boots; fails the current test (and returns null) on error.
    static std::unique_ptr<TestMachine> boot(TempDir const& dir, Options options);
    ~TestMachine();

    System& system() { return *m_system; }
    Kernel& kernel() { return m_system->kernel(); }
    DiskController& controller() { return *m_system->hardware<DiskController>("disk0"); }
    AuxDevice& aux() { return *m_system->hardware<AuxDevice>("aux0"); }
    Module& module() { return *m_module; }
    IsolatedModule* isolated() { return dynamic_cast<IsolatedModule*>(m_module.get()); }
    std::shared_ptr<Disk> disk();

    // The disk's ioctl, as an application's would reach it.
    Result<int> ioctl(uint32_t cmd, uint64_t arg = 0);

private:
    TestMachine() = default;
    std::unique_ptr<System> m_system;
    std::shared_ptr<Module> m_module;
};

std::string nktest_driver_path();

} // namespace nk::test
