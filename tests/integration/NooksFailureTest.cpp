// SPDX-License-Identifier: MIT
// Nooks mode with real applications: a driver failure under a running
// workload is contained and recovered (the kernel lives on, the driver comes
// back with a new disk0), but ext4 on the old disk sees I/O errors, as Nooks'
// applications did before shadow drivers.

#include "StackFixture.h"
#include "control/ControlServer.h"
#include "harness/Workloads.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <thread>

namespace nk {
namespace {

using NooksFailure = test::StackFixture;

TEST_P(NooksFailure, DriverCrashUnderSqlite_KernelLivesFileSystemSeesErrors)
{
    struct stat before { };
    ASSERT_EQ(::stat(disk_file().c_str(), &before), 0);
    // The fault fires on the 300th request the driver gets: well inside the workload.
    auto armed = control_request(control(),
        { { "command", "inject" }, { "driver", "nkdisk" }, { "fault", "null-deref" }, { "entry", "blk_queue_rq" }, { "after", 300 } });
    ASSERT_TRUE(armed);
    ASSERT_TRUE((*armed)["ok"].get<bool>()) << armed->dump();

    auto workload = harness::run_sqlite(ext4(), { .transactions = 400, .rows = 20 });
    // The application does not get through unharmed: its I/O failed (or its
    // file system aborted under it).
    EXPECT_FALSE(workload) << "sqlite3 finished as if nothing happened";

    // The kernel is alive, and recovered the driver.
    EXPECT_TRUE(kernel().running());
    auto restarted = test::wait_until(std::chrono::seconds(4), [&] {
        auto reply = control_request(control(), { { "command", "list" } });
        // The failure record is filed just after the driver goes live: wait for both.
        auto failures = control_request(control(), { { "command", "failures" } });
        if (!reply || !failures)
            return false;
        // While the driver is being recovered it has no module loaded: the list may be empty.
        auto const& modules = (*reply)["modules"];
        return !modules.empty() && modules[0].value("restarts", 0) >= 1 && modules[0].value("state", std::string()) == "live"
            && !(*failures)["failures"].empty();
    });
    ASSERT_TRUE(restarted) << "the driver was not restarted";
    auto failures = control_request(control(), { { "command", "failures" } });
    ASSERT_TRUE(failures);
    ASSERT_GE((*failures)["failures"].size(), 1u);
    EXPECT_EQ((*failures)["failures"][0]["cause"], "crash");
    EXPECT_EQ((*failures)["failures"][0]["outcome"], "restarted");

    // The new driver registered a new disk: a new file, usable at once.
    struct stat after { };
    ASSERT_EQ(::stat(disk_file().c_str(), &after), 0);
    EXPECT_NE(after.st_ino, before.st_ino);
    int fd = ::open(disk_file().c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    char block[4096];
    EXPECT_EQ(::pread(fd, block, sizeof(block), 1 << 20), static_cast<ssize_t>(sizeof(block)));
    ::close(fd);

    // The old file is dead: the loop device on it fails every read.
    auto probe = harness::run_command({ "dd", "if=" + loop().path(), "of=/dev/null", "bs=4096", "count=1", "iflag=direct" });
    ASSERT_TRUE(probe);
    EXPECT_NE(probe->exit_code, 0) << probe->output;
}

// Nooks mode only: in native mode the same fault would take the kernel down.
INSTANTIATE_TEST_SUITE_P(Modes, NooksFailure, ::testing::Values("nooks"), [](auto const& info) { return std::string(info.param); });

} // namespace
} // namespace nk
