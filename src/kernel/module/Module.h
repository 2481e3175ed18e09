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
    // The instance's name, unique in the kernel: the driver's own name
    // (nk_module.name), with "@<binding>" when it is bound to one device
    // ("nkdisk@disk0"). The same across the restarts of a driver.
    std::string const& name() const { return m_name; }
    // What the driver calls itself ("nkdisk").
    std::string const& module_name() const { return m_module_name; }
    // The device this instance is for (it probes no device reserved for
    // another instance), or empty.
    std::string const& binding() const { return m_binding; }
    std::string const& path() const { return m_path; }
    ModuleState state() const { return m_state.load(std::memory_order_acquire); }
    // True if both are instances of one driver (one restarted or replaced by
    // the other): the same binding, or, unbound, the same name.
    // What same_driver_as compares, as a value that outlives the instance
    // (its successors share it).
    std::string driver_identity() const { return m_binding.empty() ? "name:" + m_name : "binding:" + m_binding; }
    bool same_driver_as(Module const& other) const
    {
        return m_binding.empty() && other.m_binding.empty() ? m_name == other.m_name : m_binding == other.m_binding;
    }

protected:
    Module(Kernel& kernel, std::string module_name, std::string path, std::string binding)
        : m_kernel(kernel)
        , m_path(std::move(path))
    {
        set_module_name(std::move(module_name), std::move(binding));
    }
    void set_state(ModuleState state) { m_state.store(state, std::memory_order_release); }
    // Before start(): the name the driver gave itself (learned once it is loaded).
    void set_module_name(std::string module_name, std::string binding)
    {
        m_module_name = std::move(module_name);
        m_binding = std::move(binding);
        m_name = m_binding.empty() ? m_module_name : m_module_name + "@" + m_binding;
    }

private:
    Kernel& m_kernel;
    std::string m_name;
    std::string m_module_name;
    std::string m_binding;
    std::string m_path;
    std::atomic<ModuleState> m_state { ModuleState::Loaded };
};

} // namespace nk
