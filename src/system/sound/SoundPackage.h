// SPDX-License-Identifier: MIT
#pragma once

// The sound class's package: NKSND cards (devices/sound), the sound layer
// (classes/sound) and the OSS files applications use (frontends/oss).

#include "system/ClassPackage.h"

namespace nk {

std::shared_ptr<ClassPackage const> make_sound_package();

} // namespace nk
