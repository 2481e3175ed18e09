// SPDX-License-Identifier: MIT
// The shadow driver with real applications: sqlite3 transactions, a make+gcc
// build and a flac encode run together on ext4 while the driver is crashed
// again and again with different faults. In shadow mode every application
// finishes with the right output (read back from the disk after a cold
// remount) and no I/O error reaches the file system; the same run in nooks
// mode shows the failures the paper reported.

#include "harness/Command.h"
#include "control/ControlServer.h"
#include "harness/Ext4Stack.h"
#include "harness/Workloads.h"
#include "harness/KernelProcess.h"
#include "support/NetTestSupport.h"
#include "support/TestSupport.h"
#include "tools/eval/AppEval.h"

#include <filesystem>
#include <future>
#include <thread>

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

// Live updates of the disk driver under a database: `nooks ctl update`
// swaps three binaries in while sqlite3 commits; every transaction is there
// when the disk is read back cold, and each update is recorded as one.
TEST(ShadowApps, LiveDiskDriverUpdates_UnderADatabase)
{
    NK_REQUIRE_ROOT();
    if (!harness::have_program("sqlite3"))
        GTEST_SKIP() << "sqlite3 is not installed";
    test::TempDir dir { "nooks-live-update" };
    auto stack = harness::Ext4Stack::create({ .nooks_binary = harness::find_nooks_binary(), .mode = "shadow", .dir = dir.path(),
        .disk_size = "128MiB", .config_extra = "[isolation]\nagent = \"\"\n" });
    ASSERT_TRUE(stack) << stack.error().message();
    auto driver = std::filesystem::path(harness::find_nooks_binary()).parent_path().parent_path() / "lib/nooks/drivers/nkdisk.so";
    ASSERT_TRUE(std::filesystem::exists(driver)) << driver;
    std::vector<std::string> versions;
    for (auto const* name : { "nkdisk-v2.so", "nkdisk-v3.so" }) {
        versions.push_back(dir.file(name));
        std::filesystem::copy_file(driver, versions.back());
    }
    auto workspace = (*stack)->ext4() + "/db";
    std::filesystem::create_directories(workspace);
    constexpr harness::SqliteOptions database { .transactions = 3000, .rows = 20 };
    auto running = std::async(std::launch::async, [&] { return harness::run_sqlite(workspace, database); });
    auto control = [&](nlohmann::json const& request) {
        auto reply = control_request((*stack)->control(), request);
        EXPECT_TRUE(reply) << reply.error().message();
        return reply ? *reply : nlohmann::json {};
    };
    unsigned under_load = 0;
    for (int i = 0; i < 3; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        under_load += running.wait_for(std::chrono::seconds(0)) != std::future_status::ready ? 1 : 0;
        auto reply = control({ { "command", "update" }, { "driver", "nkdisk" }, { "path", versions[i % 2] } });
        ASSERT_TRUE(reply.value("ok", false)) << reply.dump();
        ASSERT_TRUE(test::wait_until(std::chrono::seconds(20), [&] {
            auto records = control({ { "command", "failures" } })["failures"];
            return records.size() == static_cast<size_t>(i + 1) && records.back().value("outcome", std::string()).starts_with("updated to");
        })) << control({ { "command", "failures" } }).dump();
    }
    auto result = running.get();
    ASSERT_TRUE(result) << result.error().message();
    EXPECT_EQ(under_load, 3u) << "sqlite3 finished before the updates were done: the test proves nothing";
    ASSERT_TRUE((*stack)->remount(true));
    auto verified = harness::verify_sqlite(workspace, database);
    EXPECT_TRUE(verified) << verified.error().message();
    auto records = control({ { "command", "failures" } })["failures"];
    ASSERT_EQ(records.size(), 3u);
    for (size_t i = 0; i < records.size(); ++i)
        EXPECT_EQ(records[i]["outcome"], "updated to " + versions[i % 2]) << records[i].dump();
    auto list = control({ { "command", "list" } });
    EXPECT_EQ(list.value("/classes/block/failed_requests_total"_json_pointer, uint64_t(1)), 0u) << list.dump();
    ASSERT_TRUE((*stack)->unmount_ext4());
    ASSERT_TRUE((*stack)->stop_kernel());
    EXPECT_EQ((*stack)->kernel().exit_description(), "exit 0");
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
        auto expected = cell.mode == "native" ? eval::Verdict::Crash
            : cell.mode == "shadow"           ? eval::Verdict::Ok
            : cell.app == "analyzer"          ? eval::Verdict::Malfunction
                                              : eval::Verdict::Invalid;
        if (expected != eval::Verdict::Invalid) {
            EXPECT_EQ(cell.verdict, expected);
        } else {
            EXPECT_NE(cell.verdict, eval::Verdict::Invalid); // nooks, transfer and session: measured, either way
        }
        // Every fault that fired was recovered, and nothing else failed the driver.
        if (cell.mode != "native") {
            EXPECT_EQ(cell.recoveries, cell.faults_fired);
            EXPECT_EQ(cell.faults_fired, cell.faults_injected);
        }
    }
}

} // namespace
} // namespace nk
