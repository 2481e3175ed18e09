// SPDX-License-Identifier: MIT
#pragma once

// A driver loaded into the kernel process (native mode): dlopen, direct calls.
// Its kernel API imports bind to the kernel's own exported nk_* functions.
// There is no protection: a driver fault is a kernel fault.

#include "kernel/module/Module.h"
#include "kernel/module/ModuleDescriptor.h"
#include "inject/Injector.h"

#include <nooks/kernel.h>

namespace nk {

class NativeModule final : public Module {
public:
    // Loads a private copy of the driver file (so two instances of one driver
    // never share its data), not started yet. `binding`: see Kernel::load_module.
    static Result<std::unique_ptr<NativeModule>> load(Kernel& kernel, std::string const& path, std::string const& binding = {});
    ~NativeModule() override;

    Result<void> start() override;
    void stop() override;
    Isolation isolation() const override { return Isolation::Native; }

    // Faults armed by `nooks ctl inject`; the native ports consult it before each call.
    inject::Injector& injector() { return m_injector; }
    // The driver's descriptor in its loaded copy (two instances: two copies, two addresses).
    nk_module const* descriptor() const { return m_descriptor; }

private:
    NativeModule(Kernel& kernel, std::string name, std::string path, std::string binding, void* handle, int copy_fd,
        nk_module const* descriptor)
        : Module(kernel, std::move(name), std::move(path), std::move(binding))
        , m_handle(handle)
        , m_copy_fd(copy_fd)
        , m_descriptor(descriptor)
    {
    }

    void* m_handle;
    int m_copy_fd; // the private copy dlopen mapped, open while it is loaded
    nk_module const* m_descriptor;
    inject::Injector m_injector;
};

// Before a native port calls the driver: performs an armed fault, in the
// kernel process (there is no protection in native mode). Returns true if the
// call must be skipped and reported as successful (skip-init).
// `target`: the call's class-defined injection target (block: the request's sector).
bool native_inject(Module& module, abi::DriverEntry entry, void* own_data, std::optional<uint64_t> target = std::nullopt);

} // namespace nk
