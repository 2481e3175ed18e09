// SPDX-License-Identifier: MIT
#include "base/Units.h"

#include <array>
#include <cctype>
#include <charconv>
#include <limits>

namespace nk {

Result<uint64_t> parse_size(std::string_view text)
{
    auto trimmed = text;
    while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.front())))
        trimmed.remove_prefix(1);
    while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.back())))
        trimmed.remove_suffix(1);
    if (trimmed.empty())
        return make_error(ErrorCode::InvalidArgument, "bad size '{}': empty", text);

    uint64_t value = 0;
    auto [end, ec] = std::from_chars(trimmed.data(), trimmed.data() + trimmed.size(), value);
    if (ec == std::errc::result_out_of_range)
        return make_error(ErrorCode::InvalidArgument, "bad size '{}': too large", text);
    if (ec != std::errc() || end == trimmed.data())
        return make_error(ErrorCode::InvalidArgument, "bad size '{}': expected a whole number with an optional unit (e.g. 64MiB)", text);

    std::string_view unit(end, trimmed.data() + trimmed.size() - end);
    while (!unit.empty() && std::isspace(static_cast<unsigned char>(unit.front())))
        unit.remove_prefix(1);

    struct UnitFactor {
        std::string_view name;
        uint64_t factor;
    };
    static constexpr std::array units {
        UnitFactor { "", 1 },
        UnitFactor { "B", 1 },
        UnitFactor { "K", 1ull << 10 }, UnitFactor { "KiB", 1ull << 10 }, UnitFactor { "KB", 1000ull },
        UnitFactor { "M", 1ull << 20 }, UnitFactor { "MiB", 1ull << 20 }, UnitFactor { "MB", 1000ull * 1000 },
        UnitFactor { "G", 1ull << 30 }, UnitFactor { "GiB", 1ull << 30 }, UnitFactor { "GB", 1000ull * 1000 * 1000 },
        UnitFactor { "T", 1ull << 40 }, UnitFactor { "TiB", 1ull << 40 }, UnitFactor { "TB", 1000ull * 1000 * 1000 * 1000 },
    };
    for (auto const& candidate : units) {
        if (candidate.name != unit)
            continue;
        if (value > std::numeric_limits<uint64_t>::max() / candidate.factor)
            return make_error(ErrorCode::InvalidArgument, "bad size '{}': too large", text);
        return value * candidate.factor;
    }
    return make_error(ErrorCode::InvalidArgument, "bad size '{}': unknown unit '{}' (use B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)", text, unit);
}

std::string format_size(uint64_t bytes)
{
    static constexpr std::array names { "B", "KiB", "MiB", "GiB", "TiB" };
    size_t index = 0;
    auto value = static_cast<double>(bytes);
    while (value >= 1024.0 && index + 1 < names.size()) {
        value /= 1024.0;
        ++index;
    }
    if (index == 0)
        return fmt::format("{} B", bytes);
    return fmt::format("{:.1f} {}", value, names[index]);
}

std::string format_duration_ns(uint64_t ns)
{
    if (ns < 1000)
        return fmt::format("{} ns", ns);
    if (ns < 1000 * 1000)
        return fmt::format("{:.1f} us", static_cast<double>(ns) / 1e3);
    if (ns < 1000ull * 1000 * 1000)
        return fmt::format("{:.1f} ms", static_cast<double>(ns) / 1e6);
    return fmt::format("{:.2f} s", static_cast<double>(ns) / 1e9);
}

} // namespace nk
