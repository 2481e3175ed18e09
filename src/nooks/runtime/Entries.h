// SPDX-License-Identifier: MIT
#pragma once

#include "nooks/abi/Interface.h"

#include <cstdint>

namespace nk::runtime {

// Runs a kernel -> driver entry: resolves the function handle in words[0] (for
// entries that name one) and calls the driver function with the signature the
// entry defines. Returns the driver's result; `word` receives a second result.
int64_t run_entry(abi::DriverEntry entry, uint64_t const* words, uint64_t& word);

// Arms the fault injector: fault (0xff: disarm), entry (0xffff: any), the Nth
// call, the sector (~0: any) and whether it repeats.
void arm_injection(uint32_t fault, uint32_t entry, uint32_t after, uint64_t sector, bool repeat);

} // namespace nk::runtime
