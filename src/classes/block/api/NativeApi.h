// SPDX-License-Identifier: MIT
#pragma once

// The block class's kernel API for native drivers (the nk_blk_* functions of
// <nooks/block.h>, in NativeApi.cpp).

#include <cstddef>

namespace nk {

// Number of block API functions exported to native drivers. The block layer
// asks at construction, which links every entry point into the program (the
// --dynamic-list then exports them) and fails the build if a function
// declared in <nooks/block.h> has no implementation.
size_t block_api_symbol_count();

} // namespace nk
