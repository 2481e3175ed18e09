// SPDX-License-Identifier: MIT
// Real applications on ext4 on a loop device on the nkdisk driver, in every mode.

#include "StackFixture.h"
#include "harness/Workloads.h"

namespace nk {
namespace {

using Ext4Stack = test::StackFixture;

// sqlite3 commits 200 fsync'd transactions; integrity_check and row counts
// hold, also after the file system is remounted with cold caches.
TEST_P(Ext4Stack, Sqlite_TransactionsIntegrityAndCounts)
{
    auto report = harness::run_sqlite(ext4());
    ASSERT_TRUE(report) << report.error().message();
    remount(true);
    auto verified = harness::verify_sqlite(ext4());
    ASSERT_TRUE(verified) << verified.error().message();
}

// make + gcc build a C program on the disk; it runs and prints the right values,
// also after a cold remount.
TEST_P(Ext4Stack, MakeGcc_BuildsAndRuns)
{
    auto report = harness::run_build(ext4());
    ASSERT_TRUE(report) << report.error().message();
    remount(true);
    auto verified = harness::verify_build(ext4());
    ASSERT_TRUE(verified) << verified.error().message();
}

// Data written, caches dropped, data read back identical.
TEST_P(Ext4Stack, Data_SurvivesDropCaches)
{
    auto path = ext4() + "/pattern.bin";
    auto written = harness::write_pattern_file(path, 48ull << 20, 42);
    ASSERT_TRUE(written) << written.error().message();
    ASSERT_TRUE(harness::run_checked({ "sync" }));
    remount(true);
    auto read = harness::checksum_file(path);
    ASSERT_TRUE(read) << read.error().message();
    EXPECT_EQ(*read, *written);
}

// After a clean teardown the image holds a consistent file system (e2fsck on
// the image file itself, with no nooks code involved) with the data in it.
TEST_P(Ext4Stack, Image_ConsistentAfterShutdown)
{
    auto written = harness::write_pattern_file(ext4() + "/kept.bin", 8ull << 20, 7);
    ASSERT_TRUE(written);
    TearDown();
    auto fsck = harness::run_command({ "e2fsck", "-f", "-n", dir.file("disk0.img") });
    ASSERT_TRUE(fsck);
    EXPECT_EQ(fsck->exit_code, 0) << fsck->output;
    // debugfs reads the file straight from the image.
    auto dumped = harness::run_checked({ "debugfs", "-R", "dump /kept.bin " + dir.file("kept.out"), dir.file("disk0.img") });
    ASSERT_TRUE(dumped) << dumped.error().message();
    auto read = harness::checksum_file(dir.file("kept.out"));
    ASSERT_TRUE(read);
    EXPECT_EQ(*read, *written);
}

// Every test runs against the same driver file, loaded natively and in a protection domain.
INSTANTIATE_TEST_SUITE_P(Modes, Ext4Stack, ::testing::Values("native", "nooks"), [](auto const& info) { return std::string(info.param); });

} // namespace
} // namespace nk
