// SPDX-License-Identifier: MIT
#pragma once

#include "base/Error.h"

#include <nooks/kernel.h>

#include <memory>
#include <string>
#include <vector>

namespace nk {

class BusDevice;
class Module;

// How the kernel reaches a bus driver's probe/remove: directly (native) or
// across a protection domain. Called by the bus in process context.
class BusDriverPort {
public:
    virtual ~BusDriverPort() = default;
    // The driver's probe result (0 or a negative errno), or an error if the
    // driver could not run (it failed).
    virtual Result<int> probe(BusDevice& device, nk_device_id const& id) = 0;
    virtual void remove(BusDevice& device) = 0;
};

// A registered bus driver: the kernel's own copy of what the driver declared.
struct BusDriver {
    Module* owner { nullptr };
    std::string name;
    std::vector<nk_device_id> ids;
    std::unique_ptr<BusDriverPort> port;
    // The driver's own struct nk_bus_driver address; identifies it on unregister.
    uintptr_t key { 0 };

    bool matches(uint16_t vendor, uint16_t device, nk_device_id* matched) const;
};

} // namespace nk
