// SPDX-License-Identifier: MIT
#pragma once

// The control commands of a running kernel (see control/ControlServer.h):
//
//   list                  modules (mode, state, failures, restarts, XPC counts),
//                         devices, and each class's devices ("classes": {"block": ...})
//   objects DRIVER        what the driver holds: tracked kernel objects, work it
//                         holds in its classes (requests in flight), its locks and memory
//   failures              recent failures: cause, where, and the recovery timeline
//   restart DRIVER        an operator's restart (recovered like any failure)
//   inject DRIVER FAULT   arms a fault: fires on the Nth call (after) of an entry
//
// A DRIVER is an instance name ("nkdisk@disk0") or a driver's own name when
// one instance of it is loaded ("nkdisk"). Each returns JSON; `nooks ctl`
// prints it for people.

#include "control/ControlServer.h"

namespace nk {

class System;

void add_control_handlers(ControlServer& server, System& system);

} // namespace nk
