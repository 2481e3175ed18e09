// SPDX-License-Identifier: MIT
#pragma once

// A driver loaded into the kernel process (native mode): dlopen, direct calls.
// Its kernel API imports bind to the kernel's own exported nk_* functions.
// There is no protection: a driver fault is a kernel fault.

#include "kernel/module/Module.h"
#include "kernel/module/ModuleDescriptor.h"
#include "tools/inject/Fault.h"

#include <nooks/kernel.h>

namespace nk {

class NativeModule final : public Module {
public:
    static Result<std::unique_ptr<NativeModule>> load(Kernel& kernel, std::string const& path);
    ~NativeModule() override;

    Result<void> start() override;
    void stop() override;
    Isolation isolation() const override { return Isolation::Native; }

    // Faults armed by `nooks ctl inject`; the native ports consult it before each call.
    inject::Injector& injector() { return m_injector; }

private:
    NativeModule(Kernel& kernel, std::string name, std::string path, void* handle, nk_module const* descriptor)
        : Module(kernel, std::move(name), std::move(path))
        , m_handle(handle)
        , m_descriptor(descriptor)
    {
    }

    void* m_handle;
    nk_module const* m_descriptor;
    inject::Injector m_injector;
};

// Before a native port calls the driver: performs an armed fault, in the
// kernel process (there is no protection in native mode). Returns true if the
// call must be skipped and reported as successful (skip-init).
bool native_inject(Module& module, abi::DriverEntry entry, void* own_data, std::optional<uint64_t> sector = std::nullopt);

} // namespace nk
