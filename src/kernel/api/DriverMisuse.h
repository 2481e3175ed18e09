// SPDX-License-Identifier: MIT
#pragma once

// A driver broke a rule of the kernel API that the call itself can detect
// (sleeping in atomic context, unlocking a lock it does not hold...).
//
// Each binary that runs driver code provides its own definition: the kernel
// process (native mode) logs the misuse, attributed to the current driver, and
// carries on as Linux would with a warning; a protection domain reports it as
// a driver fault.

namespace nk {

void report_driver_misuse(char const* function, char const* what);

} // namespace nk
