// SPDX-License-Identifier: MIT
#pragma once

// The block class's wrappers (src/abi/block/Calls.h): disks and request
// completions. See ClassWrappers for the contract.

#include "base/Mutex.h"
#include "nooks/tracker/ObjectTracker.h"
#include "nooks/wrappers/ClassWrappers.h"

#include <map>

namespace nk {

class BlockLayer;
class IsolatedBlockPort;

// The tracker's type for a disk the driver registered.
constexpr ObjectType disk_object = class_object_type(abi::ClassId::block, 0);

class BlockWrappers final : public ClassWrappers {
public:
    explicit BlockWrappers(IsolatedModule& module);

    Result<XpcReply> handle(IncomingCall const& call, ReplyPayload& reply) override;

#define NK_X(cls, name, delivery, Args) Result<XpcReply> name(IncomingCall const& call, abi::Args const& args, ReplyPayload& reply);
    NOOKS_BLOCK_KERNEL_CALLS(NK_X)
#undef NK_X

private:
    // The kernel's block class (null in a kernel that has none: disks are refused).
    BlockLayer* m_block;
    // Ports of disks registered but not yet known to the driver (blk_disk_ready).
    Mutex m_unready_mutex;
    std::map<uint64_t, IsolatedBlockPort*> m_unready NK_GUARDED_BY(m_unready_mutex);
};

} // namespace nk
