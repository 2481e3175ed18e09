// SPDX-License-Identifier: MIT
#pragma once

// The net class's wrappers (src/abi/net/Calls.h): net devices, received
// frames, queue and carrier state, NAPI contexts. See ClassWrappers for the
// contract.

#include "base/Mutex.h"
#include "nooks/tracker/ObjectTracker.h"
#include "nooks/wrappers/ClassWrappers.h"

#include <map>

namespace nk {

class NetLayer;
class IsolatedNetPort;

// The tracker's types for what a net driver holds.
constexpr ObjectType netdev_object = class_object_type(abi::ClassId::net, 0);
constexpr ObjectType napi_object = class_object_type(abi::ClassId::net, 1);

class NetWrappers final : public ClassWrappers {
public:
    explicit NetWrappers(IsolatedModule& module);

    Result<XpcReply> handle(IncomingCall const& call, ReplyPayload& reply) override;

#define NK_X(cls, name, delivery, Args) Result<XpcReply> name(IncomingCall const& call, abi::Args const& args, ReplyPayload& reply);
    NOOKS_NET_KERNEL_CALLS(NK_X)
#undef NK_X

private:
    // The kernel's net class (null in a kernel that has none: devices are refused).
    NetLayer* m_net;
    // Ports of devices registered but not yet known to the driver (netdev_ready).
    Mutex m_unready_mutex;
    std::map<uint64_t, IsolatedNetPort*> m_unready NK_GUARDED_BY(m_unready_mutex);
    // Per device: the numbers of the last queue and carrier changes applied (see
    // NetifStateArgs). Held while a change is applied, so changes take effect
    // in the order their numbers were checked.
    struct AppliedState {
        uint32_t queue { 0 };
        uint32_t carrier { 0 };
    };
    Mutex m_state_mutex;
    std::map<uint64_t, AppliedState> m_applied NK_GUARDED_BY(m_state_mutex);
};

} // namespace nk
