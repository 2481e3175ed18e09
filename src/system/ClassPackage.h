// SPDX-License-Identifier: MIT
#pragma once

// A driver class's package: everything the machine needs of one class, from
// the class's own folders: the kinds of device whose drivers belong to it,
// its layer in the kernel, its shadow driver, its frontend, and what it
// reports to the control socket. System builds a machine from its
// description through the packages of its catalog (system/Catalog.h) and
// names no class itself. One package per class, in src/system/<class>.
//
// Thread-safety: a package is immutable; its factories are called by the
// thread that boots the machine.

#include "base/Error.h"
#include "system/Config.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <string_view>

namespace nk {

class ClassShadow;
class DriverClass;
class Frontend;
class HardwareDevice;
class RecoveryManager;

class ClassPackage {
public:
    virtual ~ClassPackage() = default;

    virtual std::string_view name() const = 0;
    // The kinds of device whose drivers are of this class (owned by the package).
    virtual DeviceKinds device_kinds() const = 0;

    // The class's layer, registered with the kernel before any driver loads;
    // null for a class with no layer of its own (test devices).
    virtual Result<std::unique_ptr<DriverClass>> create_class(Config const& config) const = 0;
    // Shadow mode: the class's shadow driver, tapped into `layer` before any
    // driver registers a device and observing `recovery`; null if the class
    // has none.
    virtual Result<std::unique_ptr<ClassShadow>> create_shadow(DriverClass& layer, RecoveryManager& recovery) const = 0;
    // A device of one of the package's kinds was plugged in (before any
    // driver loads): the class may keep what it needs of the hardware (the
    // net class's receive-stall probe reads the NIC's counters). The layer
    // dies before the bus, so it may keep references to `hardware`.
    virtual Result<void> device_plugged(DriverClass& layer, std::string const& name, HardwareDevice& hardware) const
    {
        (void)layer, (void)name, (void)hardware;
        return {};
    }
    // The frontend applications use (mounted under config.mount), once the
    // drivers are loaded; null if the class has none.
    virtual Result<std::unique_ptr<Frontend>> create_frontend(DriverClass& layer, Config const& config) const = 0;

    // The class's part of `nooks ctl list` (its devices and counters).
    virtual nlohmann::json status(DriverClass const& layer) const = 0;
};

} // namespace nk
