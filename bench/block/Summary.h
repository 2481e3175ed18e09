// SPDX-License-Identifier: MIT
#pragma once

// The reports' view of repeated samples: the median with the range, and
// the ratio of two medians, formatted for a table cell ("—" where there is
// nothing to show).

#include <algorithm>
#include <fmt/format.h>
#include <optional>
#include <string>
#include <vector>

namespace nk::bench {

struct Summary {
    double median { 0 };
    double low { 0 };
    double high { 0 };
    size_t count { 0 };
};

inline std::optional<Summary> summarize(std::vector<double> values)
{
    if (values.empty())
        return std::nullopt;
    std::ranges::sort(values);
    auto n = values.size();
    double median = n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
    return Summary { median, values.front(), values.back(), n };
}

// "12.3 (11.0–14.2)" with `format` for each number; the median alone for one sample.
inline std::string with_range(std::optional<Summary> const& summary, char const* format)
{
    if (!summary)
        return "—";
    auto median = fmt::format(fmt::runtime(format), summary->median);
    if (summary->count < 2)
        return median;
    return fmt::format("{} ({}–{})", median, fmt::format(fmt::runtime(format), summary->low), fmt::format(fmt::runtime(format), summary->high));
}

// value / reference of the medians, "0.97".
inline std::string ratio(std::optional<Summary> const& value, std::optional<Summary> const& reference)
{
    if (!value || !reference || reference->median <= 0)
        return "—";
    return fmt::format("{:.2f}", value->median / reference->median);
}

} // namespace nk::bench
