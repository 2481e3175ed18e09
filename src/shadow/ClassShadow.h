// SPDX-License-Identifier: MIT
#pragma once

// A class's shadow driver as the machine holds it (shadow mode): tapped into
// its class and watching recovery from its creation until the kernel is gone.
// See src/shadow/<class> for what each does.
//
// Lifetime: the machine destroys its recovery manager and then its kernel
// (with the class layers) before the shadows, so a shadow never detaches.
//
// Thread-safety: status() may be called from any thread.

#include <nlohmann/json.hpp>

namespace nk {

class ClassShadow {
public:
    virtual ~ClassShadow() = default;
    // What it shadows, for `nooks ctl list`: per device, active or passive,
    // failures lived through, requests re-issued, the longest stall...
    virtual nlohmann::json status() const = 0;
};

} // namespace nk
