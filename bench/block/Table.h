// SPDX-License-Identifier: MIT
#pragma once

// A table rendered two ways from the same cells: aligned text for the
// terminal and GitHub Markdown for the report, so both always agree.

#include <string>
#include <vector>

namespace nk::bench {

class Table {
public:
    // The first `label_columns` columns are left-aligned labels, the others
    // right-aligned numbers.
    explicit Table(std::vector<std::string> header, size_t label_columns = 1)
        : m_header(std::move(header))
        , m_label_columns(label_columns)
    {
    }
    void add_row(std::vector<std::string> row) { m_rows.push_back(std::move(row)); }
    bool empty() const { return m_rows.empty(); }

    std::string text(std::string const& indent = "  ") const;
    std::string markdown() const;

private:
    std::vector<std::string> m_header;
    std::vector<std::vector<std::string>> m_rows;
    size_t m_label_columns;
};

} // namespace nk::bench
