// SPDX-License-Identifier: MIT
// `nooks run` as a user meets it: bad input gets one clear line and a non-zero
// exit, never a crash; good input boots, says `ready`, and stops cleanly.

#include "harness/Command.h"
#include "harness/KernelProcess.h"
#include "support/NetTestSupport.h"
#include "support/TestSupport.h"

#include <gtest/gtest.h>

#include <nooks/kernel.h>

#include <filesystem>
#include <fstream>
#include <sys/mount.h>

namespace nk {
namespace {

using harness::CommandResult;

CommandResult run_nooks(std::vector<std::string> args)
{
    args.insert(args.begin(), harness::find_nooks_binary());
    auto result = harness::run_command(args, { .timeout = std::chrono::seconds(60) });
    EXPECT_TRUE(result.has_value());
    return result.value_or(CommandResult {});
}

// Expects a failure that is an error message (one line naming `needle`), not a crash.
void expect_clean_error(CommandResult const& result, std::string const& needle)
{
    EXPECT_EQ(result.signal, 0) << result.output;
    EXPECT_NE(result.exit_code, 0) << result.output;
    EXPECT_NE(result.output.find("error"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find(needle), std::string::npos) << "expected '" << needle << "' in: " << result.output;
}

// `nooks --version` names the program's version and the kernel API version
// drivers must be built for.
TEST(Nooks, Version_NamesProgramAndKernelApi)
{
    auto result = run_nooks({ "--version" });
    EXPECT_EQ(result.exit_code, 0) << result.output;
    EXPECT_NE(result.output.find("nooks 0."), std::string::npos) << result.output;
    EXPECT_NE(result.output.find(fmt::format("kernel API version {}", NK_API_VERSION)), std::string::npos) << result.output;
}

class RunCommandTest : public ::testing::Test {
protected:
    std::vector<std::string> base_args()
    {
        std::vector<std::string> args { "run", "--mount", dir.file("disks"), "--control", dir.file("control.sock"), "--set",
            "disk0.image=" + dir.file("disk0.img"), "--set", "disk0.size=16MiB" };
        auto nic = test::test_nic();
        args.insert(args.end(), nic.set_args.begin(), nic.set_args.end());
        return args;
    }
    std::string write_config(std::string const& text)
    {
        auto path = dir.file("nooks.toml");
        // No NIC unless the text has one (a NIC takes namespaces).
        std::ofstream(path) << (text.find("nic") == std::string::npos ? "nic = []\n" : "") << text;
        return path;
    }
    test::TempDir dir;
};

// In the isolated modes the driver is loaded inside a domain; a missing or
// bogus driver file is still refused by name, not reported as a domain crash.
TEST_F(RunCommandTest, IsolatedModes_BadDriver_Refused)
{
    NK_REQUIRE_ROOT();
    std::ofstream(dir.file("fake.so")) << "this is not an ELF file\n";
    for (auto const* mode : { "nooks", "shadow" }) {
        SCOPED_TRACE(mode);
        auto args = base_args();
        args.insert(args.end(), { "--mode", mode, "--set", "disk0.driver=" + dir.file("nodriver.so") });
        expect_clean_error(run_nooks(args), "nodriver.so");
        args.back() = "disk0.driver=" + dir.file("fake.so");
        expect_clean_error(run_nooks(args), "fake.so");
    }
}

// An unknown mode is refused with the valid choices.
TEST_F(RunCommandTest, UnknownMode_Refused)
{
    auto args = base_args();
    args.insert(args.end(), { "--mode", "turbo" });
    expect_clean_error(run_nooks(args), "native, nooks or shadow");
}

// A size with an unknown unit is refused and named.
TEST_F(RunCommandTest, BadSize_Refused)
{
    auto args = base_args();
    args.back() = "disk0.size=12XB";
    expect_clean_error(run_nooks(args), "12XB");
}

// The one-disk flags of earlier versions are refused with what to write instead.
TEST_F(RunCommandTest, OldDiskFlags_RefusedWithGuidance)
{
    auto args = base_args();
    args.insert(args.end(), { "--disk", dir.file("other.img") });
    expect_clean_error(run_nooks(args), "--set disk0.image=");
    args = base_args();
    args.insert(args.end(), { "--driver", "nkdisk.so" });
    expect_clean_error(run_nooks(args), "--set disk0.driver=");
}

// --set names a device of the machine and a key of its kind.
TEST_F(RunCommandTest, SetUnknownDeviceOrKey_Refused)
{
    auto args = base_args();
    args.insert(args.end(), { "--set", "disk1.size=1GiB" });
    expect_clean_error(run_nooks(args), "no device disk1");
    args = base_args();
    args.insert(args.end(), { "--set", "disk0.sectors=12" });
    expect_clean_error(run_nooks(args), "disk0.sectors");
}

// An unknown key in the config file is refused and named.
TEST_F(RunCommandTest, UnknownConfigKey_Refused)
{
    auto args = base_args();
    args.insert(args.end(), { "--config", write_config("mode = \"native\"\n[[disk]]\nimgae = \"x\"\n") });
    expect_clean_error(run_nooks(args), "disk0.imgae");
    // The one-disk table of earlier versions is explained.
    args = base_args();
    args.insert(args.end(), { "--config", write_config("mode = \"native\"\n[disk]\nimage = \"x\"\n") });
    expect_clean_error(run_nooks(args), "[[disk]]");
}

// A config file that does not exist is refused and named.
TEST_F(RunCommandTest, MissingConfigFile_Refused)
{
    auto args = base_args();
    args.insert(args.end(), { "--config", dir.file("absent.toml") });
    expect_clean_error(run_nooks(args), "absent.toml");
}

// A missing driver file is refused before anything is mounted.
TEST_F(RunCommandTest, MissingDriver_Refused)
{
    auto args = base_args();
    args.insert(args.end(), { "--set", "disk0.driver=" + dir.file("nodriver.so") });
    expect_clean_error(run_nooks(args), "nodriver.so");
}

// A file that is not a nooks driver is refused with the reason.
TEST_F(RunCommandTest, NotADriver_Refused)
{
    NK_REQUIRE_ROOT();
    std::ofstream(dir.file("fake.so")) << "this is not an ELF file\n";
    auto args = base_args();
    args.insert(args.end(), { "--set", "disk0.driver=" + dir.file("fake.so") });
    expect_clean_error(run_nooks(args), "cannot load driver");
    // A real shared object that is not a driver.
    args.back() = "disk0.driver=/lib/x86_64-linux-gnu/libm.so.6";
    expect_clean_error(run_nooks(args), "not a nooks driver");
}

// Without root, `nooks run` says it needs root.
TEST_F(RunCommandTest, NotRoot_Refused)
{
    if (::geteuid() != 0)
        return expect_clean_error(run_nooks(base_args()), "needs root");
    if (!harness::have_program("setpriv"))
        GTEST_SKIP() << "setpriv (util-linux) not installed";
    std::vector<std::string> args { "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", harness::find_nooks_binary() };
    auto rest = base_args();
    args.insert(args.end(), rest.begin(), rest.end());
    auto result = harness::run_command(args, { .timeout = std::chrono::seconds(60) });
    ASSERT_TRUE(result);
    expect_clean_error(*result, "needs root");
}

// A mount point that already has something mounted on it is refused.
TEST_F(RunCommandTest, MountPointInUse_Refused)
{
    NK_REQUIRE_ROOT();
    std::filesystem::create_directories(dir.file("disks"));
    ASSERT_EQ(::mount("none", dir.file("disks").c_str(), "tmpfs", 0, nullptr), 0);
    auto result = run_nooks(base_args());
    ::umount2(dir.file("disks").c_str(), MNT_DETACH);
    expect_clean_error(result, "in use");
}

// Without /dev/fuse (hidden in a private mount namespace) the error says so.
TEST_F(RunCommandTest, NoFuseDevice_Refused)
{
    NK_REQUIRE_ROOT();
    if (!harness::have_program("unshare"))
        GTEST_SKIP() << "unshare (util-linux) not installed";
    std::string command = "mount -t tmpfs none /dev && exec " + harness::find_nooks_binary();
    for (auto const& arg : base_args())
        command += " '" + arg + "'";
    auto result = harness::run_command({ "unshare", "-m", "--propagation", "private", "sh", "-c", command },
        { .timeout = std::chrono::seconds(60) });
    ASSERT_TRUE(result);
    expect_clean_error(*result, "/dev/fuse");
}

// With no arguments at all, `nooks run` boots on its defaults and stops on
// SIGTERM. Run in a private mount namespace with tmpfs over /run and /var/lib,
// so the default paths leave nothing behind on this machine.
TEST_F(RunCommandTest, NoArguments_BootsOnDefaults)
{
    NK_REQUIRE_ROOT();
    if (!harness::have_program("unshare"))
        GTEST_SKIP() << "unshare (util-linux) not installed";
    auto script = fmt::format(
        "mount -t tmpfs none /run && mount -t tmpfs none /var/lib || exit 90\n"
        "{} run >/run/out 2>/run/err & pid=$!\n"
        "for i in $(seq 300); do grep -q ready /run/out && break; sleep 0.1; done\n"
        "test -f /run/nooks/disks/disk0 && echo DISK_FILE_OK\n"
        "test -f /var/lib/nooks/disk0.img && echo IMAGE_OK\n"
        "kill -TERM $pid; wait $pid; echo EXIT=$?\n"
        "cat /run/out; cat /run/err >&2\n",
        harness::find_nooks_binary());
    auto result = harness::run_command({ "unshare", "-m", "--propagation", "private", "sh", "-c", script },
        { .timeout = std::chrono::seconds(90) });
    ASSERT_TRUE(result);
    EXPECT_NE(result->output.find("DISK_FILE_OK"), std::string::npos) << result->output;
    EXPECT_NE(result->output.find("IMAGE_OK"), std::string::npos) << result->output;
    EXPECT_NE(result->output.find("EXIT=0"), std::string::npos) << result->output;
    EXPECT_NE(result->output.find("ready"), std::string::npos) << result->output;
    EXPECT_NE(result->output.find("nooks: stopped"), std::string::npos) << result->output;
}

// SIGINT stops a running kernel cleanly (exit 0) and unmounts its disks.
TEST_F(RunCommandTest, Sigint_CleanShutdown)
{
    NK_REQUIRE_ROOT();
    auto args = base_args();
    args.erase(args.begin()); // KernelProcess adds `run`
    auto kernel = harness::KernelProcess::start(
        { .nooks_binary = harness::find_nooks_binary(), .args = args, .log_path = dir.file("kernel.log") });
    ASSERT_TRUE(kernel) << kernel.error().message();
    EXPECT_TRUE(std::filesystem::exists(dir.file("disks/disk0")));
    (*kernel)->signal(SIGINT);
    ASSERT_TRUE((*kernel)->wait_exit(std::chrono::seconds(20)));
    EXPECT_EQ((*kernel)->exit_description(), "exit 0") << (*kernel)->log_tail();
    std::ifstream mounts("/proc/mounts");
    std::string text((std::istreambuf_iterator<char>(mounts)), std::istreambuf_iterator<char>());
    EXPECT_EQ(text.find(dir.file("disks")), std::string::npos);
}

} // namespace
} // namespace nk
