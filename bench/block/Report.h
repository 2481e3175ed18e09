// SPDX-License-Identifier: MIT
#pragma once

// The benchmark's results for people: a table per target (rows: workloads and
// their metrics; columns: modes, then ratios to the baseline mode), as text
// on stdout and as a Markdown report with the machine, the exact commands to
// reproduce it and the fio parameters.

#include "BenchOptions.h"
#include "Results.h"

#include <string>

namespace nk::bench {

std::string text_report(BenchResults const& results, BenchOptions const& options);
std::string markdown_report(BenchResults const& results, BenchOptions const& options);

} // namespace nk::bench
