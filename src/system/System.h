// SPDX-License-Identifier: MIT
#pragma once

// A booted machine, as a Config describes it: the kernel, the emulated disk
// controller on its bus, the disk driver loaded in the configured mode, and the
// FUSE frontend. This is what `nooks run` runs; tests boot it in-process.
//
// boot() checks everything a user can get wrong first (privileges, /dev/fuse,
// driver file, mount point) and fails with one clear message before touching
// anything. Destruction shuts down in reverse: unmount, unload the driver,
// stop the kernel.

#include "base/Error.h"
#include "control/ControlServer.h"
#include "devices/disk/DiskController.h"
#include "frontends/fuse/FuseDiskFs.h"
#include "kernel/Kernel.h"
#include "nooks/recovery/RecoveryManager.h"
#include "shadow/block/BlockShadow.h"
#include "system/Config.h"

#include <memory>

namespace nk {

class System {
public:
    struct BootOptions {
        bool mount_fuse { true }; // false: kernel, device and driver only (unit tests)
    };

    static Result<std::unique_ptr<System>> boot(Config const& config, BootOptions options);
    static Result<std::unique_ptr<System>> boot(Config const& config) { return boot(config, BootOptions {}); }
    ~System();
    System(System const&) = delete;
    System& operator=(System const&) = delete;

    void shutdown();

    Config const& config() const { return m_config; }
    Kernel& kernel() { return *m_kernel; }
    DiskController& disk_controller() { return *m_disk_controller; }
    Module* disk_driver() const { return m_disk_driver; }
    FuseDiskFs* fuse() const { return m_fuse.get(); }
    ControlServer* control() const { return m_control.get(); }
    // Nooks and shadow modes: who restarts failed drivers.
    RecoveryManager* recovery() const { return m_recovery.get(); }
    // Shadow mode: the block class's shadow driver.
    BlockShadow* block_shadow() const { return m_block_shadow.get(); }
    // The disk file applications use ("/run/nooks/disks/disk0").
    std::string disk_file() const;
    bool created_image() const { return m_created_image; }

private:
    explicit System(Config config)
        : m_config(std::move(config))
    {
    }

    Config m_config;
    std::unique_ptr<Kernel> m_kernel;
    DiskController* m_disk_controller { nullptr };
    Module* m_disk_driver { nullptr };
    std::unique_ptr<FuseDiskFs> m_fuse;
    std::unique_ptr<ControlServer> m_control;
    std::unique_ptr<RecoveryManager> m_recovery;
    std::unique_ptr<BlockShadow> m_block_shadow;
    bool m_created_mount { false };
    bool m_created_image { false };
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
