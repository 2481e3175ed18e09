// SPDX-License-Identifier: MIT
#pragma once

// A tap on the block class: where a shadow driver interposes between the
// class and the drivers of its disks (see src/shadow/block).
//
// The block layer asks its tap, if one is installed:
//   - when a driver registers a disk: the tap may wrap the driver's port (to
//     watch every call), or hand back a disk it kept from that driver's failed
//     predecessor (so applications keep the same disk);
//   - when a failed driver's disks are released: the tap may keep a disk alive
//     (its requests wait) instead of letting it be unregistered.
// Called on the kernel thread doing the registration or the release.

#include "base/Error.h"
#include "classes/block/BlockDriverPort.h"

#include <nooks/block.h>

#include <memory>

namespace nk {

class BlockLayer;
class BusDevice;
class Disk;
class Module;

class BlockTap {
public:
    virtual ~BlockTap() = default;

    // A driver registers a disk. `create` registers a new disk with the given
    // port (normally the tap's wrapper around `port`). Returns the disk the
    // driver is given.
    virtual Result<std::shared_ptr<Disk>> register_disk(Module& owner, BusDevice* device, nk_blk_disk_params const& params,
        std::unique_ptr<BlockDriverPort> port, void* private_data) = 0;

    // The failed driver `owner` is being released: true if the tap keeps
    // `disk` for its next instance.
    virtual bool keep_disk(Disk& disk, Module& owner) = 0;
};

} // namespace nk
