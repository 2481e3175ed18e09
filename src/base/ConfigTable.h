// SPDX-License-Identifier: MIT
#pragma once

// One table of settings as a user wrote it (a TOML table, or `--set` on the
// command line): keys and scalar values, with typed getters whose errors name
// the key the way the user writes it ("disk0.size", "isolation.poll_us") and
// where it came from. Every kind of setting is read through these getters, so
// every key is checked the same way.
//
// Thread-safety: a value; not shared between threads while it changes.

#include "base/Error.h"

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace nk {

using ConfigValue = std::variant<bool, int64_t, double, std::string>;

class ConfigTable {
public:
    ConfigTable() = default;
    // `where`: the prefix of its keys in messages ("isolation.", "disk0.");
    // `source`: the file it came from, or "the command line".
    ConfigTable(std::string where, std::string source)
        : m_where(std::move(where))
        , m_source(std::move(source))
    {
    }

    void set(std::string key, ConfigValue value) { m_values[std::move(key)] = std::move(value); }
    void erase(std::string const& key) { m_values.erase(key); }
    bool contains(std::string const& key) const { return m_values.contains(key); }
    bool empty() const { return m_values.empty(); }
    std::vector<std::string> keys() const;
    std::string const& where() const { return m_where; }
    std::string const& source() const { return m_source; }

    // InvalidArgument naming the first key not in `allowed`.
    Result<void> allow_only(std::initializer_list<std::string_view> allowed) const;

    // Each: nullopt if the key is absent; InvalidArgument naming the key if it
    // has the wrong type or is out of range.
    Result<std::optional<std::string>> string(std::string const& key) const;
    Result<std::optional<bool>> boolean(std::string const& key) const;
    Result<std::optional<int64_t>> integer(std::string const& key, int64_t low, int64_t high) const;
    // A size: bytes as an integer, or text such as "256MiB"; in low..high and a
    // multiple of `multiple`.
    Result<std::optional<uint64_t>> size(std::string const& key, uint64_t low, uint64_t high, uint64_t multiple = 1) const;
    // One of `choices`.
    Result<std::optional<std::string>> choice(std::string const& key, std::initializer_list<std::string_view> choices) const;

    // "its/source: config key 'where.key' <what>" as an InvalidArgument error.
    Error error(std::string const& key, std::string const& what) const;

private:
    std::string m_where;
    std::string m_source;
    std::map<std::string, ConfigValue> m_values;
};

} // namespace nk
