// SPDX-License-Identifier: MIT
// `nooks ctl` against a running kernel: what it lists, what a driver holds,
// and who may ask.

#include "control/ControlServer.h"
#include "harness/Command.h"
#include "harness/KernelProcess.h"
#include "support/NetTestSupport.h"
#include "support/TestSupport.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <set>
#include <sys/stat.h>

namespace nk {
namespace {

class CtlCommand : public ::testing::TestWithParam<char const*> {
protected:
    void SetUp() override
    {
        NK_REQUIRE_ROOT();
        auto started = harness::KernelProcess::start({ .nooks_binary = harness::find_nooks_binary(),
            .args = run_args(),
            .log_path = dir.file("kernel.log") });
        ASSERT_TRUE(started) << started.error().message();
        kernel = std::move(*started);
    }
    void TearDown() override
    {
        if (kernel) {
            EXPECT_TRUE(kernel->stop());
        }
    }
    std::string socket() const { return dir.file("control.sock"); }
    std::vector<std::string> run_args() const
    {
        std::vector<std::string> args { "--mode", GetParam(), "--mount", dir.file("disks"), "--control", socket(), "--set",
            "disk0.image=" + dir.file("disk0.img"), "--set", "disk0.size=16MiB" };
        auto nic = test::test_nic();
        args.insert(args.end(), nic.set_args.begin(), nic.set_args.end());
        return args;
    }
    harness::CommandResult ctl(std::vector<std::string> args)
    {
        std::vector<std::string> argv { harness::find_nooks_binary(), "ctl", "--control", socket() };
        argv.insert(argv.end(), args.begin(), args.end());
        return harness::run_command(argv).value_or(harness::CommandResult {});
    }

    test::TempDir dir;
    std::unique_ptr<harness::KernelProcess> kernel;
};

// `list --json` names the driver, its mode and state, and the disk.
TEST_P(CtlCommand, List_DriverAndDisk)
{
    auto result = ctl({ "--json", "list" });
    ASSERT_TRUE(result.ok()) << result.output;
    auto reply = nlohmann::json::parse(result.output);
    // The default machine: a disk and a NIC, each with its driver.
    ASSERT_EQ(reply["modules"].size(), 2u);
    auto const& module = reply["modules"][0];
    EXPECT_EQ(reply["modules"][1]["name"], "nknet@nic0");
    EXPECT_EQ(reply["modules"][1]["state"], "live");
    EXPECT_EQ(reply["classes"]["net"]["devices"][0]["name"], "nic0");
    EXPECT_EQ(reply["classes"]["net"]["devices"][0]["driver"], "nknet@nic0");
    EXPECT_EQ(module["name"], "nkdisk@disk0");
    EXPECT_EQ(module["module"], "nkdisk");
    EXPECT_EQ(module["device"], "disk0");
    EXPECT_EQ(module["state"], "live");
    EXPECT_EQ(module["isolation"], std::string(GetParam()) == "native" ? "native" : "isolated");
    EXPECT_EQ(reply["classes"]["block"]["disks"][0]["name"], "disk0");
    EXPECT_EQ(reply["classes"]["block"]["disks"][0]["driver"], "nkdisk@disk0");
    EXPECT_EQ(reply["devices"][0]["driver"], "nkdisk@disk0");
    EXPECT_EQ(reply["devices"][0]["reserved_for"], "disk0");
    // Options of `ctl` work after the subcommand too, where users type them.
    auto after = ctl({ "list", "--json" });
    ASSERT_TRUE(after.ok()) << after.output;
    EXPECT_EQ(nlohmann::json::parse(after.output)["modules"][0]["name"], module["name"]);
    // And the table for people mentions the same.
    auto table = ctl({ "list" });
    ASSERT_TRUE(table.ok()) << table.output;
    EXPECT_NE(table.output.find("nkdisk@disk0"), std::string::npos);
    EXPECT_NE(table.output.find("block disks"), std::string::npos) << table.output;
}

// `objects` lists what an isolated driver holds, by type; native drivers are not tracked.
TEST_P(CtlCommand, Objects_ByType)
{
    auto result = ctl({ "--json", "objects", "nkdisk" });
    if (std::string(GetParam()) == "native") {
        EXPECT_FALSE(result.ok());
        EXPECT_NE(result.output.find("runs natively"), std::string::npos) << result.output;
        return;
    }
    ASSERT_TRUE(result.ok()) << result.output;
    std::set<std::string> types;
    auto reply = nlohmann::json::parse(result.output);
    for (auto const& object : reply["objects"])
        types.insert(object["type"].get<std::string>());
    for (auto const* expected : { "bus-driver", "device", "register-window", "dma-buffer", "irq", "work", "disk", "lock", "memory" })
        EXPECT_TRUE(types.contains(expected)) << expected;
}

// An unknown driver and an unknown command get clear errors.
TEST_P(CtlCommand, BadRequests_ClearErrors)
{
    auto missing = ctl({ "objects", "nosuchdriver" });
    EXPECT_FALSE(missing.ok());
    EXPECT_NE(missing.output.find("no driver named nosuchdriver"), std::string::npos) << missing.output;
    auto reply = control_request(socket(), { { "command", "explode" } });
    ASSERT_TRUE(reply);
    EXPECT_FALSE((*reply)["ok"].get<bool>());
    EXPECT_NE((*reply)["error"].get<std::string>().find("unknown command"), std::string::npos);
}

// Only root or the kernel's user may talk to it: the socket is 0600, and even
// when opened up, the kernel checks the peer's credentials.
TEST_P(CtlCommand, Unprivileged_Refused)
{
    struct stat st { };
    ASSERT_EQ(::stat(socket().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    if (!harness::have_program("setpriv"))
        GTEST_SKIP() << "setpriv (util-linux) not installed";
    ASSERT_EQ(::chmod(socket().c_str(), 0666), 0);
    ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
    auto result = harness::run_command({ "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", harness::find_nooks_binary(),
        "ctl", "--control", socket(), "list" });
    ASSERT_TRUE(result);
    EXPECT_FALSE(result->ok());
    EXPECT_NE(result->output.find("permission denied"), std::string::npos) << result->output;
}

INSTANTIATE_TEST_SUITE_P(Modes, CtlCommand, ::testing::Values("native", "nooks"), [](auto const& info) { return std::string(info.param); });

// Without a kernel, ctl says so.
TEST(CtlNoKernel, NoSocket_ClearError)
{
    test::TempDir dir;
    auto result = harness::run_command({ harness::find_nooks_binary(), "ctl", "--control", dir.file("none.sock"), "list" });
    ASSERT_TRUE(result);
    EXPECT_EQ(result->exit_code, 1);
    EXPECT_NE(result->output.find("is `nooks run` running?"), std::string::npos) << result->output;
}

} // namespace
} // namespace nk
