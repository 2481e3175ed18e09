// SPDX-License-Identifier: MIT
// The recovery policy on its own: what decide() answers for a rule and a
// failure count, which rule applies to a driver, and how a policy file is
// read (every mistake is refused with the key that is wrong).

#include "agent/Policy.h"

#include <gtest/gtest.h>

namespace nk {
namespace {

PolicyRule restart_rule(uint64_t initial, uint64_t backoff, uint64_t max)
{
    PolicyRule rule;
    rule.backoff_initial_ms = initial;
    rule.backoff_ms = backoff;
    rule.backoff_max_ms = max;
    return rule;
}

// Without backoff settings the first restart and every later one happen at once.
TEST(PolicyDecide, FirstRestart_Immediate)
{
    PolicyRule rule;
    for (unsigned failures : { 1u, 2u, 10u }) {
        auto decision = decide(rule, failures);
        EXPECT_EQ(decision.action, RecoveryAction::Restart);
        EXPECT_EQ(decision.delay_ms, 0u) << failures;
    }
    // backoff_ms alone leaves the first restart immediate.
    EXPECT_EQ(decide(restart_rule(0, 100, 1000), 1).delay_ms, 0u);
}

// backoff_initial_ms delays the first restart.
TEST(PolicyDecide, BackoffInitial_DelaysFirstRestart)
{
    auto decision = decide(restart_rule(250, 0, 30'000), 1);
    EXPECT_EQ(decision.action, RecoveryAction::Restart);
    EXPECT_EQ(decision.delay_ms, 250u);
    EXPECT_NE(decision.reason.find("250 ms"), std::string::npos) << decision.reason;
}

// The second restart waits backoff_ms, each later one twice as long, up to backoff_max_ms.
TEST(PolicyDecide, Backoff_DoublesAndCaps)
{
    auto rule = restart_rule(0, 100, 1000);
    std::vector<uint64_t> delays;
    for (unsigned failures = 1; failures <= 7; ++failures)
        delays.push_back(decide(rule, failures).delay_ms);
    EXPECT_EQ(delays, (std::vector<uint64_t> { 0, 100, 200, 400, 800, 1000, 1000 }));
    // Far past the cap (and past any shift width) it stays capped.
    EXPECT_EQ(decide(rule, 100).delay_ms, 1000u);
    EXPECT_EQ(decide(rule, 1'000'000).delay_ms, 1000u);
}

// give_up_after failures within the window disable the driver; fewer restart it.
TEST(PolicyDecide, GiveUpAfter_Threshold)
{
    PolicyRule rule;
    rule.give_up_after = 3;
    rule.window_s = 60;
    EXPECT_EQ(decide(rule, 1).action, RecoveryAction::Restart);
    EXPECT_EQ(decide(rule, 2).action, RecoveryAction::Restart);
    auto decision = decide(rule, 3);
    EXPECT_EQ(decision.action, RecoveryAction::GiveUp);
    EXPECT_EQ(decision.delay_ms, 0u);
    EXPECT_NE(decision.reason.find("3 failures within 60 s"), std::string::npos) << decision.reason;
    EXPECT_EQ(decide(rule, 4).action, RecoveryAction::GiveUp);
}

// give_up_after = 0 never gives up.
TEST(PolicyDecide, GiveUpAfterZero_Never)
{
    PolicyRule rule;
    EXPECT_EQ(decide(rule, 1'000'000).action, RecoveryAction::Restart);
}

// action = "give-up" gives up on the first failure.
TEST(PolicyDecide, GiveUpAction_FirstFailure)
{
    PolicyRule rule;
    rule.action = RecoveryAction::GiveUp;
    auto decision = decide(rule, 1);
    EXPECT_EQ(decision.action, RecoveryAction::GiveUp);
    EXPECT_FALSE(decision.reason.empty());
}

// action = "replace" names the replacement, keeps the backoff, and still gives up at the limit.
TEST(PolicyDecide, Replace_NamesReplacement)
{
    auto rule = restart_rule(0, 50, 1000);
    rule.action = RecoveryAction::Replace;
    rule.replacement = "/opt/nooks/safe.so";
    rule.give_up_after = 4;
    auto first = decide(rule, 1);
    EXPECT_EQ(first.action, RecoveryAction::Replace);
    EXPECT_EQ(first.replacement, "/opt/nooks/safe.so");
    EXPECT_EQ(first.delay_ms, 0u);
    EXPECT_EQ(decide(rule, 3).delay_ms, 100u);
    EXPECT_EQ(decide(rule, 4).action, RecoveryAction::GiveUp);
}

// The kernel's fallback: restart at once, give up after 10 failures within 60 s.
TEST(PolicyDecide, Builtin_TenInSixty)
{
    auto rule = builtin_policy();
    EXPECT_EQ(rule.action, RecoveryAction::Restart);
    EXPECT_EQ(decide(rule, 9).action, RecoveryAction::Restart);
    EXPECT_EQ(decide(rule, 9).delay_ms, 0u);
    EXPECT_EQ(decide(rule, 10).action, RecoveryAction::GiveUp);
    EXPECT_EQ(rule.window_s, 60u);
}

// Action names round-trip; others are refused with the choices.
TEST(PolicyActions, Names_RoundTrip)
{
    for (auto action : { RecoveryAction::Restart, RecoveryAction::GiveUp, RecoveryAction::Replace })
        EXPECT_EQ(parse_recovery_action(recovery_action_name(action)).value(), action);
    auto bad = parse_recovery_action("reboot");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message().find("reboot"), std::string::npos);
}

// A driver's own rule wins over its class's, which wins over the default; whole rules, not keys.
TEST(PolicyRules, RuleFor_DriverThenClassThenDefault)
{
    auto policy = PolicySet::parse(R"(
[default]
backoff_ms = 1
[class.block]
backoff_ms = 2
[driver.nkdisk]
give_up_after = 7
)", "test.toml");
    ASSERT_TRUE(policy) << policy.error().message();
    EXPECT_EQ(policy->rule_for("nkdisk", "block").give_up_after, 7u);
    // The driver's rule replaces the class rule entirely: its backoff is the built-in 0.
    EXPECT_EQ(policy->rule_for("nkdisk", "block").backoff_ms, 0u);
    EXPECT_EQ(policy->rule_for("nkdisk", "net").give_up_after, 7u);
    EXPECT_EQ(policy->rule_for("other", "block").backoff_ms, 2u);
    EXPECT_EQ(policy->rule_for("other", "net").backoff_ms, 1u);
    EXPECT_EQ(policy->rule_for("other", "").backoff_ms, 1u);
}

// An instance bound to a device ("nkdisk@disk1") follows its driver's rule,
// unless it has one of its own.
TEST(PolicyRules, RuleFor_InstanceThenItsDriver)
{
    auto policy = PolicySet::parse(R"(
[class.block]
backoff_ms = 2
[driver.nkdisk]
give_up_after = 7
[driver."nkdisk@disk1"]
give_up_after = 3
)", "test.toml");
    ASSERT_TRUE(policy) << policy.error().message();
    EXPECT_EQ(policy->rule_for("nkdisk@disk0", "block").give_up_after, 7u);
    EXPECT_EQ(policy->rule_for("nkdisk@disk1", "block").give_up_after, 3u);
    EXPECT_EQ(policy->rule_for("other@disk0", "block").backoff_ms, 2u);
}

// Every key of a rule is read.
TEST(PolicyParse, AllKeys_Read)
{
    auto policy = PolicySet::parse(R"(
[default]
action = "replace"
backoff_initial_ms = 5
backoff_ms = 10
backoff_max_ms = 2000
give_up_after = 4
window_s = 30
replacement = "/x/y.so"
notify = "logger nooks"
)", "test.toml");
    ASSERT_TRUE(policy) << policy.error().message();
    auto const& rule = policy->default_rule;
    EXPECT_EQ(rule.action, RecoveryAction::Replace);
    EXPECT_EQ(rule.backoff_initial_ms, 5u);
    EXPECT_EQ(rule.backoff_ms, 10u);
    EXPECT_EQ(rule.backoff_max_ms, 2000u);
    EXPECT_EQ(rule.give_up_after, 4u);
    EXPECT_EQ(rule.window_s, 30u);
    EXPECT_EQ(rule.replacement, "/x/y.so");
    EXPECT_EQ(rule.notify, "logger nooks");
}

// An empty file is the built-in rule values for every driver.
TEST(PolicyParse, Empty_Defaults)
{
    auto policy = PolicySet::parse("", "empty.toml");
    ASSERT_TRUE(policy) << policy.error().message();
    EXPECT_EQ(policy->default_rule.action, RecoveryAction::Restart);
    EXPECT_EQ(policy->default_rule.give_up_after, 0u);
    EXPECT_EQ(policy->default_rule.backoff_max_ms, 30'000u);
    EXPECT_TRUE(policy->classes.empty());
    EXPECT_TRUE(policy->drivers.empty());
}

struct BadPolicy {
    char const* name;
    char const* toml;
    std::vector<char const*> expected; // each must appear in the error
};

void PrintTo(BadPolicy const& bad, std::ostream* out) { *out << bad.name; }

class PolicyParseErrors : public ::testing::TestWithParam<BadPolicy> { };

// Each mistake is refused, and the error names the file and the key.
TEST_P(PolicyParseErrors, Refused_NamesKey)
{
    auto policy = PolicySet::parse(GetParam().toml, "ops.toml");
    ASSERT_FALSE(policy) << "accepted: " << GetParam().toml;
    auto const& message = policy.error().message();
    EXPECT_EQ(policy.error().code(), ErrorCode::InvalidArgument);
    EXPECT_NE(message.find("ops.toml"), std::string::npos) << message;
    for (auto const* needle : GetParam().expected)
        EXPECT_NE(message.find(needle), std::string::npos) << "expected '" << needle << "' in: " << message;
}

INSTANTIATE_TEST_SUITE_P(All, PolicyParseErrors,
    ::testing::Values(BadPolicy { "UnknownKey", "[default]\nactoin = \"restart\"\n", { "default.actoin" } },
        BadPolicy { "UnknownKeyInDriver", "[driver.nkdisk]\nbackof_ms = 3\n", { "driver.nkdisk.backof_ms" } },
        BadPolicy { "UnknownSection", "[defaults]\naction = \"restart\"\n", { "defaults" } },
        BadPolicy { "BadAction", "[class.block]\naction = \"explode\"\n", { "class.block.action", "explode", "restart, give-up or replace" } },
        BadPolicy { "ReplaceWithoutReplacement", "[driver.nkdisk]\naction = \"replace\"\n", { "driver.nkdisk", "replacement" } },
        BadPolicy { "ActionNotString", "[default]\naction = 3\n", { "default.action", "string" } },
        BadPolicy { "NumberAsString", "[default]\nbackoff_ms = \"100\"\n", { "default.backoff_ms", "integer" } },
        BadPolicy { "NumberAsFloat", "[default]\nwindow_s = 1.5\n", { "default.window_s", "integer" } },
        BadPolicy { "NegativeNumber", "[class.block]\ngive_up_after = -1\n", { "class.block.give_up_after" } },
        BadPolicy { "TooLarge", "[default]\nbackoff_max_ms = 99999999999\n", { "default.backoff_max_ms" } },
        BadPolicy { "NotifyNotString", "[default]\nnotify = true\n", { "default.notify", "string" } },
        BadPolicy { "ReplacementNotString", "[default]\nreplacement = 1\n", { "default.replacement" } },
        BadPolicy { "DefaultNotTable", "default = 3\n", { "[default]" } },
        BadPolicy { "DriverNotTables", "driver = 3\n", { "driver" } },
        BadPolicy { "DriverRuleNotTable", "[driver]\nnkdisk = 3\n", { "driver.nkdisk" } },
        BadPolicy { "Syntax", "[default\naction = \"restart\"\n", { "ops.toml:1" } }),
    [](auto const& info) { return std::string(info.param.name); });

} // namespace
} // namespace nk
