// SPDX-License-Identifier: MIT
// The command runner every application workload goes through: output, exit
// status, and a timeout that lets the program clean up before it is killed.

#include "harness/Command.h"

#include <gtest/gtest.h>

namespace nk::harness {
namespace {

TEST(CommandTest, CapturesOutputAndExitCode)
{
    auto result = run_command({ "sh", "-c", "echo out; echo err >&2; exit 3" });
    ASSERT_TRUE(result) << result.error().message();
    EXPECT_EQ(result->exit_code, 3);
    EXPECT_EQ(result->signal, 0);
    EXPECT_FALSE(result->ok());
    EXPECT_NE(result->output.find("out"), std::string::npos);
    EXPECT_NE(result->output.find("err"), std::string::npos);
}

TEST(CommandTest, FeedsStdin)
{
    auto result = run_command({ "cat" }, { .input = "hello\n" });
    ASSERT_TRUE(result);
    EXPECT_TRUE(result->ok());
    EXPECT_EQ(result->output, "hello\n");
}

TEST(CommandTest, MissingProgram_IsAnError)
{
    auto result = run_command({ "nooks-no-such-program-xyz" });
    EXPECT_FALSE(result.has_value() && result->ok());
}

// A timed-out program gets SIGTERM first, so its handler runs (a kernel
// unmounts its FUSE disks there) before anything is killed.
TEST(CommandTest, Timeout_TerminatesPolitelyFirst)
{
    auto result = run_command({ "sh", "-c", "trap 'echo cleaned; exit 7' TERM; while :; do sleep 0.05; done" },
        { .timeout = std::chrono::milliseconds(300) });
    ASSERT_TRUE(result);
    EXPECT_TRUE(result->timed_out);
    EXPECT_FALSE(result->ok());
    EXPECT_EQ(result->exit_code, 7) << result->describe();
}

// A program that ignores SIGTERM is still killed after the grace period.
TEST(CommandTest, Timeout_KillsWhatIgnoresTerm)
{
    auto result = run_command({ "sh", "-c", "trap '' TERM; while :; do sleep 0.05; done" },
        { .timeout = std::chrono::milliseconds(200) });
    ASSERT_TRUE(result);
    EXPECT_TRUE(result->timed_out);
    EXPECT_EQ(result->signal, SIGKILL);
}

TEST(CommandTest, RunChecked_NamesTheFailingCommand)
{
    auto result = run_checked({ "sh", "-c", "echo boom; exit 2" });
    ASSERT_FALSE(result);
    EXPECT_NE(result.error().message().find("sh -c"), std::string::npos) << result.error().message();
    EXPECT_NE(result.error().message().find("boom"), std::string::npos) << result.error().message();
}

} // namespace
} // namespace nk::harness
