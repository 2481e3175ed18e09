// SPDX-License-Identifier: MIT
#pragma once

// The machine the XPC benchmark measures: a kernel with an NKDISK controller
// and the NKAUX test device on its bus, and the nktest driver loaded either
// natively (direct calls in this process) or in a protection domain process
// (XPC). The same machine the XPC tests boot (System, from a machine
// description), without GoogleTest: errors come back as Results.

#include "base/Error.h"
#include "classes/block/Disk.h"
#include "devices/aux/AuxDevice.h"
#include "kernel/Kernel.h"
#include "nooks/module/IsolatedModule.h"
#include "system/System.h"

#include <memory>
#include <string>

namespace nk::bench {

enum class Backend { Native, Process };
char const* backend_name(Backend backend);

class XpcMachine {
public:
    static Result<std::unique_ptr<XpcMachine>> boot(Backend backend);
    ~XpcMachine();
    XpcMachine(XpcMachine const&) = delete;
    XpcMachine& operator=(XpcMachine const&) = delete;

    Backend backend() const { return m_backend; }
    AuxDevice& aux() { return *m_aux; }
    // The driver's module when it runs in a domain; null for the native backend.
    IsolatedModule* isolated() { return m_isolated; }

    // The disk's ioctl, as an application holding the disk open reaches it.
    Result<int> ioctl(uint32_t cmd, uint64_t arg = 0) { return m_disk->ioctl(cmd, arg); }

    // A crossing into the driver that runs no driver code: the domain's null
    // entry through IsolatedModule::call, or natively a crossing scope around
    // an indirect call of an empty function (what a native port does).
    Result<void> null_call();

private:
    XpcMachine(Backend backend, std::string scratch_dir);

    Backend m_backend;
    std::string m_scratch_dir;
    std::unique_ptr<System> m_system;
    AuxDevice* m_aux { nullptr };
    std::shared_ptr<Module> m_module;
    IsolatedModule* m_isolated { nullptr };
    std::shared_ptr<Disk> m_disk;
};

// lib/nooks/drivers/nktest.so next to this program's bin/ (build tree and installation alike).
std::string nktest_driver_path();

} // namespace nk::bench
