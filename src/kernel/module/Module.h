// SPDX-License-Identifier: MIT
#pragma once

// The kernel's record of one loaded driver (an "extension").
//
// A module is created by the kernel's loader, started once (the driver's init
// runs, which registers its bus driver and probes devices) and stopped once
// (remove for each device, then exit). Subclasses decide where the driver's
// code runs: NativeModule loads it into the kernel process, an isolated module
// loads it into a protection domain. Everything else in the kernel talks to a
// driver only through the ports the module creates, never through raw
// function pointers.
//
// Thread-safety: start()/stop() are called by the kernel's control thread;
// state() and name() from any thread.

#include "base/Error.h"

#include <atomic>
#include <cstdint>
#include <string>

namespace nk {

class Kernel;

enum class ModuleState : unsigned char {
    Loaded,   // file loaded, init not run yet
    Live,     // init succeeded
    Failed,   // the driver faulted; only recovery or unload may follow
    Stopped,  // exit ran; nothing of the driver is left in the kernel
};

char const* module_state_name(ModuleState state);

enum class Isolation : unsigned char {
    Native,   // direct calls in the kernel process
    Isolated, // protection domain, wrappers, XPC
};

class Module {
public:
    virtual ~Module() = default;
    Module(Module const&) = delete;
    Module& operator=(Module const&) = delete;

    // Runs the driver's init. On error the driver is left holding nothing.
    virtual Result<void> start() = 0;
    // Runs the driver's exit (which unregisters its drivers and devices).
    virtual void stop() = 0;

    virtual Isolation isolation() const = 0;

    Kernel& kernel() const { return m_kernel; }
    std::string const& name() const { return m_name; }
    std::string const& path() const { return m_path; }
    ModuleState state() const { return m_state.load(std::memory_order_acquire); }

protected:
    Module(Kernel& kernel, std::string name, std::string path)
        : m_kernel(kernel)
        , m_name(std::move(name))
        , m_path(std::move(path))
    {
    }
    void set_state(ModuleState state) { m_state.store(state, std::memory_order_release); }
    void set_name(std::string name) { m_name = std::move(name); }

private:
    Kernel& m_kernel;
    std::string m_name;
    std::string m_path;
    std::atomic<ModuleState> m_state { ModuleState::Loaded };
};

} // namespace nk
