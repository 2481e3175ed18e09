// SPDX-License-Identifier: MIT
#pragma once

#include "base/Error.h"

#include <nooks/kernel.h>

#include <string>

namespace nk {

// Checks the nk_module a driver file exports (API version, name, init); the
// error says what is wrong. Returns the module's name. Used by the native
// loader and by the domain runtime.
Result<std::string> validate_module_descriptor(nk_module const* descriptor, std::string const& path);

} // namespace nk
