// SPDX-License-Identifier: MIT
#pragma once

// The user-mode agent's logic (`nooks agent`): it keeps the operator's policy
// and each driver's recent failures, and answers the kernel's "failure"
// requests (see AgentProtocol.h) with a decision.
//
// For each failure:
//   1. the request is validated field by field (a bad one is an error, sent
//      back as {"ok": false, "error": "..."});
//   2. the failure is recorded in the driver's history, stamped with the
//      agent's own monotonic clock (the kernel's time_ms is wall-clock time,
//      which can jump; the kernel asks within milliseconds of the failure);
//   3. the rule is chosen: driver, else class, else default (PolicySet::rule_for);
//   4. nk::decide(rule, failures of this driver within the rule's window_s);
//   5. if the rule has `notify`, `sh -c "<notify>"` is started in the
//      background with the event in NOOKS_DRIVER, NOOKS_CLASS, NOOKS_CAUSE,
//      NOOKS_MESSAGE, NOOKS_ACTION, NOOKS_DELAY_MS and NOOKS_REASON. The reply
//      never waits for it. Each command runs in its own process group with
//      stdin from /dev/null and stdout on the agent's stderr; a thread reaps
//      it, so none is left a zombie.
//
// Thread-safety: every public method may be called from any thread (the
// control server serves each connection on its own thread).

#include "agent/AgentProtocol.h"
#include "agent/Policy.h"
#include "base/Error.h"
#include "base/Mutex.h"
#include "base/ThreadAnnotations.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <string>
#include <thread>

namespace nk {

// The longest driver name a request may carry (the kernel's names fit in 32 bytes).
inline constexpr size_t max_driver_name = 31;

// A driver (or class) name: 1 to max_driver_name printable ASCII characters.
bool valid_driver_name(std::string_view name);

// Checks every field of a "failure" request and returns the event. The error
// names the field and what it must be.
Result<FailureEvent> parse_failure_request(nlohmann::json const& request);

// The policy as JSON, for `nooks agent`'s "policy" command:
// {"default": RULE, "classes": {NAME: RULE}, "drivers": {NAME: RULE}}, each RULE
// with every key of the policy file.
nlohmann::json rule_to_json(PolicyRule const& rule);
nlohmann::json policy_to_json(PolicySet const& policy);

class Agent {
public:
    // Monotonic milliseconds; tests inject their own to expire windows.
    using Clock = std::function<uint64_t()>;

    struct Options {
        Clock clock;                                              // empty: CLOCK_MONOTONIC
        std::chrono::milliseconds notify_grace { std::chrono::seconds(5) }; // on destruction
    };

    struct Outcome {
        PolicyDecision decision;
        std::string rule;      // "driver.NAME", "class.NAME" or "default"
        unsigned failures { 0 }; // within the rule's window, this one included
    };

    explicit Agent(PolicySet policy);
    Agent(PolicySet policy, Options options);
    // Waits up to notify_grace for running notify commands, then kills their
    // process groups; always reaps them.
    ~Agent();
    Agent(Agent const&) = delete;
    Agent& operator=(Agent const&) = delete;

    // Replaces the policy (SIGHUP). Failure histories are kept.
    void set_policy(PolicySet policy);
    PolicySet policy() const;

    // Records a failure, decides, starts the notify command; logs the decision.
    Outcome on_failure(FailureEvent const& event);

    // The "failure" command: validate, on_failure, and the reply (without "ok"):
    // {"action", "delay_ms", "replacement", "reason", "rule", "failures"}.
    Result<nlohmann::json> handle_failure(nlohmann::json const& request);
    // The "policy" command: {"policy": policy_to_json(...)}.
    nlohmann::json handle_policy() const;

    // Waits until every notify command started so far has ended and been
    // reaped. False on timeout.
    bool wait_notifications(std::chrono::milliseconds timeout);
    // Notify commands not yet reaped.
    size_t running_notifications() const;

private:
    // exited and reaped are under m_notify_mutex (which a nested struct cannot
    // name in NK_GUARDED_BY); pid and waiter are set once, before the waiter runs.
    struct Notification {
        pid_t pid { -1 };
        bool exited { false }; // the process ended (maybe not reaped yet): never signal it again
        bool reaped { false };
        std::thread waiter;
    };

    void notify(std::string const& command, FailureEvent const& event, PolicyDecision const& decision);
    void wait_for(Notification& notification, std::string command);
    void join_finished() NK_REQUIRES(m_notify_mutex);

    Clock m_clock;
    std::chrono::milliseconds m_notify_grace;

    mutable Mutex m_mutex;
    PolicySet m_policy NK_GUARDED_BY(m_mutex);
    std::map<std::string, std::deque<uint64_t>> m_history NK_GUARDED_BY(m_mutex); // ms, oldest first
    uint64_t m_retain_ms NK_GUARDED_BY(m_mutex) { 0 };
    size_t m_retain_count NK_GUARDED_BY(m_mutex) { 0 };

    mutable Mutex m_notify_mutex;
    ConditionVariable m_notify_changed;
    std::list<Notification> m_notifications NK_GUARDED_BY(m_notify_mutex);
};

} // namespace nk
