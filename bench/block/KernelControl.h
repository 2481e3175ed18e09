// SPDX-License-Identifier: MIT
#pragma once

// The benchmarks' view of a running kernel through its control socket, by
// `nooks ctl --json` (the same path a person uses, so what a report says can
// be checked by hand against a live kernel).

#include "base/Error.h"

#include <nlohmann/json.hpp>

#include <string>

namespace nk::bench {

// `nooks ctl --control SOCKET --json COMMAND`'s answer; an error if it
// failed, took over 10 s, or printed no JSON.
Result<nlohmann::json> kernel_control(std::string const& nooks, std::string const& socket, std::string const& command);

// XPC crossings both ways so far (calls into domains and the kernel calls
// they made), summed over every isolated driver; 0 in native mode.
Result<double> crossings_so_far(std::string const& nooks, std::string const& socket);

} // namespace nk::bench
