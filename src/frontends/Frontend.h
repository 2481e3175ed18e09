// SPDX-License-Identifier: MIT
#pragma once

// A frontend: how real applications reach the devices of a driver class
// (disk files in a FUSE mount for the block class). The kernel process owns
// everything a frontend exposes, so a driver failure never tears it down.
//
// Created by the class's package once the drivers are loaded; devices that
// come and go later (registered, unregistered) appear and vanish on their own.
// Thread-safety: every method may be called from any thread.

#include <string>
#include <utility>
#include <vector>

namespace nk {

class Frontend {
public:
    virtual ~Frontend() = default;

    // Stops serving applications (unmounts). Idempotent; also done on destruction.
    virtual void stop() = 0;
    // Where applications reach each device now: (device, path) pairs,
    // ("disk0", "/run/nooks/disks/disk0").
    virtual std::vector<std::pair<std::string, std::string>> endpoints() const = 0;
};

} // namespace nk
