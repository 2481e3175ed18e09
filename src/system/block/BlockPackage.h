// SPDX-License-Identifier: MIT
#pragma once

// The block class's package: disks (devices/disk), the block layer
// (classes/block), the block shadow driver (shadow/block) and the disk files
// (frontends/fuse).

#include "system/ClassPackage.h"

namespace nk {

std::shared_ptr<ClassPackage const> make_block_package();

} // namespace nk
