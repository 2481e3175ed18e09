// SPDX-License-Identifier: MIT
#include "Table.h"

#include <algorithm>

namespace nk::bench {

// Columns of the terminal, not bytes: "µ" and "×" take two bytes in UTF-8.
static size_t display_width(std::string const& text)
{
    return static_cast<size_t>(std::ranges::count_if(text, [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

static std::string pad(std::string const& text, size_t width, bool right)
{
    auto fill = std::string(width - std::min(width, display_width(text)), ' ');
    return right ? fill + text : text + fill;
}

std::string Table::text(std::string const& indent) const
{
    std::vector<size_t> widths(m_header.size(), 0);
    auto measure = [&](std::vector<std::string> const& row) {
        for (size_t i = 0; i < row.size() && i < widths.size(); ++i)
            widths[i] = std::max(widths[i], display_width(row[i]));
    };
    measure(m_header);
    for (auto const& row : m_rows)
        measure(row);

    auto line = [&](std::vector<std::string> const& row) {
        std::string out = indent;
        for (size_t i = 0; i < widths.size(); ++i) {
            auto cell = i < row.size() ? row[i] : std::string();
            out += pad(cell, widths[i], i >= m_label_columns);
            out += i + 1 < widths.size() ? "  " : "";
        }
        while (!out.empty() && out.back() == ' ')
            out.pop_back();
        return out + "\n";
    };
    std::string out = line(m_header);
    size_t total = 0;
    for (auto width : widths)
        total += width + 2;
    out += indent + std::string(total - 2, '-') + "\n";
    for (auto const& row : m_rows)
        out += line(row);
    return out;
}

std::string Table::markdown() const
{
    auto line = [&](std::vector<std::string> const& row) {
        std::string out = "|";
        for (size_t i = 0; i < m_header.size(); ++i)
            out += " " + (i < row.size() ? row[i] : std::string()) + " |";
        return out + "\n";
    };
    std::string out = line(m_header);
    out += "|";
    for (size_t i = 0; i < m_header.size(); ++i)
        out += i < m_label_columns ? " --- |" : " ---: |";
    out += "\n";
    for (auto const& row : m_rows)
        out += line(row);
    return out;
}

} // namespace nk::bench
