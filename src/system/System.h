// SPDX-License-Identifier: MIT
#pragma once

// A booted machine, as a Config describes it: the kernel with the classes of
// its catalog (their layers, shadows in shadow mode, and frontends), every
// device of the description plugged into the bus, and a driver instance per
// device loaded in the configured mode. This is what `nooks run` runs; tests
// boot it in-process, through the same builder.
//
// boot() checks everything a user can get wrong first (privileges, /dev/fuse,
// driver files, mount point) and fails with one clear message before touching
// anything. Destruction shuts down in reverse: the control socket, the
// frontends (unmount), recovery, the drivers, the kernel, the shadows.

#include "base/Error.h"
#include "control/ControlServer.h"
#include "frontends/Frontend.h"
#include "kernel/Kernel.h"
#include "nooks/recovery/RecoveryManager.h"
#include "shadow/ClassShadow.h"
#include "system/Catalog.h"
#include "system/Config.h"

#include <memory>

namespace nk {

class BusDevice;

class System {
public:
    struct BootOptions {
        bool mount_frontends { true }; // false: no FUSE, no privileges needed (unit tests)
        // Nooks mode only: false loads isolated drivers without a recovery
        // manager (a failed driver stays failed: isolation tests).
        bool recover { true };
    };

    static Result<std::unique_ptr<System>> boot(Config const& config, BootOptions options, Catalog const& catalog = Catalog::builtin());
    static Result<std::unique_ptr<System>> boot(Config const& config) { return boot(config, BootOptions {}); }
    ~System();
    System(System const&) = delete;
    System& operator=(System const&) = delete;

    void shutdown();

    Config const& config() const { return m_config; }
    Catalog const& catalog() const { return m_catalog; }
    Kernel& kernel() { return *m_kernel; }
    ControlServer* control() const { return m_control.get(); }
    // Nooks and shadow modes: who restarts failed drivers (null without recovery).
    RecoveryManager* recovery() const { return m_recovery.get(); }

    // The device the description names, and its emulated hardware as type T.
    BusDevice* device(std::string const& name) const;
    template<typename T>
    T* hardware(std::string const& name) const
    {
        auto* bus_device = device(name);
        return bus_device != nullptr ? dynamic_cast<T*>(&bus_device_hardware(*bus_device)) : nullptr;
    }
    // The driver instance serving device `name` now (it changes when the
    // driver is restarted), or null while none is bound.
    std::shared_ptr<Module> driver_of(std::string const& name) const;
    // The name of the driver instance configured for device `name` ("nkdisk@disk0").
    std::string driver_name(std::string const& name) const;

    // A class's shadow (shadow mode) and frontend, as type T; null if none.
    template<typename T>
    T* shadow() const
    {
        for (auto const& instance : m_classes) {
            if (auto* shadow = dynamic_cast<T*>(instance.shadow.get()))
                return shadow;
        }
        return nullptr;
    }
    template<typename T>
    T* frontend() const
    {
        for (auto const& instance : m_classes) {
            if (auto* frontend = dynamic_cast<T*>(instance.frontend.get()))
                return frontend;
        }
        return nullptr;
    }
    // Where applications reach device `name` ("/run/nooks/disks/disk0"), or empty.
    std::string endpoint(std::string const& name) const;

    // Each class's part of `nooks ctl list`, by class name (its shadow's under "shadow").
    nlohmann::json class_status() const;
    // What `module` holds in the classes beyond its tracked objects (`nooks ctl objects`).
    std::vector<std::string> describe_held(Module const& module) const;

private:
    System(Config config, Catalog const& catalog)
        : m_config(std::move(config))
        , m_catalog(catalog)
    {
    }
    static HardwareDevice& bus_device_hardware(BusDevice& device);
    Result<void> build_classes(BootOptions const& options);
    Result<void> plug_devices();
    Result<void> load_drivers(std::optional<struct IsolationOptions> const& isolation, BootOptions const& options);
    Result<void> start_frontends();

    struct ClassInstance {
        ClassPackage const* package { nullptr };
        DriverClass* layer { nullptr }; // owned by the kernel; null for a class with no layer
        std::unique_ptr<ClassShadow> shadow;
        std::unique_ptr<Frontend> frontend;
    };

    Config m_config;
    Catalog const& m_catalog;
    std::unique_ptr<Kernel> m_kernel;
    std::unique_ptr<RecoveryManager> m_recovery;
    std::vector<ClassInstance> m_classes;
    std::map<std::string, std::string> m_driver_names; // device -> driver instance
    std::unique_ptr<ControlServer> m_control;
    bool m_created_mount { false };
};

// Checks run by boot(), exposed for the CLI and tests.
Result<void> check_privileges();
Result<void> check_fuse_device();
Result<void> check_mount_point(std::string const& path);
Result<void> check_driver_file(std::string const& path);

struct IsolationOptions;
// The isolation settings of `config` (nooks and shadow modes), checked.
Result<IsolationOptions> isolation_options(Config const& config);

} // namespace nk
