// SPDX-License-Identifier: MIT
#pragma once

#include "base/Error.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace nk {

// Parses a size such as "64MiB", "1G", "4096", "512 KiB". Binary units (K, KiB,
// M, MiB, G, GiB, T, TiB) are powers of 1024; "KB", "MB"... are powers of 1000.
// Rejects empty strings, negative or fractional values, unknown units and overflow.
Result<uint64_t> parse_size(std::string_view text);

// "1.0 GiB", "512 KiB", "300 B".
std::string format_size(uint64_t bytes);

// "12.3 ms", "850 us", "2.10 s".
std::string format_duration_ns(uint64_t ns);

} // namespace nk
