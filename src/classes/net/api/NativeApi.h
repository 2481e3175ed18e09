// SPDX-License-Identifier: MIT
#pragma once

// The net class's kernel API for native drivers (the nk_netdev_*, nk_netif_*
// and nk_napi_* functions of <nooks/net.h>, in NativeApi.cpp).

#include <cstddef>

namespace nk {

// Number of net API functions exported to native drivers. The net layer asks
// at construction, which links every entry point into the program (the
// --dynamic-list then exports them) and fails the build if a function
// declared in <nooks/net.h> has no implementation.
size_t net_api_symbol_count();

} // namespace nk
