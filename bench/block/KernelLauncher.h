// SPDX-License-Identifier: MIT
#pragma once

// What `nooks run` said when it refused to boot (the last "error:" line of its
// log), for the benchmark's report of a mode that did not come up.

#include <string>

namespace nk::bench {

// The last "error:" line `nooks run` wrote to its log, without its prefix, or empty.
std::string kernel_error_line(std::string const& log_path);

} // namespace nk::bench
