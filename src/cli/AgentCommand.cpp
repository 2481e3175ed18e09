// SPDX-License-Identifier: MIT
// `nooks agent`: the user-mode agent. Holds the operator's recovery policy and
// answers the kernel's "failure" questions on a UNIX socket (AgentProtocol.h),
// until SIGINT or SIGTERM. SIGHUP reloads the policy file; an invalid new file
// is logged and the policy in force stays. The policy file must belong to root
// or the agent's user and not be writable by others (it names commands).

#include "agent/Agent.h"
#include "base/Log.h"
#include "cli/Commands.h"
#include "control/ControlServer.h"

#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

namespace nk::cli {

namespace {

struct AgentFlags {
    std::string policy;
    std::string socket { "/run/nooks/agent.sock" };
    std::string log_level { "info" };
};

auto logger() { return log::get("agent"); }

// Errors are printed on one line, whatever the parser put in them.
std::string one_line(std::string text)
{
    std::ranges::replace(text, '\n', ' ');
    std::ranges::replace(text, '\r', ' ');
    return text;
}

// Its notify commands run as this agent's user (usually root): whoever can
// change the file can run commands as that user.
Result<void> check_ownership(std::string const& path)
{
    struct stat st { };
    if (::stat(path.c_str(), &st) != 0)
        return {}; // load_file says why it cannot be read
    if (st.st_uid != 0 && st.st_uid != ::geteuid())
        return make_error(ErrorCode::PermissionDenied, "policy file {} is owned by uid {}, not root or this agent's user (uid {})", path,
            st.st_uid, ::geteuid());
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
        return make_error(ErrorCode::PermissionDenied,
            "policy file {} is writable by group or others (mode {:04o}); its notify commands run as this agent's user: chmod go-w it", path,
            st.st_mode & 07777);
    return {};
}

// The policy file, plus what only the agent can check: a rule for a name no
// driver or class can have would silently never apply.
Result<PolicySet> load_policy(std::string const& path)
{
    TRY(check_ownership(path));
    auto policy = TRY(PolicySet::load_file(path));
    for (auto const& [section, rules] : { std::pair { "driver", &policy.drivers }, std::pair { "class", &policy.classes } }) {
        for (auto const& [name, rule] : *rules) {
            if (!valid_driver_name(name))
                return make_error(ErrorCode::InvalidArgument, "{}: [{}.{}]: a {} name is 1 to {} printable ASCII characters", path, section,
                    name, section, max_driver_name);
        }
    }
    // The kernel loads the replacement; the agent can only point out an obvious mistake.
    auto check = [&](std::string const& where, PolicyRule const& rule) {
        std::error_code error;
        if (!rule.replacement.empty() && !std::filesystem::exists(rule.replacement, error))
            logger()->warn("{}: [{}] replacement {} does not exist (yet)", path, where, rule.replacement);
    };
    check("default", policy.default_rule);
    for (auto const& [name, rule] : policy.classes)
        check("class." + name, rule);
    for (auto const& [name, rule] : policy.drivers)
        check("driver." + name, rule);
    return policy;
}

std::string summary(PolicySet const& policy)
{
    return fmt::format("default {}, {} class rule{}, {} driver rule{}", recovery_action_name(policy.default_rule.action), policy.classes.size(),
        policy.classes.size() == 1 ? "" : "s", policy.drivers.size(), policy.drivers.size() == 1 ? "" : "s");
}

int run(AgentFlags const& flags)
{
    // Every thread inherits this mask; only sigwait below takes these signals.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
    log::configure(flags.log_level);

    std::error_code error;
    auto policy_path = std::filesystem::absolute(flags.policy, error).string();
    if (error)
        policy_path = flags.policy;
    auto policy = load_policy(policy_path);
    if (!policy)
        return fail("agent", one_line(policy.error().message()));
    auto loaded = summary(*policy);
    Agent agent(std::move(*policy));

    auto directory = std::filesystem::path(flags.socket).parent_path();
    if (!directory.empty() && !std::filesystem::create_directories(directory, error) && error)
        return fail("agent", fmt::format("socket directory {}: {}", directory.string(), error.message()));
    auto server = ControlServer::listen(flags.socket);
    if (!server)
        return fail("agent", one_line(server.error().message()));
    (*server)->add("failure", [&agent](nlohmann::json const& request) { return agent.handle_failure(request); });
    (*server)->add("policy", [&agent, &policy_path](nlohmann::json const&) -> Result<nlohmann::json> {
        auto reply = agent.handle_policy();
        reply["file"] = policy_path;
        return reply;
    });
    (*server)->start();

    logger()->info("policy {}: {}", policy_path, loaded);
    std::printf("nooks: agent ready on %s (policy %s)\n", flags.socket.c_str(), policy_path.c_str());
    std::fflush(stdout);

    for (;;) {
        int signal = 0;
        if (sigwait(&signals, &signal) != 0)
            continue;
        if (signal != SIGHUP) {
            logger()->info("{}: stopping", strsignal(signal));
            break;
        }
        auto reloaded = load_policy(policy_path);
        if (!reloaded) {
            logger()->error("reloading the policy: {}; keeping the previous policy", one_line(reloaded.error().message()));
            continue;
        }
        auto text = summary(*reloaded);
        agent.set_policy(std::move(*reloaded));
        logger()->info("reloaded policy {}: {}", policy_path, text);
    }
    // No handler may run once the agent is gone; stop() also removes the socket.
    (*server)->stop();
    std::printf("nooks: agent stopped\n");
    std::fflush(stdout);
    return 0;
}

} // namespace

void add_agent_command(CLI::App& app, int& result)
{
    auto flags = std::make_shared<AgentFlags>();
    auto* command = app.add_subcommand("agent",
        "Run the user-mode agent: decides how the kernel recovers failed drivers, by policy; SIGHUP reloads the policy");
    command->add_option("--policy", flags->policy, "Policy file (TOML: [default], [class.NAME], [driver.NAME])")->required();
    command->add_option("--socket", flags->socket, "Socket the kernel asks (default: /run/nooks/agent.sock; kernel key isolation.agent)");
    command->add_option("--log-level", flags->log_level, "debug | info | warn | error (default: info)")
        ->check(CLI::IsMember({ "debug", "info", "warn", "error" }));
    command->callback([flags, &result] { result = run(*flags); });
}

} // namespace nk::cli
