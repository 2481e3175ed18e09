// SPDX-License-Identifier: MIT
#pragma once

// Recovery policy: what to do when a driver fails. The user-mode agent holds
// the operator's policy (per driver, per class, default); the kernel uses the
// same rules with built-in values when no agent answers.
//
//   [default]                     # every driver without its own rule
//   action = "restart"            # restart | give-up | replace
//   backoff_initial_ms = 0        # delay before the first restart
//   backoff_ms = 0                # delay before the second, doubling after (0: none)
//   backoff_max_ms = 30000
//   give_up_after = 0             # failures within window_s that disable the driver (0: never)
//   window_s = 60
//   replacement = ""              # driver file for action = "replace"
//   notify = ""                   # command run (sh -c) on every failure
//   [class.block]                 # drivers of a class
//   [driver.nkdisk]               # one driver, every instance of it (most specific wins, whole rule)
//   [driver."nkdisk@disk1"]       # one instance: the driver bound to disk1

#include "base/Error.h"

#include <cstdint>
#include <map>
#include <string>

namespace nk {

enum class RecoveryAction : uint8_t { Restart, GiveUp, Replace };

char const* recovery_action_name(RecoveryAction action);
Result<RecoveryAction> parse_recovery_action(std::string_view text);

struct PolicyRule {
    RecoveryAction action { RecoveryAction::Restart };
    uint64_t backoff_initial_ms { 0 };
    uint64_t backoff_ms { 0 };
    uint64_t backoff_max_ms { 30'000 };
    unsigned give_up_after { 0 };
    uint64_t window_s { 60 };
    std::string replacement;
    std::string notify;
};

struct PolicyDecision {
    RecoveryAction action { RecoveryAction::Restart };
    uint64_t delay_ms { 0 };
    std::string replacement; // for Replace
    std::string reason;      // one line for the failure log
};

// The decision for a driver's failure, given how many failures (this one
// included) it had within the rule's window.
PolicyDecision decide(PolicyRule const& rule, unsigned failures_in_window);

struct PolicySet {
    PolicyRule default_rule;
    std::map<std::string, PolicyRule> classes;
    std::map<std::string, PolicyRule> drivers;

    PolicyRule const& rule_for(std::string const& driver, std::string const& driver_class) const;

    // Parses a policy file; errors name the key.
    static Result<PolicySet> parse(std::string_view toml, std::string const& source);
    static Result<PolicySet> load_file(std::string const& path);
};

// The kernel's own rule when no agent answers: restart at once; give up after
// 10 failures within 60 seconds (a driver failing that often is not
// recovering, it is looping).
PolicyRule builtin_policy();

} // namespace nk
