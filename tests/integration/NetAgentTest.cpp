// SPDX-License-Identifier: MIT
// The user-mode agent decides for the net driver as for the disk driver: a
// failure of nknet reaches `nooks agent` with its class ("net"), and the
// operator's rule for that class is what the kernel does.

#include "../agent/AgentProcess.h"
#include "NetMachine.h"

#include <fstream>
#include <thread>
#include <sys/stat.h>

namespace nk {
namespace {

using namespace std::chrono_literals;

class NetAgent : public test::NetMachine {
protected:
    void start_agent(std::string const& policy)
    {
        auto path = m_dir.file("policy.toml");
        std::ofstream(path) << policy;
        ::chmod(path.c_str(), 0644); // the agent refuses a policy others may write
        m_agent_socket = m_dir.file("agent.sock");
        auto started = test::AgentProcess::start({ .args = { "--policy", path, "--socket", m_agent_socket },
            .stdout_path = m_dir.file("agent.out"),
            .log_path = m_dir.file("agent.log") });
        ASSERT_TRUE(started) << started.error().message();
        m_agent = std::move(*started);
    }

    void TearDown() override
    {
        NetMachine::TearDown();
        if (m_agent) {
            auto stopped = m_agent->stop(10s);
            EXPECT_TRUE(stopped) << m_agent->log();
        }
    }

    std::unique_ptr<test::AgentProcess> m_agent;
};

TEST_F(NetAgent, ClassRuleGivesUpOnTheNetDriver)
{
    if (auto reason = test::missing_net_privileges(); !reason.empty())
        GTEST_SKIP() << reason;
    start_agent("[default]\naction = \"restart\"\n\n[class.net]\naction = \"give-up\"\n");
    ASSERT_FALSE(HasFatalFailure());
    boot("nooks");
    ASSERT_FALSE(HasFatalFailure());
    auto armed = control({ { "command", "inject" }, { "driver", "nknet" }, { "fault", "null-deref" }, { "entry", "napi_poll" } });
    ASSERT_TRUE(armed.value("ok", false)) << armed.dump();
    (void)run({ "ping", "-c", "3", "-i", "0.2", "-W", "1", peer_address(0) });
    nlohmann::json failure;
    ASSERT_TRUE(test::wait_until(15s, [&] {
        auto failures = control({ { "command", "failures" } })["failures"];
        if (failures.empty() || failures[0].value("outcome", std::string()).empty())
            return false;
        failure = failures[0];
        return true;
    })) << control({ { "command", "failures" } }).dump();
    EXPECT_EQ(failure.value("decided_by", std::string()), "agent") << failure.dump();
    EXPECT_EQ(failure.value("decision", std::string()), "give-up") << failure.dump();
    EXPECT_NE(failure.value("outcome", std::string()).find("gave up"), std::string::npos) << failure.dump();
    // Given up: the failed driver's net device is gone and none comes back.
    EXPECT_TRUE(test::wait_until(5s, [&] { return net_device() == nullptr; }));
    std::this_thread::sleep_for(500ms);
    EXPECT_EQ(net_device(), nullptr);
    // The agent saw the driver's class.
    EXPECT_TRUE(test::wait_until(5s, [&] { return m_agent->log().find("give-up") != std::string::npos; })) << m_agent->log();
}

} // namespace
} // namespace nk
