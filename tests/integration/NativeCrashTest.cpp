// SPDX-License-Identifier: MIT
// The baseline: in native mode a driver fault is a kernel fault. The same
// injected fault that nooks mode recovers from takes the kernel process down
// (and with it the mount applications were using).

#include "control/ControlServer.h"
#include "harness/Command.h"
#include "harness/KernelProcess.h"
#include "support/NetTestSupport.h"
#include "support/TestSupport.h"

#include <fcntl.h>
#include <filesystem>
#include <sys/mount.h>
#include <unistd.h>

namespace nk {
namespace {

struct NativeFault {
    char const* fault;
    int signal; // how the kernel dies
};

class NativeCrash : public ::testing::TestWithParam<NativeFault> { };

TEST_P(NativeCrash, FaultTakesKernelDown)
{
    NK_REQUIRE_ROOT();
    test::TempDir dir { "nooks-native-crash" };
    auto mount_point = dir.file("disks");
    std::vector<std::string> args { "--mode", "native", "--mount", mount_point, "--control", dir.file("control.sock"), "--set",
        "disk0.image=" + dir.file("disk0.img"), "--set", "disk0.size=16MiB" };
    auto nic = test::test_nic();
    args.insert(args.end(), nic.set_args.begin(), nic.set_args.end());
    // The kernel dies: the namespaces its NIC made stay behind; they go with the test.
    std::vector<std::unique_ptr<test::ForeignNamespaceGuard>> leftovers;
    for (auto const& name : nic.namespaces())
        leftovers.push_back(std::make_unique<test::ForeignNamespaceGuard>(name));
    auto started = harness::KernelProcess::start({ .nooks_binary = harness::find_nooks_binary(), .args = args, .log_path = dir.file("kernel.log") });
    ASSERT_TRUE(started) << started.error().message();
    auto kernel = std::move(*started);
    // The kernel dies in this test: its FUSE mount must still go away afterwards.
    struct Unmount {
        std::string path;
        ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
    } unmount { mount_point };

    auto armed = control_request(dir.file("control.sock"),
        { { "command", "inject" }, { "driver", "nkdisk" }, { "fault", GetParam().fault }, { "entry", "blk_queue_rq" } });
    ASSERT_TRUE(armed);
    ASSERT_TRUE((*armed)["ok"].get<bool>()) << armed->dump();

    // An application writes; the driver faults inside the kernel process.
    int fd = ::open((mount_point + "/disk0").c_str(), O_WRONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    char block[4096] = { 1 };
    auto written = ::pwrite(fd, block, sizeof(block), 0);
    ::close(fd);
    EXPECT_EQ(written, -1) << "the write succeeded although the kernel died";

    ASSERT_TRUE(kernel->wait_exit(std::chrono::seconds(20))) << "the kernel survived a native driver fault";
    EXPECT_EQ(kernel->exit_description(), fmt::format("killed by signal {} ({})", GetParam().signal, strsignal(GetParam().signal)));
    // What applications had open is gone with it.
    struct stat st { };
    EXPECT_NE(::stat((mount_point + "/disk0").c_str(), &st), 0);
}

INSTANTIATE_TEST_SUITE_P(Faults, NativeCrash,
    ::testing::Values(NativeFault { "null-deref", SIGSEGV }, NativeFault { "wild-write-kernel", SIGSEGV }, NativeFault { "panic", SIGABRT },
        NativeFault { "double-free", SIGABRT }),
    [](auto const& info) {
        std::string name = info.param.fault;
        std::ranges::replace(name, '-', '_');
        return name;
    });

} // namespace
} // namespace nk
