// SPDX-License-Identifier: MIT
// The shadow driver with real applications: sqlite3 transactions, a make+gcc
// build and a flac encode run together on ext4 while the driver is crashed
// again and again with different faults. In shadow mode every application
// finishes with the right output (read back from the disk after a cold
// remount) and no I/O error reaches the file system; the same run in nooks
// mode shows the failures the paper reported.

#include "harness/Command.h"
#include "harness/KernelProcess.h"
#include "support/NetTestSupport.h"
#include "support/TestSupport.h"
#include "tools/eval/AppEval.h"

namespace nk {
namespace {

eval::Options concurrent(std::string mode)
{
    eval::Options options;
    options.classes = { "block" };
    options.modes = { std::move(mode) };
    options.apps = { "database", "compiler", "encoder" };
    options.faults = 5;
    options.concurrent = true;
    options.nooks_binary = harness::find_nooks_binary();
    return options;
}

TEST(ShadowApps, RepeatedCrashes_EveryAppCompletesCorrectly)
{
    NK_REQUIRE_ROOT();
    if (!harness::have_program("flac"))
        GTEST_SKIP() << "flac is not installed";
    auto cells = eval::evaluate(concurrent("shadow"), [](std::string const& line) { std::fprintf(stderr, "%s\n", line.c_str()); });
    ASSERT_TRUE(cells) << cells.error().message();
    ASSERT_EQ(cells->size(), 3u);
    for (auto const& cell : *cells) {
        EXPECT_EQ(cell.verdict, eval::Verdict::Ok) << cell.app << ": " << cell.why;
        EXPECT_EQ(cell.failed_requests, 0u) << cell.app << ": an I/O error reached the file system";
        // Repeatedly: several faults fired and each was recovered.
        EXPECT_GE(cell.faults_fired, 2u) << cell.why;
        EXPECT_EQ(cell.recoveries, cell.faults_fired) << cell.why;
    }
}

TEST(ShadowApps, SameRunInNooksMode_ApplicationsFail)
{
    NK_REQUIRE_ROOT();
    if (!harness::have_program("flac"))
        GTEST_SKIP() << "flac is not installed";
    auto cells = eval::evaluate(concurrent("nooks"), [](std::string const& line) { std::fprintf(stderr, "%s\n", line.c_str()); });
    ASSERT_TRUE(cells) << cells.error().message();
    unsigned failed = 0;
    for (auto const& cell : *cells) {
        EXPECT_NE(cell.verdict, eval::Verdict::Invalid) << cell.app << ": " << cell.why;
        failed += cell.verdict == eval::Verdict::Crash || cell.verdict == eval::Verdict::Malfunction ? 1 : 0;
        EXPECT_GE(cell.recoveries, 1u) << "the driver itself is recovered in nooks mode";
    }
    // The disk is replaced under ext4: applications using it fail.
    EXPECT_GE(failed, 1u);
}

// The seed's network rows, measured: file transfer, remote session and network
// analyzer under net driver faults in each mode. Natively every fault takes
// the kernel down; under nooks the analyzer stops capturing (its interface is
// replaced by the restarted driver's); with the shadow driver all three work.
TEST(ShadowApps, NetworkRows_MatchTheSeedsTable)
{
    NK_REQUIRE_ROOT();
    if (auto reason = test::missing_net_privileges(); !reason.empty())
        GTEST_SKIP() << reason;
    eval::Options options;
    options.classes = { "net" };
    options.nooks_binary = harness::find_nooks_binary();
    if (auto valid = eval::validate(options); !valid)
        GTEST_SKIP() << valid.error().message();
    auto cells = eval::evaluate(options, [](std::string const& line) { std::fprintf(stderr, "%s\n", line.c_str()); });
    ASSERT_TRUE(cells) << cells.error().message();
    ASSERT_EQ(cells->size(), 9u);
    for (auto const& cell : *cells) {
        SCOPED_TRACE(cell.mode + " " + cell.app + ": " + cell.why);
        EXPECT_GE(cell.faults_fired, 1u);
        if (cell.mode == "native")
            EXPECT_EQ(cell.verdict, eval::Verdict::Crash);
        else if (cell.mode == "shadow")
            EXPECT_EQ(cell.verdict, eval::Verdict::Ok);
        else if (cell.app == "analyzer")
            EXPECT_EQ(cell.verdict, eval::Verdict::Malfunction);
        else
            EXPECT_NE(cell.verdict, eval::Verdict::Invalid);
        // Every fault that fired was recovered, and nothing else failed the driver.
        if (cell.mode != "native")
            EXPECT_EQ(cell.recoveries, cell.faults_fired);
        if (cell.mode != "native")
            EXPECT_EQ(cell.faults_fired, cell.faults_injected);
    }
}

} // namespace
} // namespace nk
