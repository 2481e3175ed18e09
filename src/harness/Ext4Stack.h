// SPDX-License-Identifier: MIT
#pragma once

// A real storage stack over a nooks disk, built and torn down in the only safe
// order, for everything that runs real applications on a disk driver: the
// demo, the evaluation, the benchmarks and the integration tests.
//
//   `nooks run` (a child: a native-mode crash kills it, not the caller)
//     -> the FUSE disk file <dir>/disks/disk0
//       -> a loop device with direct I/O (no second page cache)
//         -> ext4, mounted at <dir>/ext4
//
// Teardown (the destructor, on every path): ext4, the loop device, then the
// kernel (SIGTERM, SIGKILL after a grace period), then whatever FUSE mount a
// dead kernel left behind. The caller owns `dir` (it exists before create()).
//
// Thread-safety: one thread builds and tears down; kernel() and the paths may
// be read from any thread meanwhile.

#include "base/Error.h"
#include "harness/KernelProcess.h"
#include "harness/LoopDevice.h"
#include "harness/Mount.h"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace nk::harness {

class Ext4Stack {
public:
    struct Options {
        std::string nooks_binary;          // default: find_nooks_binary()
        std::string mode { "native" };     // native | nooks | shadow
        std::string dir;                   // an existing directory for everything
        std::string disk_size { "256MiB" };
        std::string image;                 // default: <dir>/disk0.img
        std::string driver;                // default: the disk kind's
        std::string config_extra;          // TOML appended to the kernel's configuration ([isolation] keys...)
        std::vector<std::string> run_args; // more `nooks run` arguments
        bool ext4 { true };                // false: stop once the disk file is there (attach_ext4 later)
        std::vector<std::string> mkfs_options; // extra mkfs.ext4 options
        // Called after each step with what it did: ("boot the kernel (shadow mode)", "256 MiB disk at ...").
        std::function<void(std::string const& step, std::string const& detail)> on_step;
    };

    static Result<std::unique_ptr<Ext4Stack>> create(Options options);
    ~Ext4Stack();
    Ext4Stack(Ext4Stack const&) = delete;
    Ext4Stack& operator=(Ext4Stack const&) = delete;

    // Loop device, mkfs.ext4 (with `mkfs_options`), mount. Once.
    Result<void> attach_ext4(std::vector<std::string> const& mkfs_options = {});
    // Unmounts ext4, drops every cache if asked, mounts it again: what is read
    // afterwards comes from the disk.
    Result<void> remount(bool drop_caches = true);
    // The teardown's steps, for callers that check each: ext4, loop, kernel.
    Result<void> unmount_ext4();
    Result<void> detach_loop();
    Result<void> stop_kernel(std::chrono::milliseconds grace = std::chrono::seconds(20));

    KernelProcess& kernel() { return *m_kernel; }
    LoopDevice* loop() const { return m_loop.get(); }
    bool mounted() const { return m_mount != nullptr; }
    std::string const& dir() const { return m_options.dir; }
    std::string control() const { return m_options.dir + "/control.sock"; }
    std::string disks() const { return m_options.dir + "/disks"; }
    std::string disk_file() const { return disks() + "/disk0"; }
    std::string ext4() const { return m_options.dir + "/ext4"; }
    std::string config_file() const { return m_options.dir + "/nooks.toml"; }
    std::string log_path() const { return m_options.dir + "/kernel.log"; }

private:
    explicit Ext4Stack(Options options)
        : m_options(std::move(options))
    {
    }
    void step(std::string const& name, std::string const& detail) const;

    Options m_options;
    // Declaration order is teardown order, reversed: mount, loop, kernel.
    std::unique_ptr<KernelProcess> m_kernel;
    std::unique_ptr<LoopDevice> m_loop;
    std::unique_ptr<Mount> m_mount;
};

} // namespace nk::harness
