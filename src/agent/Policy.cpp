// SPDX-License-Identifier: MIT
#include "agent/Policy.h"

#include <fstream>
#include <set>
#include <sstream>

#include <toml++/toml.h>

namespace nk {

char const* recovery_action_name(RecoveryAction action)
{
    switch (action) {
    case RecoveryAction::Restart: return "restart";
    case RecoveryAction::GiveUp: return "give-up";
    case RecoveryAction::Replace: return "replace";
    }
    return "?";
}

Result<RecoveryAction> parse_recovery_action(std::string_view text)
{
    if (text == "restart")
        return RecoveryAction::Restart;
    if (text == "give-up")
        return RecoveryAction::GiveUp;
    if (text == "replace")
        return RecoveryAction::Replace;
    return make_error(ErrorCode::InvalidArgument, "bad action '{}': expected restart, give-up or replace", text);
}

PolicyRule builtin_policy()
{
    PolicyRule rule;
    rule.give_up_after = 10;
    rule.window_s = 60;
    return rule;
}

PolicyDecision decide(PolicyRule const& rule, unsigned failures)
{
    PolicyDecision decision;
    if (rule.give_up_after > 0 && failures >= rule.give_up_after) {
        decision.action = RecoveryAction::GiveUp;
        decision.reason = fmt::format("{} failures within {} s (limit {})", failures, rule.window_s, rule.give_up_after);
        return decision;
    }
    decision.action = rule.action;
    decision.replacement = rule.replacement;
    if (rule.action == RecoveryAction::GiveUp) {
        decision.reason = "policy says give up";
        return decision;
    }
    decision.delay_ms = rule.backoff_initial_ms;
    if (failures >= 2 && rule.backoff_ms > 0) {
        // The first restart at once (or after backoff_initial_ms), then exponential, capped.
        auto shift = std::min<unsigned>(failures - 2, 40);
        auto delay = rule.backoff_ms << shift;
        decision.delay_ms = std::min(delay, rule.backoff_max_ms);
    }
    decision.reason = fmt::format("{} (failure {} within {} s){}", recovery_action_name(decision.action), failures, rule.window_s,
        decision.delay_ms > 0 ? fmt::format(", after {} ms", decision.delay_ms) : "");
    return decision;
}

PolicyRule const& PolicySet::rule_for(std::string const& driver, std::string const& driver_class) const
{
    if (auto it = drivers.find(driver); it != drivers.end())
        return it->second;
    // An instance bound to a device ("nkdisk@disk0") follows its driver's rule ("nkdisk").
    if (auto at = driver.find('@'); at != std::string::npos) {
        if (auto it = drivers.find(driver.substr(0, at)); it != drivers.end())
            return it->second;
    }
    if (auto it = classes.find(driver_class); it != classes.end())
        return it->second;
    return default_rule;
}

namespace {

Result<PolicyRule> parse_rule(toml::table const& table, std::string const& where, std::string const& source)
{
    static std::set<std::string> const keys { "action", "backoff_initial_ms", "backoff_ms", "backoff_max_ms", "give_up_after",
        "window_s", "replacement", "notify" };
    PolicyRule rule;
    for (auto const& [key, value] : table) {
        if (!keys.contains(std::string(key.str())))
            return make_error(ErrorCode::InvalidArgument, "{}: unknown policy key '{}.{}'", source, where, key.str());
    }
    auto text = [&](char const* key) -> Result<std::optional<std::string>> {
        auto const* node = table.get(key);
        if (node == nullptr)
            return std::optional<std::string> {};
        if (auto value = node->value<std::string>())
            return std::optional<std::string>(*value);
        return make_error(ErrorCode::InvalidArgument, "{}: '{}.{}' must be a string", source, where, key);
    };
    auto number = [&](char const* key, uint64_t limit) -> Result<std::optional<uint64_t>> {
        auto const* node = table.get(key);
        if (node == nullptr)
            return std::optional<uint64_t> {};
        auto value = node->value<int64_t>();
        if (!node->is_integer() || !value || *value < 0 || static_cast<uint64_t>(*value) > limit)
            return make_error(ErrorCode::InvalidArgument, "{}: '{}.{}' must be an integer in 0..{}", source, where, key, limit);
        return std::optional<uint64_t>(static_cast<uint64_t>(*value));
    };
    if (auto action = TRY(text("action"))) {
        auto parsed = parse_recovery_action(*action);
        if (!parsed)
            return make_error(ErrorCode::InvalidArgument, "{}: '{}.action': {}", source, where, parsed.error().message());
        rule.action = *parsed;
    }
    if (auto value = TRY(number("backoff_initial_ms", 3'600'000)))
        rule.backoff_initial_ms = *value;
    if (auto value = TRY(number("backoff_ms", 3'600'000)))
        rule.backoff_ms = *value;
    if (auto value = TRY(number("backoff_max_ms", 3'600'000)))
        rule.backoff_max_ms = *value;
    if (auto value = TRY(number("give_up_after", 1'000'000)))
        rule.give_up_after = static_cast<unsigned>(*value);
    if (auto value = TRY(number("window_s", 86'400)))
        rule.window_s = std::max<uint64_t>(*value, 1);
    if (auto value = TRY(text("replacement")))
        rule.replacement = *value;
    if (auto value = TRY(text("notify")))
        rule.notify = *value;
    if (rule.action == RecoveryAction::Replace && rule.replacement.empty())
        return make_error(ErrorCode::InvalidArgument, "{}: '{}' says replace but names no replacement", source, where);
    return rule;
}

} // namespace

Result<PolicySet> PolicySet::parse(std::string_view text, std::string const& source)
{
    toml::table table;
    try {
        table = toml::parse(text, source);
    } catch (toml::parse_error const& error) {
        return make_error(ErrorCode::InvalidArgument, "{}:{}:{}: {}", source, error.source().begin.line, error.source().begin.column,
            error.description());
    }
    PolicySet set;
    for (auto const& [key, value] : table) {
        auto name = std::string(key.str());
        if (name == "default") {
            if (!value.is_table())
                return make_error(ErrorCode::InvalidArgument, "{}: [default] must be a table", source);
            set.default_rule = TRY(parse_rule(*value.as_table(), "default", source));
        } else if (name == "class" || name == "driver") {
            if (!value.is_table())
                return make_error(ErrorCode::InvalidArgument, "{}: '{}' must hold tables ([{}.NAME])", source, name, name);
            for (auto const& [entry, rule] : *value.as_table()) {
                if (!rule.is_table())
                    return make_error(ErrorCode::InvalidArgument, "{}: [{}.{}] must be a table", source, name, entry.str());
                auto where = fmt::format("{}.{}", name, entry.str());
                auto parsed = TRY(parse_rule(*rule.as_table(), where, source));
                (name == "class" ? set.classes : set.drivers)[std::string(entry.str())] = std::move(parsed);
            }
        } else {
            return make_error(ErrorCode::InvalidArgument, "{}: unknown policy section '{}' (default, class.NAME, driver.NAME)", source, name);
        }
    }
    return set;
}

Result<PolicySet> PolicySet::load_file(std::string const& path)
{
    std::ifstream file(path);
    if (!file)
        return make_error(ErrorCode::NotFound, "policy file {}: cannot be read", path);
    std::stringstream text;
    text << file.rdbuf();
    return parse(text.str(), path);
}

} // namespace nk
