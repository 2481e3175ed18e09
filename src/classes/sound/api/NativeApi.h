// SPDX-License-Identifier: MIT
#pragma once

// The sound class's kernel API for native drivers (the nk_snd_* functions of
// <nooks/sound.h>, in NativeApi.cpp).

#include <cstddef>

namespace nk {

// Number of sound API functions exported to native drivers. The sound layer
// asks at construction, which links every entry point into the program (the
// --dynamic-list then exports them) and fails the build if a function
// declared in <nooks/sound.h> has no implementation.
size_t sound_api_symbol_count();

} // namespace nk
