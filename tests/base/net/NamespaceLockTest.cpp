// SPDX-License-Identifier: MIT
// The lock file of a namespace name: taken once (a second taker, even in the
// same process, is refused with the owner's pid), recorded with the owner's
// pid, left behind when its owner goes without removing it (and then known
// as left behind, with the previous pid), gone after remove().

#include "base/net/NamespaceLock.h"
#include "support/NetTestSupport.h"
#include "support/TestSupport.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace nk {
namespace {

pid_t recorded_pid(std::string const& name)
{
    std::ifstream file(NamespaceLock::path_of(name));
    pid_t pid = 0;
    file >> pid;
    return pid;
}

class NamespaceLockTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        if (::geteuid() != 0)
            GTEST_SKIP() << "needs root (lock files in " << NamespaceLock::directory << ")";
    }
    void TearDown() override
    {
        std::error_code error;
        std::filesystem::remove(NamespaceLock::path_of(name), error);
    }

    std::string name { test::unique_namespace_name("lock") };
};

TEST_F(NamespaceLockTest, IsTakenOnceAndRecordsItsOwner)
{
    auto lock = NK_ASSERT_OK(NamespaceLock::acquire(name));
    EXPECT_FALSE(lock.was_left_behind());
    EXPECT_EQ(lock.previous_owner(), 0);
    EXPECT_EQ(recorded_pid(name), ::getpid());

    auto second = NamespaceLock::acquire(name);
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code(), ErrorCode::AlreadyExists);
    EXPECT_EQ(second.error().message(), fmt::format("network namespace {} is in use by a running nooks (pid {})", name, ::getpid()));

    // A holder whose recorded pid is gone (a child that inherited the lock) is still a holder.
    std::ofstream(NamespaceLock::path_of(name)) << "999999999\n";
    auto third = NamespaceLock::acquire(name);
    ASSERT_FALSE(third);
    EXPECT_EQ(third.error().code(), ErrorCode::AlreadyExists);
    EXPECT_NE(third.error().message().find(fmt::format("a process holds the lock {}", NamespaceLock::path_of(name))), std::string::npos)
        << third.error().message();
}

TEST_F(NamespaceLockTest, AnOwnerThatGoesLeavesItBehind)
{
    {
        auto lock = NK_ASSERT_OK(NamespaceLock::acquire(name));
    }
    EXPECT_TRUE(std::filesystem::exists(NamespaceLock::path_of(name)));
    auto again = NK_ASSERT_OK(NamespaceLock::acquire(name));
    EXPECT_TRUE(again.was_left_behind());
    EXPECT_EQ(again.previous_owner(), ::getpid());
    EXPECT_EQ(recorded_pid(name), ::getpid());

    again.remove();
    EXPECT_FALSE(std::filesystem::exists(NamespaceLock::path_of(name)));
    auto fresh = NK_ASSERT_OK(NamespaceLock::acquire(name));
    EXPECT_FALSE(fresh.was_left_behind());
}

TEST_F(NamespaceLockTest, ALeftFileWithoutAPidHasNoPreviousOwner)
{
    std::filesystem::create_directories(NamespaceLock::directory);
    std::ofstream(NamespaceLock::path_of(name)) << "not a pid\n";
    auto lock = NK_ASSERT_OK(NamespaceLock::acquire(name));
    EXPECT_TRUE(lock.was_left_behind());
    EXPECT_EQ(lock.previous_owner(), 0);
    EXPECT_EQ(recorded_pid(name), ::getpid());
}

} // namespace
} // namespace nk
