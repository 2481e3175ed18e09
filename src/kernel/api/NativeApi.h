// SPDX-License-Identifier: MIT
#pragma once

// Helpers shared by the native kernel API entry points (the extern "C" nk_*
// functions a natively loaded driver calls directly).

#include "kernel/Kernel.h"
#include "kernel/exec/Context.h"

namespace nk::native_api {

// The module whose code is calling, or null if the caller is not driver code
// (which is a bug: the API is only for drivers).
inline Module* caller() { return current_context().module; }

// The caller's kernel; reports misuse and returns null outside driver code.
Kernel* caller_kernel(char const* function);

// Process-context check for functions that may sleep.
void might_sleep(char const* function);

} // namespace nk::native_api

namespace nk::native_api {

// Number of kernel API functions exported to native drivers (see exports.cpp).
size_t exported_symbol_count();

} // namespace nk::native_api
