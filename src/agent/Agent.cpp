// SPDX-License-Identifier: MIT
#include "agent/Agent.h"

#include "base/Spawn.h"

#include "base/Clock.h"
#include "base/Log.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace nk {

static auto logger() { return log::get("agent"); }

namespace {

bool printable(std::string_view text)
{
    return std::ranges::all_of(text, [](char c) { return c >= 0x20 && c <= 0x7e; });
}

struct StringRule {
    bool required { true };
    bool non_empty { false };
    bool printable_only { true }; // else: anything but NUL
    size_t max_size { 0 };
    char const* what { "" };
};

Result<std::string> string_field(nlohmann::json const& request, char const* key, StringRule rule)
{
    auto it = request.find(key);
    if (it == request.end()) {
        if (rule.required)
            return make_error(ErrorCode::InvalidArgument, "bad failure request: '{}' is missing ({})", key, rule.what);
        return std::string();
    }
    if (!it->is_string())
        return make_error(ErrorCode::InvalidArgument, "bad failure request: '{}' must be a string ({})", key, rule.what);
    auto value = it->get<std::string>();
    bool ok = value.size() <= rule.max_size && (!rule.non_empty || !value.empty())
        && (rule.printable_only ? printable(value) : value.find('\0') == std::string::npos);
    if (!ok)
        return make_error(ErrorCode::InvalidArgument, "bad failure request: '{}' must be {}", key, rule.what);
    return value;
}

} // namespace

bool valid_driver_name(std::string_view name) { return !name.empty() && name.size() <= max_driver_name && printable(name); }

Result<FailureEvent> parse_failure_request(nlohmann::json const& request)
{
    if (!request.is_object())
        return make_error(ErrorCode::InvalidArgument, "bad failure request: expected a JSON object");
    FailureEvent event;
    event.driver = TRY(string_field(request, "driver",
        { .non_empty = true, .max_size = max_driver_name, .what = "a non-empty printable name of at most 31 characters" }));
    event.driver_class = TRY(string_field(request, "class", { .max_size = 31, .what = "a printable class name of at most 31 characters" }));
    event.cause = TRY(string_field(request, "cause",
        { .non_empty = true, .max_size = 63, .what = "a non-empty printable cause of at most 63 characters" }));
    // The kernel always sends these two; an older or simpler caller may leave them out.
    event.path = TRY(string_field(request, "path",
        { .required = false, .max_size = 4095, .what = "a printable path of at most 4095 characters" }));
    event.message = TRY(string_field(request, "message",
        { .required = false, .printable_only = false, .max_size = 4096, .what = "a string of at most 4096 bytes without NUL" }));
    auto time = request.find("time_ms");
    bool time_ok = time != request.end() && time->is_number_integer()
        && (time->is_number_unsigned() ? time->get<uint64_t>() <= INT64_MAX : time->get<int64_t>() >= 0);
    if (!time_ok)
        return make_error(ErrorCode::InvalidArgument,
            "bad failure request: 'time_ms' must be a non-negative integer (milliseconds since the epoch)");
    event.time_ms = time->get<int64_t>();
    return event;
}

nlohmann::json rule_to_json(PolicyRule const& rule)
{
    return { { "action", recovery_action_name(rule.action) }, { "backoff_initial_ms", rule.backoff_initial_ms },
        { "backoff_ms", rule.backoff_ms }, { "backoff_max_ms", rule.backoff_max_ms }, { "give_up_after", rule.give_up_after },
        { "window_s", rule.window_s }, { "replacement", rule.replacement }, { "notify", rule.notify } };
}

nlohmann::json policy_to_json(PolicySet const& policy)
{
    auto classes = nlohmann::json::object();
    for (auto const& [name, rule] : policy.classes)
        classes[name] = rule_to_json(rule);
    auto drivers = nlohmann::json::object();
    for (auto const& [name, rule] : policy.drivers)
        drivers[name] = rule_to_json(rule);
    return { { "default", rule_to_json(policy.default_rule) }, { "classes", classes }, { "drivers", drivers } };
}

Agent::Agent(PolicySet policy)
    : Agent(std::move(policy), Options {})
{
}

Agent::Agent(PolicySet policy, Options options)
    : m_clock(options.clock ? std::move(options.clock) : [] { return monotonic_ns() / 1'000'000; })
    , m_notify_grace(options.notify_grace)
{
    set_policy(std::move(policy));
}

Agent::~Agent()
{
    if (!wait_notifications(m_notify_grace)) {
        MutexLocker lock(m_notify_mutex);
        for (auto& notification : m_notifications) {
            // Not yet exited means not reaped: the pid (and its group) cannot have been reused.
            if (!notification.exited) {
                logger()->warn("notify command (pid {}) still running after {} ms: killing it", notification.pid, m_notify_grace.count());
                ::kill(-notification.pid, SIGKILL);
            }
        }
    }
    std::list<Notification> notifications;
    {
        MutexLocker lock(m_notify_mutex);
        notifications = std::move(m_notifications); // list nodes keep their addresses
    }
    for (auto& notification : notifications) {
        if (notification.waiter.joinable())
            notification.waiter.join();
    }
}

void Agent::set_policy(PolicySet policy)
{
    // Keep enough history for every rule: the longest window, and enough
    // entries that counting more could not change a decision.
    uint64_t window_s = policy.default_rule.window_s;
    size_t give_up = policy.default_rule.give_up_after;
    for (auto const* rules : { &policy.classes, &policy.drivers }) {
        for (auto const& [name, rule] : *rules) {
            window_s = std::max(window_s, rule.window_s);
            give_up = std::max<size_t>(give_up, rule.give_up_after);
        }
    }
    MutexLocker lock(m_mutex);
    m_policy = std::move(policy);
    m_retain_ms = window_s * 1000;
    m_retain_count = std::max<size_t>(give_up + 1, 4096);
}

PolicySet Agent::policy() const
{
    MutexLocker lock(m_mutex);
    return m_policy;
}

Agent::Outcome Agent::on_failure(FailureEvent const& event)
{
    Outcome outcome;
    PolicyRule rule;
    {
        MutexLocker lock(m_mutex);
        rule = m_policy.rule_for(event.driver, event.driver_class);
        if (m_policy.drivers.contains(event.driver))
            outcome.rule = "driver." + event.driver;
        else if (m_policy.classes.contains(event.driver_class))
            outcome.rule = "class." + event.driver_class;
        else
            outcome.rule = "default";

        auto now = m_clock();
        auto& history = m_history[event.driver];
        history.push_back(now);
        auto age = [now](uint64_t then) { return now >= then ? now - then : 0; };
        while (!history.empty() && (age(history.front()) > m_retain_ms || history.size() > m_retain_count))
            history.pop_front();
        auto window_ms = rule.window_s * 1000;
        for (auto it = history.rbegin(); it != history.rend() && age(*it) <= window_ms; ++it)
            ++outcome.failures;
    }
    outcome.decision = decide(rule, outcome.failures);
    logger()->info("{} ({}) failed: {}{}{} -> {}{} ({}; rule {})", event.driver, event.driver_class.empty() ? "no class" : event.driver_class,
        event.cause, event.message.empty() ? "" : ": ", event.message, recovery_action_name(outcome.decision.action),
        outcome.decision.action == RecoveryAction::Replace ? " by " + outcome.decision.replacement : "", outcome.decision.reason, outcome.rule);
    if (!rule.notify.empty())
        notify(rule.notify, event, outcome.decision);
    return outcome;
}

Result<nlohmann::json> Agent::handle_failure(nlohmann::json const& request)
{
    auto event = TRY(parse_failure_request(request));
    auto outcome = on_failure(event);
    return nlohmann::json { { "action", recovery_action_name(outcome.decision.action) }, { "delay_ms", outcome.decision.delay_ms },
        { "replacement", outcome.decision.replacement }, { "reason", outcome.decision.reason }, { "rule", outcome.rule },
        { "failures", outcome.failures } };
}

nlohmann::json Agent::handle_policy() const { return { { "policy", policy_to_json(policy()) } }; }

void Agent::notify(std::string const& command, FailureEvent const& event, PolicyDecision const& decision)
{
    std::vector<std::pair<std::string, std::string>> variables { { "NOOKS_DRIVER", event.driver }, { "NOOKS_CLASS", event.driver_class },
        { "NOOKS_CAUSE", event.cause }, { "NOOKS_MESSAGE", event.message }, { "NOOKS_ACTION", recovery_action_name(decision.action) },
        { "NOOKS_DELAY_MS", std::to_string(decision.delay_ms) }, { "NOOKS_REASON", decision.reason } };
    std::vector<std::string> environment;
    for (char** entry = environ; *entry != nullptr; ++entry) {
        std::string_view text(*entry);
        bool ours = std::ranges::any_of(variables, [&](auto const& variable) {
            return text.starts_with(variable.first) && text.size() > variable.first.size() && text[variable.first.size()] == '=';
        });
        if (!ours)
            environment.emplace_back(text);
    }
    for (auto const& [name, value] : variables)
        environment.push_back(name + "=" + value);
    std::vector<char*> envp;
    for (auto& entry : environment)
        envp.push_back(entry.data());
    envp.push_back(nullptr);
    std::string shell = "/bin/sh", dash_c = "-c", script = command;
    char* argv[] = { shell.data(), dash_c.data(), script.data(), nullptr };

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    // The agent's stdout carries only its own status lines.
    posix_spawn_file_actions_adddup2(&actions, STDERR_FILENO, STDOUT_FILENO);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    // Its own group, so a command that hangs can be killed whole.
    set_clean_spawn_state(attributes, ProcessGroup::Own);

    MutexLocker lock(m_notify_mutex);
    join_finished();
    pid_t pid = -1;
    int spawned = ::posix_spawn(&pid, argv[0], &actions, &attributes, argv, envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    if (spawned != 0) {
        logger()->error("{}: cannot run notify command: {}", event.driver, Error::from_errno(spawned, "posix_spawn /bin/sh"));
        return;
    }
    auto& notification = m_notifications.emplace_back();
    notification.pid = pid;
    notification.waiter = std::thread([this, &notification, command] { wait_for(notification, command); });
}

void Agent::wait_for(Notification& notification, std::string command)
{
    // Wait without reaping first: until the exit is recorded under the lock,
    // the pid stays reserved and the destructor may still kill its group.
    siginfo_t info {};
    while (::waitid(P_PID, static_cast<id_t>(notification.pid), &info, WEXITED | WNOWAIT) != 0 && errno == EINTR) { }
    {
        MutexLocker lock(m_notify_mutex);
        notification.exited = true;
    }
    int status = 0;
    while (::waitpid(notification.pid, &status, 0) < 0 && errno == EINTR) { }
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
        logger()->warn("notify command exited with status {}: {}", WEXITSTATUS(status), command);
    else if (WIFSIGNALED(status))
        logger()->warn("notify command killed by signal {}: {}", WTERMSIG(status), command);
    {
        MutexLocker lock(m_notify_mutex);
        notification.reaped = true;
    }
    m_notify_changed.notify_all();
}

void Agent::join_finished()
{
    for (auto it = m_notifications.begin(); it != m_notifications.end();) {
        if (it->reaped) {
            // Its waiter only returns after setting `reaped`: this join is short.
            if (it->waiter.joinable())
                it->waiter.join();
            it = m_notifications.erase(it);
        } else {
            ++it;
        }
    }
}

bool Agent::wait_notifications(std::chrono::milliseconds timeout)
{
    MutexLocker lock(m_notify_mutex);
    bool done = m_notify_changed.wait_for(lock, timeout, [&]() NK_REQUIRES(m_notify_mutex) {
        return std::ranges::all_of(m_notifications, [](auto const& notification) { return notification.reaped; });
    });
    join_finished();
    return done;
}

size_t Agent::running_notifications() const
{
    MutexLocker lock(m_notify_mutex);
    return static_cast<size_t>(std::ranges::count_if(m_notifications, [](auto const& notification) { return !notification.reaped; }));
}

} // namespace nk
