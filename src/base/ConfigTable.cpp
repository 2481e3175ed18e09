// SPDX-License-Identifier: MIT
#include "base/ConfigTable.h"

#include "base/Units.h"

#include <algorithm>

namespace nk {

std::vector<std::string> ConfigTable::keys() const
{
    std::vector<std::string> keys;
    for (auto const& [key, value] : m_values)
        keys.push_back(key);
    return keys;
}

Error ConfigTable::error(std::string const& key, std::string const& what) const
{
    return Error(ErrorCode::InvalidArgument, fmt::format("{}: config key '{}{}' {}", m_source, m_where, key, what));
}

Result<void> ConfigTable::allow_only(std::initializer_list<std::string_view> allowed) const
{
    for (auto const& [key, value] : m_values) {
        if (std::ranges::find(allowed, std::string_view(key)) == allowed.end()) {
            std::string known;
            for (auto name : allowed)
                known += fmt::format("{}{}", known.empty() ? "" : ", ", name);
            return std::unexpected(Error(ErrorCode::InvalidArgument,
                fmt::format("{}: unknown config key '{}{}' (known here: {})", m_source, m_where, key, known)));
        }
    }
    return {};
}

Result<std::optional<std::string>> ConfigTable::string(std::string const& key) const
{
    auto it = m_values.find(key);
    if (it == m_values.end())
        return std::optional<std::string> {};
    if (auto const* text = std::get_if<std::string>(&it->second))
        return std::optional<std::string>(*text);
    return std::unexpected(error(key, "must be a string"));
}

Result<std::optional<bool>> ConfigTable::boolean(std::string const& key) const
{
    auto it = m_values.find(key);
    if (it == m_values.end())
        return std::optional<bool> {};
    if (auto const* value = std::get_if<bool>(&it->second))
        return std::optional<bool>(*value);
    return std::unexpected(error(key, "must be true or false"));
}

Result<std::optional<int64_t>> ConfigTable::integer(std::string const& key, int64_t low, int64_t high) const
{
    auto it = m_values.find(key);
    if (it == m_values.end())
        return std::optional<int64_t> {};
    // A float is not an integer, even one with no fractional part.
    auto const* value = std::get_if<int64_t>(&it->second);
    if (value == nullptr || *value < low || *value > high)
        return std::unexpected(error(key, fmt::format("must be an integer in {}..{}", low, high)));
    return std::optional<int64_t>(*value);
}

Result<std::optional<uint64_t>> ConfigTable::size(std::string const& key, uint64_t low, uint64_t high, uint64_t multiple) const
{
    auto it = m_values.find(key);
    if (it == m_values.end())
        return std::optional<uint64_t> {};
    uint64_t bytes = 0;
    if (auto const* value = std::get_if<int64_t>(&it->second); value != nullptr && *value >= 0) {
        bytes = static_cast<uint64_t>(*value);
    } else if (auto const* text = std::get_if<std::string>(&it->second)) {
        auto parsed = parse_size(*text);
        if (!parsed)
            return std::unexpected(error(key, fmt::format("is not a size: {}", parsed.error().message())));
        bytes = *parsed;
    } else {
        return std::unexpected(error(key, "must be a size (\"256MiB\") or a number of bytes"));
    }
    if (bytes < low || bytes > high || bytes % multiple != 0) {
        auto range = fmt::format("must be {}..{}", format_size(low), format_size(high));
        if (multiple > 1)
            range += fmt::format(", a multiple of {}", format_size(multiple));
        return std::unexpected(error(key, range));
    }
    return std::optional<uint64_t>(bytes);
}

Result<std::optional<std::string>> ConfigTable::choice(std::string const& key, std::initializer_list<std::string_view> choices) const
{
    auto value = TRY(string(key));
    if (value && std::ranges::find(choices, std::string_view(*value)) == choices.end()) {
        std::string known;
        for (auto choice : choices)
            known += fmt::format("{}{}", known.empty() ? "" : ", ", choice);
        return std::unexpected(error(key, fmt::format("must be one of {} (not '{}')", known, *value)));
    }
    return value;
}

} // namespace nk
