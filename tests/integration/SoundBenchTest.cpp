// SPDX-License-Identifier: MIT
// The short form of nooks-bench-sound, as CI runs it: every mode boots and
// plays the MP3 through the driver, in real time and exactly; the kernel is
// charged CPU for it; the isolated modes cross into their domain and native
// does not; the driver never failed in the clean play; through one failure
// the nooks player fails and the shadow one finishes, exactly, with less
// than 100 ms of silence.

#include "harness/Command.h"
#include "harness/KernelProcess.h"
#include "support/SoundTestSupport.h"
#include "support/TestSupport.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>

namespace nk::test {

TEST(SoundBench, QuickRunPlaysInEveryMode)
{
    if (auto reason = missing_privileges(); !reason.empty())
        GTEST_SKIP() << reason;
    if (auto reason = missing_programs({ "mpg123", "sox", "lame" }); !reason.empty())
        GTEST_SKIP() << reason;
    auto bench = std::filesystem::path(harness::find_nooks_binary()).parent_path() / "nooks-bench-sound";
    if (!std::filesystem::exists(bench))
        GTEST_SKIP() << bench << " is not built (NOOKS_BUILD_BENCH is off)";
    TempDir dir;
    auto json_path = dir.file("sound.json");
    auto result = harness::run_command({ bench.string(), "--quick", "--seconds", "2", "--modes", "native,nooks,shadow", "--work-dir",
                                           dir.file("work"), "--json", json_path },
        { .timeout = std::chrono::minutes(3) });
    ASSERT_TRUE(result);
    ASSERT_TRUE(result->ok()) << result->describe();

    auto json = nlohmann::json::parse(std::ifstream(json_path), nullptr, false);
    ASSERT_FALSE(json.is_discarded());
    EXPECT_NEAR(json["clip"]["seconds"].get<double>(), 2.0, 0.1);
    std::map<std::string, nlohmann::json> by_mode;
    for (auto const& boot : json["boots"])
        by_mode[boot["mode"]] = boot;
    ASSERT_EQ(by_mode.size(), 3u) << json.dump(2);
    for (auto const& [mode, boot] : by_mode) {
        ASSERT_TRUE(boot["ok"].get<bool>()) << mode << ": " << boot["error"];
        EXPECT_EQ(boot["driver_failures"].get<unsigned>(), 0u) << mode;
        EXPECT_TRUE(boot["exact"].get<bool>()) << mode << ": " << boot["mismatch"];
        // Paced by the card: the player takes the audio's length, not less.
        EXPECT_GE(boot["player_seconds"].get<double>(), boot["audio_seconds"].get<double>() * 0.95) << mode;
        EXPECT_NEAR(boot["speaker_pace"].get<double>(), 1.0, 0.05) << mode;
        EXPECT_GT(boot["cpu_seconds"].get<double>(), 0) << mode;
        if (mode == "native") {
            EXPECT_EQ(boot["crossings"].get<double>(), 0);
            EXPECT_FALSE(boot.contains("failure")) << "native mode: a driver failure takes the kernel down";
            continue;
        }
        EXPECT_GT(boot["crossings_per_second"].get<double>(), 10) << mode;
        // The play through one driver failure.
        ASSERT_TRUE(boot.contains("failure")) << mode;
        auto const& failure = boot["failure"];
        ASSERT_TRUE(failure["measured"].get<bool>()) << mode << ": " << failure["error"];
        EXPECT_GT(failure["recovery_ms"].get<double>(), 0) << mode;
        if (mode == "nooks") {
            EXPECT_FALSE(failure["player_ok"].get<bool>()) << "nooks: the player's card failed under it";
        } else {
            EXPECT_TRUE(failure["player_ok"].get<bool>()) << failure["player_error"];
            EXPECT_TRUE(failure["exact"].get<bool>()) << failure["mismatch"];
            EXPECT_LT(failure["gap_ms"].get<double>(), 100) << "the failure's silence";
        }
    }
}

} // namespace nk::test
