// SPDX-License-Identifier: MIT
// The short form of nooks-bench-net, as CI runs it: every mode boots, every
// workload moves real traffic through the driver, the isolated modes cross
// into their domain and native does not, a stream's stall around a driver
// failure is measured in the isolated modes (split into restart, replay and
// link-up in shadow mode), and nothing is left behind.

#include "harness/Command.h"
#include "harness/KernelProcess.h"
#include "support/NetTestSupport.h"
#include "support/TestSupport.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>

namespace nk::test {

TEST(NetBench, QuickRunMeasuresEveryMode)
{
    NK_REQUIRE_NET_ADMIN();
    for (auto const* program : { "iperf3", "nginx", "wrk", "curl" }) {
        if (!harness::have_program(program))
            GTEST_SKIP() << "needs " << program << " (scripts/install-deps.sh installs it)";
    }
    auto bench = std::filesystem::path(harness::find_nooks_binary()).parent_path() / "nooks-bench-net";
    if (!std::filesystem::exists(bench))
        GTEST_SKIP() << bench << " is not built (NOOKS_BUILD_BENCH is off)";
    TempDir dir;
    auto json_path = dir.file("net.json");
    auto result = harness::run_command({ bench.string(), "--quick", "--seconds", "1", "--no-ceiling", "--workloads", "send,web", "--modes",
                                           "native,nooks,shadow", "--work-dir", dir.file("work"), "--json", json_path },
        { .timeout = std::chrono::minutes(3) });
    ASSERT_TRUE(result);
    ASSERT_TRUE(result->ok()) << result->describe();

    auto json = nlohmann::json::parse(std::ifstream(json_path), nullptr, false);
    ASSERT_FALSE(json.is_discarded());
    std::map<std::string, nlohmann::json> by_mode;
    for (auto const& boot : json["boots"])
        by_mode[boot["mode"]] = boot;
    ASSERT_EQ(by_mode.size(), 3u) << json.dump(2);
    for (auto const& [mode, boot] : by_mode) {
        EXPECT_TRUE(boot["ok"].get<bool>()) << mode << ": " << boot["error"];
        EXPECT_EQ(boot["driver_failures"].get<unsigned>(), 0u) << mode;
        ASSERT_EQ(boot["samples"].size(), 2u) << mode;
        for (auto const& sample : boot["samples"]) {
            auto workload = sample["workload"].get<std::string>();
            EXPECT_GT(sample["value"].get<double>(), 0) << mode << " " << workload;
            // The kernel did the forwarding: it was charged for it.
            EXPECT_GT(sample["cpu_seconds"].get<double>(), 0) << mode << " " << workload;
            if (mode == "native")
                EXPECT_EQ(sample["crossings"].get<double>(), 0) << workload;
            else
                EXPECT_GT(sample["crossings_per_second"].get<double>(), 100) << workload;
        }
        if (mode == "native") {
            EXPECT_FALSE(boot.contains("stall")) << "native mode: a driver failure takes the kernel down; no stall to measure";
            continue;
        }
        ASSERT_TRUE(boot.contains("stall")) << mode;
        auto const& stall = boot["stall"];
        ASSERT_TRUE(stall["measured"].get<bool>()) << mode << ": " << stall["error"];
        EXPECT_GT(stall["megabytes"].get<double>(), 1) << mode;
        EXPECT_GT(stall["restart_ms"].get<double>(), 0) << mode;
        // The stream waited at least for the restart; with the shadow, also for the NIC's link (its default: 500 ms).
        EXPECT_GE(stall["longest_gap_ms"].get<double>(), stall["restart_ms"].get<double>()) << mode;
        if (mode == "shadow") {
            EXPECT_GT(stall["replay_ms"].get<double>(), 0);
            EXPECT_GE(stall["link_ms"].get<double>(), 400);
        }
    }
    // The kernels removed their namespaces (the bench names them nkb<pid>-...).
    auto namespaces = harness::run_command({ "ip", "netns", "list" });
    ASSERT_TRUE(namespaces);
    EXPECT_EQ(namespaces->output.find("nkb"), std::string::npos) << namespaces->output;
}

} // namespace nk::test
