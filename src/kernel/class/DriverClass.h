// SPDX-License-Identifier: MIT
#pragma once

// A driver class (block, net, sound) as the kernel holds it: the class's
// layer, registered with the kernel at boot, through which drivers register
// their devices (disks, net devices, cards) and applications reach them.
//
// The kernel knows a class only through this interface: when a driver goes
// (unloaded, or failed and being recovered), it asks every class to release
// what the driver still holds there, and recovery asks which devices a driver
// had registered, to check that its next instance brings them back. Each
// class lives in src/classes/<class>; see docs/ARCHITECTURE.md for how one is
// added.
//
// Lifetime: owned by the kernel, created before any driver loads, destroyed
// after every module is gone.
// Thread-safety: every method may be called from any kernel thread.

#include <string>
#include <string_view>
#include <vector>

namespace nk {

class Module;

class DriverClass {
public:
    virtual ~DriverClass() = default;

    // The class's name: "block" (also the name policies and the control socket use).
    virtual std::string_view name() const = 0;

    // The devices `module` has registered with the class, by name ("disk0").
    virtual std::vector<std::string> devices_of(Module const& module) const = 0;

    // `module` is gone (it was unloaded, or it failed): release what it still
    // holds in the class. Safe to call more than once.
    virtual void release_module(Module& module) = 0;

    // The kernel is ending (its destructor, before it unloads the modules):
    // from now on every device a driver releases really goes. A shadow keeps
    // none for a recovery that will not come, so no device outlives the
    // module it names.
    virtual void begin_shutdown() { }

    // One line per piece of work `module` holds in the class beyond its tracked
    // objects, for `nooks ctl objects` ("3 requests in flight on disk0").
    virtual std::vector<std::string> describe_held(Module const& module) const { return {}; }
};

} // namespace nk
