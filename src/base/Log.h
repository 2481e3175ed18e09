// SPDX-License-Identifier: MIT
#pragma once

// Kernel logging: spdlog with one logger per component ("block", "fuse",
// "nkdisk"...). Messages go to stderr so that stdout stays machine-readable
// (`nooks run` prints its `ready` line there).

#include <memory>
#include <string_view>

#include <spdlog/spdlog.h>

namespace nk::log {

// Sets the global level ("debug", "info", "warn", "error") and the output
// pattern. Safe to call more than once.
void configure(std::string_view level);

// The logger for a component; created on first use, cached.
std::shared_ptr<spdlog::logger> get(std::string_view component);

} // namespace nk::log
