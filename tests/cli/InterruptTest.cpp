// SPDX-License-Identifier: MIT
// Ctrl-C in the middle of `nooks demo` and `nooks eval`: the tool stops its
// applications and tears its stack down in order (ext4, loop device, kernel
// and FUSE mount), leaving no mount, loop device or process behind.

#include "harness/Command.h"
#include "harness/KernelProcess.h"
#include "support/TestSupport.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace nk {
namespace {

// Everything on this machine that still refers to `dir`: mounts, loop device
// backing files, process command lines.
std::vector<std::string> leftovers(std::string const& dir)
{
    std::vector<std::string> found;
    std::ifstream mounts("/proc/mounts");
    for (std::string line; std::getline(mounts, line);)
        if (line.find(dir) != std::string::npos)
            found.push_back("mount: " + line);
    std::error_code error;
    for (auto const& entry : std::filesystem::directory_iterator("/sys/block", error)) {
        std::ifstream backing(entry.path() / "loop" / "backing_file");
        std::string file;
        if (std::getline(backing, file) && file.find(dir) != std::string::npos)
            found.push_back("loop device: " + entry.path().filename().string() + " on " + file);
    }
    for (auto const& entry : std::filesystem::directory_iterator("/proc", error)) {
        std::ifstream cmdline(entry.path() / "cmdline");
        std::string text((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
        std::ranges::replace(text, '\0', ' ');
        if (text.find(dir) != std::string::npos && text.find("sh -c") == std::string::npos)
            found.push_back("process " + entry.path().filename().string() + ": " + text);
    }
    return found;
}

// Starts `command` (which works under `dir`), waits until its output shows
// `ready_line`, sends SIGINT, and returns the script's report.
harness::CommandResult interrupt_after(std::string const& command, std::string const& dir, std::string const& ready_line)
{
    auto script = fmt::format("{} >{}/out 2>&1 & pid=$!\n"
                              "for i in $(seq 1200); do grep -q '{}' {}/out && break; sleep 0.1; done\n"
                              "sleep 1; kill -INT $pid; wait $pid; echo EXIT=$?\n"
                              "cat {}/out\n",
        command, dir, ready_line, dir, dir);
    auto result = harness::run_command({ "sh", "-c", script }, { .timeout = std::chrono::minutes(5) });
    EXPECT_TRUE(result);
    return result.value_or(harness::CommandResult {});
}

class InterruptTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        NK_REQUIRE_ROOT();
        for (auto const* program : { "mkfs.ext4", "sqlite3", "make", "gcc", "flac" })
            if (!harness::have_program(program))
                GTEST_SKIP() << program << " is not installed";
    }
    test::TempDir dir;
};

TEST_F(InterruptTest, Demo_CleansUpOnSigint)
{
    auto work = dir.file("demo");
    auto result = interrupt_after(fmt::format("{} demo --workdir {}", harness::find_nooks_binary(), work), dir.path(), "mount ext4");
    EXPECT_FALSE(result.timed_out) << result.output;
    EXPECT_EQ(result.output.find("EXIT=0"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("interrupted"), std::string::npos) << result.output;
    EXPECT_EQ(leftovers(dir.path()), std::vector<std::string> {}) << result.output;
}

TEST_F(InterruptTest, Eval_CleansUpOnSigint)
{
    auto result = interrupt_after(
        fmt::format("{} eval apps --modes shadow --apps database --workdir {}", harness::find_nooks_binary(), dir.path()), dir.path(),
        "fault 1");
    EXPECT_FALSE(result.timed_out) << result.output;
    EXPECT_EQ(result.output.find("EXIT=0"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("interrupted"), std::string::npos) << result.output;
    EXPECT_EQ(leftovers(dir.path()), std::vector<std::string> {}) << result.output;
}

} // namespace
} // namespace nk
