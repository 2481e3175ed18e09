// SPDX-License-Identifier: MIT
// `nooks agent` as the kernel and an operator meet it: the real binary on a
// socket in a temporary directory, asked with the kernel's own client
// (ask_agent). Decisions over a sequence of failures, the notify command,
// SIGHUP reloads, clean refusals of bad policy files and requests, and that
// the kernel does not trust an agent running as another user.

#include "AgentProcess.h"
#include "agent/AgentProtocol.h"
#include "control/ControlServer.h"
#include "harness/Command.h"
#include "harness/KernelProcess.h"
#include "support/TestSupport.h"

#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <sys/stat.h>

namespace nk {
namespace {

using namespace std::chrono_literals;

FailureEvent event(std::string driver, std::string driver_class = "block", std::string cause = "crash")
{
    auto path = "/drivers/" + driver + ".so";
    return { std::move(driver), std::move(driver_class), std::move(path), std::move(cause), "SIGSEGV in queue_rq", 1'764'240'000'000 };
}

bool exists(std::string const& path)
{
    struct stat st { };
    return ::lstat(path.c_str(), &st) == 0;
}

class AgentCommand : public ::testing::Test {
protected:
    void TearDown() override
    {
        if (!agent)
            return;
        // Always stopped and reaped; a clean stop exits 0 and removes the socket.
        auto stopped = agent->stop(10s);
        EXPECT_TRUE(stopped) << stopped.error().message() << "\n" << agent->log();
        EXPECT_TRUE(agent->exited_cleanly()) << agent->exit_description() << "\n" << agent->log();
        EXPECT_FALSE(exists(socket_path)) << socket_path << " left behind";
        EXPECT_NE(agent->output().find("agent stopped"), std::string::npos) << agent->output();
        agent.reset();
    }

    std::string write_policy(std::string const& text, std::string const& name = "policy.toml")
    {
        auto path = dir.file(name);
        // Written whole then renamed: a reload never sees half a file.
        std::ofstream(path + ".tmp") << text;
        ::chmod((path + ".tmp").c_str(), 0644); // whatever the umask: the agent refuses writable policies
        std::rename((path + ".tmp").c_str(), path.c_str());
        return path;
    }

    void start(std::string const& policy_text, std::vector<std::string> prefix = {})
    {
        policy_path = write_policy(policy_text);
        auto started = test::AgentProcess::start({ .prefix = std::move(prefix),
            .args = { "--policy", policy_path, "--socket", socket_path, "--log-level", "debug" },
            .stdout_path = dir.file("agent.out"),
            .log_path = dir.file("agent.log") });
        ASSERT_TRUE(started) << started.error().message();
        agent = std::move(*started);
    }

    PolicyDecision ask(FailureEvent const& failure)
    {
        auto decision = ask_agent(socket_path, failure, 5s);
        EXPECT_TRUE(decision) << decision.error().message() << "\n" << (agent ? agent->log() : "");
        return decision.value_or(PolicyDecision { .action = RecoveryAction::Restart, .delay_ms = 999'999, .reason = "no answer" });
    }

    harness::CommandResult run_agent(std::vector<std::string> args)
    {
        args.insert(args.begin(), { harness::find_nooks_binary(), "agent" });
        auto result = harness::run_command(args, { .timeout = 30s });
        EXPECT_TRUE(result.has_value());
        return result.value_or(harness::CommandResult {});
    }

    test::TempDir dir { "nooks-agent" };
    std::string socket_path { dir.file("agent.sock") };
    std::string policy_path;
    std::unique_ptr<test::AgentProcess> agent;
};

// A sequence of failures: immediate first restart, doubling capped backoff,
// give-up after N within the window; a driver rule replaces, a class rule gives up.
TEST_F(AgentCommand, Decisions_Sequence)
{
    start(R"(
[default]
action = "restart"
backoff_ms = 100
backoff_max_ms = 300
give_up_after = 5
window_s = 600

[class.net]
action = "give-up"

[driver.flaky]
action = "replace"
replacement = "/opt/nooks/drivers/flaky-safe.so"
)");
    std::vector<uint64_t> delays;
    for (int i = 0; i < 4; ++i) {
        auto decision = ask(event("nkdisk"));
        EXPECT_EQ(decision.action, RecoveryAction::Restart) << decision.reason;
        delays.push_back(decision.delay_ms);
    }
    EXPECT_EQ(delays, (std::vector<uint64_t> { 0, 100, 200, 300 }));
    auto fifth = ask(event("nkdisk"));
    EXPECT_EQ(fifth.action, RecoveryAction::GiveUp);
    EXPECT_NE(fifth.reason.find("5 failures"), std::string::npos) << fifth.reason;

    auto replaced = ask(event("flaky"));
    EXPECT_EQ(replaced.action, RecoveryAction::Replace);
    EXPECT_EQ(replaced.replacement, "/opt/nooks/drivers/flaky-safe.so");
    EXPECT_EQ(ask(event("e1000", "net")).action, RecoveryAction::GiveUp);
    // Other drivers of the default rule have their own count.
    auto other = ask(event("ramdisk"));
    EXPECT_EQ(other.action, RecoveryAction::Restart);
    EXPECT_EQ(other.delay_ms, 0u);

    // Each decision is logged with the driver and the action.
    ASSERT_TRUE(test::wait_until(5s, [&] { return agent->log().find("flaky") != std::string::npos; })) << agent->log();
    auto log = agent->log();
    EXPECT_NE(log.find("give-up"), std::string::npos) << log;
    EXPECT_NE(log.find("replace"), std::string::npos) << log;
}

// notify runs for each failure with the event in NOOKS_* variables.
TEST_F(AgentCommand, Notify_Runs)
{
    auto out = dir.file("notify.env");
    start(fmt::format(R"(
[driver.nkdisk]
backoff_initial_ms = 25
notify = 'env | grep ^NOOKS_ | sort > {0}.tmp && mv {0}.tmp {0}'
)", out));
    auto decision = ask(event("nkdisk", "block", "livelock"));
    ASSERT_TRUE(test::wait_until(10s, [&] { return exists(out); })) << "notify did not run; log:\n" << agent->log();
    auto text = test::read_text(out);
    for (auto const* line : { "NOOKS_DRIVER=nkdisk\n", "NOOKS_CLASS=block\n", "NOOKS_CAUSE=livelock\n", "NOOKS_MESSAGE=SIGSEGV in queue_rq\n",
             "NOOKS_ACTION=restart\n", "NOOKS_DELAY_MS=25\n" })
        EXPECT_NE(text.find(line), std::string::npos) << "expected " << line << " in:\n" << text;
    EXPECT_NE(text.find("NOOKS_REASON=" + decision.reason + "\n"), std::string::npos) << text;
}

// SIGHUP reloads the policy file; an invalid new file keeps the policy in force.
TEST_F(AgentCommand, Sighup_Reloads)
{
    start("[default]\naction = \"restart\"\n");
    EXPECT_EQ(ask(event("nkdisk")).action, RecoveryAction::Restart);

    write_policy("[default]\naction = \"give-up\"\n");
    agent->signal(SIGHUP);
    int n = 0;
    EXPECT_TRUE(test::wait_until(10s, [&] { return ask(event(fmt::format("d{}", n++))).action == RecoveryAction::GiveUp; }))
        << agent->log();
    auto shown = control_request(socket_path, { { "command", "policy" } }, 5s);
    ASSERT_TRUE(shown) << shown.error().message();
    EXPECT_EQ((*shown)["policy"]["default"]["action"], "give-up") << shown->dump();

    write_policy("[default]\naction = \"reboot\"\n");
    agent->signal(SIGHUP);
    ASSERT_TRUE(test::wait_until(10s, [&] { return agent->log().find("keeping the previous policy") != std::string::npos; }))
        << agent->log();
    EXPECT_NE(agent->log().find("reboot"), std::string::npos) << agent->log();
    EXPECT_TRUE(agent->running());
    EXPECT_EQ(ask(event("nkdisk")).action, RecoveryAction::GiveUp);
}

// The policy command shows the loaded rules and the file.
TEST_F(AgentCommand, PolicyCommand_ShowsRules)
{
    start("[default]\ngive_up_after = 3\n[class.block]\nbackoff_ms = 10\n[driver.nkdisk]\naction = \"give-up\"\n");
    auto reply = control_request(socket_path, { { "command", "policy" } }, 5s);
    ASSERT_TRUE(reply) << reply.error().message();
    ASSERT_TRUE((*reply)["ok"].get<bool>()) << reply->dump();
    EXPECT_EQ((*reply)["file"], policy_path);
    EXPECT_EQ((*reply)["policy"]["default"]["give_up_after"], 3);
    EXPECT_EQ((*reply)["policy"]["classes"]["block"]["backoff_ms"], 10);
    EXPECT_EQ((*reply)["policy"]["drivers"]["nkdisk"]["action"], "give-up");
}

// Malformed failure requests get {"ok": false} naming the field; the agent keeps serving.
TEST_F(AgentCommand, BadRequests_Refused)
{
    start("");
    nlohmann::json good { { "command", "failure" }, { "driver", "nkdisk" }, { "class", "block" }, { "path", "/x.so" }, { "cause", "crash" },
        { "message", "m" }, { "time_ms", 1 } };
    std::vector<std::pair<nlohmann::json, std::string>> cases;
    auto with = [&](char const* key, nlohmann::json value) {
        auto request = good;
        request[key] = std::move(value);
        return request;
    };
    cases.emplace_back(with("driver", ""), "'driver'");
    cases.emplace_back(with("driver", std::string(40, 'x')), "'driver'");
    cases.emplace_back(with("class", 7), "'class'");
    cases.emplace_back(with("cause", nullptr), "'cause'");
    cases.emplace_back(with("time_ms", "soon"), "'time_ms'");
    cases.emplace_back(nlohmann::json { { "command", "reboot" } }, "unknown command");
    for (auto const& [request, needle] : cases) {
        auto reply = control_request(socket_path, request, 5s);
        ASSERT_TRUE(reply) << reply.error().message();
        EXPECT_FALSE(reply->value("ok", true)) << reply->dump();
        EXPECT_NE(reply->value("error", std::string()).find(needle), std::string::npos) << needle << " in " << reply->dump();
    }
    auto fine = control_request(socket_path, good, 5s);
    ASSERT_TRUE(fine) << fine.error().message();
    EXPECT_TRUE(fine->value("ok", false)) << fine->dump();
    EXPECT_EQ((*fine)["failures"], 1); // the refused ones did not count
}

// The socket's directory is created; the socket is private (0600).
TEST_F(AgentCommand, Socket_DirectoryCreatedPrivate)
{
    socket_path = dir.file("run/nooks/agent.sock");
    start("");
    struct stat st { };
    ASSERT_EQ(::stat(socket_path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(ask(event("nkdisk")).action, RecoveryAction::Restart);
}

// SIGINT stops it as cleanly as SIGTERM (checked in TearDown).
TEST_F(AgentCommand, Sigint_StopsCleanly)
{
    start("");
    agent->signal(SIGINT);
    ASSERT_TRUE(agent->wait_exit(10s)) << agent->log();
    EXPECT_TRUE(agent->exited_cleanly()) << agent->exit_description();
    EXPECT_FALSE(exists(socket_path));
}

// A second agent on a live socket is refused; the first keeps answering.
TEST_F(AgentCommand, SocketInUse_Refused)
{
    start("");
    auto second = run_agent({ "--policy", policy_path, "--socket", socket_path });
    EXPECT_EQ(second.exit_code, 1) << second.output;
    EXPECT_NE(second.output.find("in use"), std::string::npos) << second.output;
    EXPECT_EQ(ask(event("nkdisk")).action, RecoveryAction::Restart);
}

// A policy file others could change is refused: its notify commands would run as the agent's user.
TEST_F(AgentCommand, PolicyWritableByOthers_Refused)
{
    auto path = write_policy("[default]\nnotify = 'true'\n");
    for (auto mode : { 0664, 0646 }) {
        ASSERT_EQ(::chmod(path.c_str(), static_cast<mode_t>(mode)), 0);
        auto result = run_agent({ "--policy", path, "--socket", socket_path });
        EXPECT_EQ(result.exit_code, 1) << result.output;
        EXPECT_NE(result.output.find("writable by group or others"), std::string::npos) << result.output;
        EXPECT_FALSE(exists(socket_path));
    }
    if (::geteuid() != 0)
        return;
    ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
    ASSERT_EQ(::chown(path.c_str(), 65534, 65534), 0);
    auto result = run_agent({ "--policy", path, "--socket", socket_path });
    EXPECT_EQ(result.exit_code, 1) << result.output;
    EXPECT_NE(result.output.find("owned by uid 65534"), std::string::npos) << result.output;
}

// A reload to a file others could change is refused like any invalid policy.
TEST_F(AgentCommand, SighupWritablePolicy_KeepsPolicy)
{
    start("[default]\naction = \"give-up\"\n");
    ASSERT_EQ(::chmod(policy_path.c_str(), 0666), 0);
    std::ofstream(policy_path) << "[default]\naction = \"restart\"\n";
    agent->signal(SIGHUP);
    ASSERT_TRUE(test::wait_until(10s, [&] { return agent->log().find("writable by group or others") != std::string::npos; })) << agent->log();
    EXPECT_EQ(ask(event("nkdisk")).action, RecoveryAction::GiveUp);
}

// The kernel refuses an agent that runs as another (unprivileged) user.
TEST_F(AgentCommand, OtherUser_NotTrusted)
{
    if (::geteuid() != 0)
        GTEST_SKIP() << "needs root to run the agent as another user (setpriv)";
    if (!harness::have_program("setpriv"))
        GTEST_SKIP() << "setpriv (util-linux) not installed";
    // Only for this test: nobody must be able to create the socket here.
    ASSERT_EQ(::chmod(dir.path().c_str(), 0777), 0);
    start("", { "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups" });
    struct stat st { };
    ASSERT_EQ(::stat(socket_path.c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, 65534u);
    auto decision = ask_agent(socket_path, event("nkdisk"), 5s);
    ASSERT_FALSE(decision) << "trusted an agent running as uid 65534";
    EXPECT_EQ(decision.error().code(), ErrorCode::PermissionDenied);
    EXPECT_NE(decision.error().message().find("not trusted"), std::string::npos) << decision.error().message();
}

struct BadPolicyFile {
    char const* name;
    char const* toml; // nullptr: the file does not exist
    char const* needle;
};

void PrintTo(BadPolicyFile const& bad, std::ostream* out) { *out << bad.name; }

class AgentCommandBadPolicy : public ::testing::TestWithParam<BadPolicyFile> {
protected:
    test::TempDir dir { "nooks-agent" };
};

// A bad policy file: exit 1 with one line naming the problem, no socket left.
TEST_P(AgentCommandBadPolicy, ExitsWithOneLine)
{
    auto path = dir.file("policy.toml");
    if (GetParam().toml != nullptr) {
        std::ofstream(path) << GetParam().toml;
        ::chmod(path.c_str(), 0644);
    }
    auto socket = dir.file("agent.sock");
    auto result = harness::run_command({ harness::find_nooks_binary(), "agent", "--policy", path, "--socket", socket }, { .timeout = 30s });
    ASSERT_TRUE(result) << result.error().message();
    EXPECT_EQ(result->signal, 0) << result->output;
    EXPECT_EQ(result->exit_code, 1) << result->output;
    EXPECT_EQ(std::ranges::count(result->output, '\n'), 1) << "expected one line:\n" << result->output;
    EXPECT_EQ(result->output.rfind("nooks agent: error: ", 0), 0u) << result->output;
    EXPECT_NE(result->output.find(GetParam().needle), std::string::npos) << "expected '" << GetParam().needle << "' in: " << result->output;
    EXPECT_EQ(result->output.find("agent ready"), std::string::npos) << result->output;
    EXPECT_FALSE(exists(socket));
}

INSTANTIATE_TEST_SUITE_P(All, AgentCommandBadPolicy,
    ::testing::Values(BadPolicyFile { "Missing", nullptr, "cannot be read" },
        BadPolicyFile { "UnknownKey", "[default]\nbackof_ms = 5\n", "default.backof_ms" },
        BadPolicyFile { "BadAction", "[class.block]\naction = \"reboot\"\n", "reboot" },
        BadPolicyFile { "ReplaceWithoutReplacement", "[driver.nkdisk]\naction = \"replace\"\n", "driver.nkdisk" },
        BadPolicyFile { "BadType", "[default]\ngive_up_after = \"5\"\n", "default.give_up_after" },
        BadPolicyFile { "Syntax", "[default]\naction = \n", "policy.toml" },
        BadPolicyFile { "DriverNameTooLong", "[driver.a_driver_name_that_is_far_too_long_to_exist]\n", "driver.a_driver_name" }),
    [](auto const& info) { return std::string(info.param.name); });

} // namespace
} // namespace nk
