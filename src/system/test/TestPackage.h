// SPDX-License-Identifier: MIT
#pragma once

// The package of test devices ([[aux]] tables: NKAUX; [[tick]]: NKTICK; both
// taken by nktest), for
// machines the tests and the XPC benchmark boot. Not in the builtin catalog:
// `nooks run` knows no test devices.

#include "system/Catalog.h"

namespace nk {

std::shared_ptr<ClassPackage const> make_test_package();
// The builtin catalog and the test package.
Catalog const& test_catalog();

} // namespace nk
