// SPDX-License-Identifier: MIT
#pragma once

// The full stack real applications use (harness::Ext4Stack): a kernel process
// (`nooks run`), its FUSE disk file, a loop device with direct I/O over it,
// ext4 on the loop device, mounted. Teardown always runs in the only safe
// order (unmount ext4, detach the loop device, then stop the kernel, which
// unmounts FUSE), even when an assertion failed; a clean run must end with the
// kernel exiting 0.

#include "harness/Command.h"
#include "harness/Ext4Stack.h"
#include "support/TestSupport.h"

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
        auto built = harness::Ext4Stack::create({ .mode = mode(), .dir = dir.path(), .disk_size = "256MiB" });
        ASSERT_TRUE(built) << built.error().message();
        stack = std::move(*built);
    }

    void TearDown() override
    {
        if (!stack)
            return;
        auto stopped = stack->stop_kernel();
        EXPECT_TRUE(stopped) << stopped.error().message();
        EXPECT_EQ(stack->kernel().exit_description(), "exit 0") << stack->kernel().log_tail();
        stack.reset();
    }

    // The mode under test: the parameter of the suite (native, nooks...).
    std::string mode() const { return GetParam(); }
    std::string disk_file() const { return stack->disk_file(); }
    std::string ext4() const { return stack->ext4(); }
    std::string control() const { return stack->control(); }
    harness::KernelProcess& kernel() { return stack->kernel(); }
    harness::LoopDevice& loop() { return *stack->loop(); }

    // Unmounts ext4, drops every cache if asked, mounts it again: what is
    // read afterwards comes from the disk.
    void remount(bool drop = false) { ASSERT_TRUE(stack->remount(drop)); }

    TempDir dir { "nooks-stack" };
    std::unique_ptr<harness::Ext4Stack> stack;
};

} // namespace nk::test
