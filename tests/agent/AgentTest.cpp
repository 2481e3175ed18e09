// SPDX-License-Identifier: MIT
// The agent's logic in-process, with a clock the test moves: which rule
// applies, how failures are counted within a window, what a reply holds,
// which requests are refused, and the notify command (run in the background,
// with the event in its environment, always reaped).

#include "AgentProcess.h"
#include "agent/Agent.h"
#include "support/TestSupport.h"

#include <gtest/gtest.h>

#include <sys/wait.h>

namespace nk {
namespace {

using namespace std::chrono_literals;

PolicySet parse_policy(std::string const& text)
{
    auto policy = PolicySet::parse(text, "test.toml");
    EXPECT_TRUE(policy) << policy.error().message();
    return policy.value_or(PolicySet {});
}

FailureEvent event(std::string driver, std::string driver_class = "block")
{
    return { std::move(driver), std::move(driver_class), "/drivers/x.so", "crash", "SIGSEGV at 0x0", 1'764'240'000'000 };
}

nlohmann::json request(std::string const& driver = "nkdisk")
{
    return { { "command", "failure" }, { "driver", driver }, { "class", "block" }, { "path", "/drivers/nkdisk.so" }, { "cause", "crash" },
        { "message", "SIGSEGV" }, { "time_ms", 1'764'240'000'000 } };
}

// True if this process has no child at all (running or zombie).
bool no_children()
{
    errno = 0;
    return ::waitpid(-1, nullptr, WNOHANG) == -1 && errno == ECHILD;
}

class AgentLogic : public ::testing::Test {
protected:
    std::unique_ptr<Agent> make(std::string const& policy, std::chrono::milliseconds grace = 5s)
    {
        return std::make_unique<Agent>(parse_policy(policy), Agent::Options { .clock = [this] { return now_ms; }, .notify_grace = grace });
    }
    uint64_t now_ms { 1'000'000 };
    test::TempDir dir;
};

// driver.NAME beats class.NAME beats default, and the reply says which applied.
TEST_F(AgentLogic, RuleSelection_DriverClassDefault)
{
    auto agent = make(R"(
[default]
backoff_initial_ms = 1
[class.block]
backoff_initial_ms = 2
[driver.nkdisk]
action = "give-up"
)");
    auto driver = agent->on_failure(event("nkdisk", "block"));
    EXPECT_EQ(driver.rule, "driver.nkdisk");
    EXPECT_EQ(driver.decision.action, RecoveryAction::GiveUp);
    auto by_class = agent->on_failure(event("ramdisk", "block"));
    EXPECT_EQ(by_class.rule, "class.block");
    EXPECT_EQ(by_class.decision.delay_ms, 2u);
    auto by_default = agent->on_failure(event("e1000", "net"));
    EXPECT_EQ(by_default.rule, "default");
    EXPECT_EQ(by_default.decision.delay_ms, 1u);
    EXPECT_EQ(agent->on_failure(event("loner", "")).rule, "default");
}

// Failures are counted per driver; backoff grows with each.
TEST_F(AgentLogic, Backoff_PerDriver)
{
    auto agent = make("[default]\nbackoff_ms = 100\nbackoff_max_ms = 250\n");
    std::vector<uint64_t> delays;
    for (int i = 0; i < 4; ++i) {
        delays.push_back(agent->on_failure(event("nkdisk")).decision.delay_ms);
        now_ms += 1000;
    }
    EXPECT_EQ(delays, (std::vector<uint64_t> { 0, 100, 200, 250 }));
    // Another driver starts from its own first failure.
    auto other = agent->on_failure(event("ramdisk"));
    EXPECT_EQ(other.failures, 1u);
    EXPECT_EQ(other.decision.delay_ms, 0u);
}

// Only failures within window_s count: old ones expire, and after a quiet
// window the next restart is immediate again.
TEST_F(AgentLogic, Window_Expires)
{
    auto agent = make("[default]\nbackoff_ms = 100\ngive_up_after = 3\nwindow_s = 60\n");
    EXPECT_EQ(agent->on_failure(event("nkdisk")).failures, 1u);
    now_ms += 30'000;
    auto second = agent->on_failure(event("nkdisk"));
    EXPECT_EQ(second.failures, 2u);
    EXPECT_EQ(second.decision.delay_ms, 100u);
    // The first failure is now exactly 60 s old: still within the window.
    now_ms += 30'000;
    auto third = agent->on_failure(event("nkdisk"));
    EXPECT_EQ(third.failures, 3u);
    EXPECT_EQ(third.decision.action, RecoveryAction::GiveUp);
    // 1 ms later the first one has left the window.
    now_ms += 1;
    auto fourth = agent->on_failure(event("nkdisk"));
    EXPECT_EQ(fourth.failures, 3u);
    // Long after, it is a first failure again.
    now_ms += 10 * 60'000;
    auto later = agent->on_failure(event("nkdisk"));
    EXPECT_EQ(later.failures, 1u);
    EXPECT_EQ(later.decision.action, RecoveryAction::Restart);
    EXPECT_EQ(later.decision.delay_ms, 0u);
}

// Each rule counts in its own window.
TEST_F(AgentLogic, Window_PerRule)
{
    auto agent = make("[default]\nwindow_s = 10\n[driver.slow]\nwindow_s = 1000\n");
    for (int i = 0; i < 3; ++i) {
        (void)agent->on_failure(event("fast"));
        (void)agent->on_failure(event("slow"));
        now_ms += 20'000;
    }
    EXPECT_EQ(agent->on_failure(event("fast")).failures, 1u);
    EXPECT_EQ(agent->on_failure(event("slow")).failures, 4u);
}

// A new policy applies at once and the failure history carries over.
TEST_F(AgentLogic, SetPolicy_KeepsHistory)
{
    auto agent = make("");
    (void)agent->on_failure(event("nkdisk"));
    (void)agent->on_failure(event("nkdisk"));
    agent->set_policy(parse_policy("[default]\ngive_up_after = 3\n"));
    auto third = agent->on_failure(event("nkdisk"));
    EXPECT_EQ(third.failures, 3u);
    EXPECT_EQ(third.decision.action, RecoveryAction::GiveUp);
    EXPECT_EQ(agent->policy().default_rule.give_up_after, 3u);
}

// The reply carries what ask_agent reads, plus the rule and the count.
TEST_F(AgentLogic, HandleFailure_Reply)
{
    auto agent = make("[driver.nkdisk]\naction = \"replace\"\nreplacement = \"/opt/safe.so\"\nbackoff_initial_ms = 7\n");
    auto reply = agent->handle_failure(request());
    ASSERT_TRUE(reply) << reply.error().message();
    EXPECT_EQ((*reply)["action"], "replace");
    EXPECT_EQ((*reply)["delay_ms"], 7);
    EXPECT_EQ((*reply)["replacement"], "/opt/safe.so");
    EXPECT_EQ((*reply)["rule"], "driver.nkdisk");
    EXPECT_EQ((*reply)["failures"], 1);
    EXPECT_FALSE((*reply)["reason"].get<std::string>().empty());
}

// The policy command shows every rule with every key.
TEST_F(AgentLogic, HandlePolicy_AllRules)
{
    auto agent = make("[default]\nnotify = \"true\"\n[class.block]\ngive_up_after = 2\n[driver.nkdisk]\naction = \"give-up\"\n");
    auto policy = agent->handle_policy()["policy"];
    EXPECT_EQ(policy["default"]["notify"], "true");
    EXPECT_EQ(policy["default"]["backoff_max_ms"], 30'000);
    EXPECT_EQ(policy["classes"]["block"]["give_up_after"], 2);
    EXPECT_EQ(policy["drivers"]["nkdisk"]["action"], "give-up");
    for (auto const* key : { "action", "backoff_initial_ms", "backoff_ms", "backoff_max_ms", "give_up_after", "window_s", "replacement", "notify" })
        EXPECT_TRUE(policy["default"].contains(key)) << key;
}

struct BadRequest {
    char const* name;
    std::function<void(nlohmann::json&)> change;
    char const* field; // the error must name it
};

void PrintTo(BadRequest const& bad, std::ostream* out) { *out << bad.name; }

class AgentValidation : public ::testing::TestWithParam<BadRequest> { };

// Every field is checked; the error names the field, and nothing is recorded.
TEST_P(AgentValidation, Refused_NamesField)
{
    Agent agent(PolicySet {}, { .clock = [] { return uint64_t(0); } });
    auto bad = request();
    GetParam().change(bad);
    auto reply = agent.handle_failure(bad);
    ASSERT_FALSE(reply) << "accepted: " << bad.dump();
    EXPECT_EQ(reply.error().code(), ErrorCode::InvalidArgument);
    EXPECT_NE(reply.error().message().find(fmt::format("'{}'", GetParam().field)), std::string::npos) << reply.error().message();
    // The refused request did not count as a failure.
    EXPECT_EQ(agent.on_failure(event("nkdisk")).failures, 1u);
}

INSTANTIATE_TEST_SUITE_P(All, AgentValidation,
    ::testing::Values(BadRequest { "DriverMissing", [](auto& r) { r.erase("driver"); }, "driver" },
        BadRequest { "DriverEmpty", [](auto& r) { r["driver"] = ""; }, "driver" },
        BadRequest { "DriverTooLong", [](auto& r) { r["driver"] = std::string(32, 'd'); }, "driver" },
        BadRequest { "DriverNewline", [](auto& r) { r["driver"] = "nk\ndisk"; }, "driver" },
        BadRequest { "DriverNul", [](auto& r) { r["driver"] = std::string("nk\0disk", 7); }, "driver" },
        BadRequest { "DriverNonAscii", [](auto& r) { r["driver"] = "nkd\xc3\xa9sk"; }, "driver" },
        BadRequest { "DriverNumber", [](auto& r) { r["driver"] = 3; }, "driver" },
        BadRequest { "ClassMissing", [](auto& r) { r.erase("class"); }, "class" },
        BadRequest { "ClassNotString", [](auto& r) { r["class"] = nlohmann::json::array(); }, "class" },
        BadRequest { "ClassTooLong", [](auto& r) { r["class"] = std::string(32, 'c'); }, "class" },
        BadRequest { "CauseMissing", [](auto& r) { r.erase("cause"); }, "cause" },
        BadRequest { "CauseEmpty", [](auto& r) { r["cause"] = ""; }, "cause" },
        BadRequest { "CauseControl", [](auto& r) { r["cause"] = "crash\t"; }, "cause" },
        BadRequest { "PathNotString", [](auto& r) { r["path"] = 1; }, "path" },
        BadRequest { "MessageNotString", [](auto& r) { r["message"] = nlohmann::json::object(); }, "message" },
        BadRequest { "MessageNul", [](auto& r) { r["message"] = std::string("a\0b", 3); }, "message" },
        BadRequest { "MessageTooLong", [](auto& r) { r["message"] = std::string(5000, 'm'); }, "message" },
        BadRequest { "TimeMissing", [](auto& r) { r.erase("time_ms"); }, "time_ms" },
        BadRequest { "TimeString", [](auto& r) { r["time_ms"] = "1764240000000"; }, "time_ms" },
        BadRequest { "TimeFloat", [](auto& r) { r["time_ms"] = 1.5; }, "time_ms" },
        BadRequest { "TimeNegative", [](auto& r) { r["time_ms"] = -1; }, "time_ms" },
        BadRequest { "TimeHuge", [](auto& r) { r["time_ms"] = uint64_t(1) << 63; }, "time_ms" }),
    [](auto const& info) { return std::string(info.param.name); });

// The limits themselves are accepted; path and message may be left out.
TEST(AgentValidationLimits, Boundaries_Accepted)
{
    auto edge = request(std::string(31, 'd'));
    edge["class"] = "";
    edge["message"] = "multi\nline\tmessage \xc3\xa9";
    EXPECT_TRUE(parse_failure_request(edge)) << edge.dump();
    auto minimal = request();
    minimal.erase("path");
    minimal.erase("message");
    auto parsed = parse_failure_request(minimal);
    ASSERT_TRUE(parsed) << parsed.error().message();
    EXPECT_EQ(parsed->driver, "nkdisk");
    EXPECT_EQ(parsed->time_ms, 1'764'240'000'000);
    EXPECT_TRUE(parsed->path.empty());
}

// notify runs with the event in its environment; it is reaped afterwards.
TEST_F(AgentLogic, Notify_EnvironmentAndReaped)
{
    auto out = dir.file("notify.env");
    auto agent = make(fmt::format("[default]\nbackoff_initial_ms = 42\nnotify = 'env | grep ^NOOKS_ | sort > {}'\n", out));
    auto outcome = agent->on_failure({ "nkdisk", "block", "/d/nkdisk.so", "livelock", "no answer in 3000 ms", 5 });
    ASSERT_TRUE(agent->wait_notifications(10s));
    EXPECT_EQ(agent->running_notifications(), 0u);
    auto text = test::read_text(out);
    for (auto const* line : { "NOOKS_DRIVER=nkdisk\n", "NOOKS_CLASS=block\n", "NOOKS_CAUSE=livelock\n", "NOOKS_MESSAGE=no answer in 3000 ms\n",
             "NOOKS_ACTION=restart\n", "NOOKS_DELAY_MS=42\n" })
        EXPECT_NE(text.find(line), std::string::npos) << "expected " << line << " in:\n" << text;
    EXPECT_NE(text.find("NOOKS_REASON=" + outcome.decision.reason + "\n"), std::string::npos) << text;
    agent.reset();
    EXPECT_TRUE(no_children());
}

// The values are the event's, not whatever the agent's own environment had.
TEST_F(AgentLogic, Notify_OverridesInheritedVariables)
{
    ::setenv("NOOKS_DRIVER", "stale", 1);
    auto out = dir.file("driver.txt");
    auto agent = make(fmt::format("[default]\nnotify = 'printf %s \"$NOOKS_DRIVER\" > {}'\n", out));
    (void)agent->on_failure(event("fresh"));
    ASSERT_TRUE(agent->wait_notifications(10s));
    ::unsetenv("NOOKS_DRIVER");
    EXPECT_EQ(test::read_text(out), "fresh");
}

// A slow notify command does not delay the decision; one still running when
// the agent goes away is killed (with what it started) and reaped.
TEST_F(AgentLogic, Notify_InBackgroundKilledAtExit)
{
    auto agent = make("[default]\nnotify = 'sleep 30 & sleep 30'\n", 200ms);
    auto start = std::chrono::steady_clock::now();
    (void)agent->on_failure(event("nkdisk"));
    (void)agent->on_failure(event("nkdisk"));
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
    EXPECT_EQ(agent->running_notifications(), 2u);
    EXPECT_FALSE(agent->wait_notifications(50ms));
    start = std::chrono::steady_clock::now();
    agent.reset();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
    EXPECT_TRUE(no_children());
}

// A failing notify command changes nothing about the decision and is reaped.
TEST_F(AgentLogic, Notify_FailureHarmless)
{
    auto agent = make("[default]\nbackoff_initial_ms = 3\nnotify = 'exit 3'\n");
    for (int i = 0; i < 5; ++i)
        EXPECT_EQ(agent->on_failure(event("nkdisk")).decision.delay_ms, 3u);
    ASSERT_TRUE(agent->wait_notifications(10s));
    EXPECT_EQ(agent->running_notifications(), 0u);
    EXPECT_TRUE(no_children());
}

// Without notify nothing is started.
TEST_F(AgentLogic, NoNotify_NoProcess)
{
    auto agent = make("");
    (void)agent->on_failure(event("nkdisk"));
    EXPECT_EQ(agent->running_notifications(), 0u);
    EXPECT_TRUE(no_children());
}

} // namespace
} // namespace nk
