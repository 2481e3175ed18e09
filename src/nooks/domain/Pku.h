// SPDX-License-Identifier: MIT
#pragma once

// Probe for Intel memory protection keys, the hardware an in-process domain
// backend would use. Reported at start-up; the process backend is used either way.

#include <string>

namespace nk {

struct PkuSupport {
    bool cpu { false };        // CPUID.7.0:ECX.PKU
    bool os { false };         // CPUID.7.0:ECX.OSPKE (the kernel enabled it)
    bool allocatable { false }; // pkey_alloc succeeded
    std::string describe() const;
};

PkuSupport probe_pku();

} // namespace nk
