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

// A driver initialized a lock (kind 1: spinlock, 2: mutex). The kernel process
// ignores it; a protection domain lists it for the object tracker.
void note_lock_initialized(void const* lock, unsigned kind);

} // namespace nk
