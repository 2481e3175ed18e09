// SPDX-License-Identifier: MIT
#pragma once

// The full stack real applications use: a kernel process (`nooks run`), its
// FUSE disk file, a loop device with direct I/O over it, ext4 on the loop
// device, mounted. Teardown always runs in the only safe order: unmount ext4,
// detach the loop device, then stop the kernel (which unmounts FUSE), even
// when an assertion failed.

#include "harness/Command.h"
#include "harness/KernelProcess.h"
#include "harness/LoopDevice.h"
#include "harness/Mount.h"
#include "support/TestSupport.h"

#include <filesystem>

namespace nk::test {

class StackFixture : public ::testing::TestWithParam<char const*> {
protected:
    void SetUp() override
    {
        NK_REQUIRE_ROOT();
        for (auto const* program : { "mkfs.ext4", "sqlite3", "make", "gcc" }) {
            if (!harness::have_program(program))
                GTEST_SKIP() << program << " is not installed";
        }
        std::filesystem::create_directories(dir.file("disks"));
        std::filesystem::create_directories(dir.file("ext4"));
        auto started = harness::KernelProcess::start({ .nooks_binary = harness::find_nooks_binary(),
            .args = { "--mode", mode(), "--mount", dir.file("disks"), "--control", dir.file("control.sock"), "--disk", dir.file("disk0.img"), "--disk-size", "256MiB" },
            .log_path = dir.file("kernel.log") });
        ASSERT_TRUE(started) << started.error().message();
        kernel = std::move(*started);
        auto attached = harness::LoopDevice::attach(disk_file(), true);
        ASSERT_TRUE(attached) << attached.error().message();
        loop = std::move(*attached);
        auto formatted = harness::run_checked({ "mkfs.ext4", "-q", "-F", loop->path() });
        ASSERT_TRUE(formatted) << formatted.error().message();
        remount();
    }

    void TearDown() override
    {
        mount.reset();
        loop.reset();
        if (kernel) {
            auto stopped = kernel->stop();
            EXPECT_TRUE(stopped) << stopped.error().message();
            EXPECT_EQ(kernel->exit_description(), "exit 0") << kernel->log_tail();
        }
        kernel.reset();
    }

    // The mode under test: the parameter of the suite (native, nooks...).
    std::string mode() const { return GetParam(); }
    std::string disk_file() const { return dir.file("disks/disk0"); }
    std::string ext4() const { return dir.file("ext4"); }

    // Unmounts ext4 (if mounted), drops every cache, mounts it again: what is
    // read afterwards comes from the disk.
    void remount(bool drop = false)
    {
        if (mount) {
            ASSERT_TRUE(mount->unmount());
            mount.reset();
        }
        if (drop) {
            ASSERT_TRUE(harness::drop_caches());
        }
        auto mounted = harness::Mount::mount(loop->path(), ext4(), "ext4");
        ASSERT_TRUE(mounted) << mounted.error().message();
        mount = std::move(*mounted);
    }

    // Declaration order is teardown order, reversed: mount, loop, kernel.
    TempDir dir { "nooks-stack" };
    std::unique_ptr<harness::KernelProcess> kernel;
    std::unique_ptr<harness::LoopDevice> loop;
    std::unique_ptr<harness::Mount> mount;
};

} // namespace nk::test
