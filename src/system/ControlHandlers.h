// SPDX-License-Identifier: MIT
#pragma once

// The control commands of a running kernel (see control/ControlServer.h):
//
//   list                  modules (mode, state, failures, restarts, XPC counts),
//                         devices and disks
//   objects DRIVER        what the driver holds: tracked kernel objects, requests
//                         in flight, its locks and its memory
//
// Each returns JSON; `nooks ctl` prints it for people.

#include "control/ControlServer.h"

namespace nk {

class System;

void add_control_handlers(ControlServer& server, System& system);

} // namespace nk
