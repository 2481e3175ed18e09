// SPDX-License-Identifier: MIT
#pragma once

// The net class's package: NICs (devices/nic), the net layer (classes/net)
// and the TAP interfaces applications use (frontends/tap).

#include "system/ClassPackage.h"

namespace nk {

std::shared_ptr<ClassPackage const> make_net_package();

} // namespace nk
