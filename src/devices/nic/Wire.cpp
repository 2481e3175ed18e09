// SPDX-License-Identifier: MIT
#include "devices/nic/Wire.h"

#include "kernel/events/EventLoop.h"

namespace nk {

Result<std::shared_ptr<Wire>> Wire::create(std::string name, std::vector<PeerHostOptions> peers)
{
    std::shared_ptr<Wire> wire(new Wire());
    wire->m_loop = TRY(EventLoop::create());
    wire->m_segment = std::make_unique<EthernetSegment>(std::move(name));
    for (auto& options : peers)
        wire->m_peers.push_back(TRY(PeerHost::create(*wire->m_loop, *wire->m_segment, std::move(options))));
    return wire;
}

Wire::~Wire()
{
    // Peers read on the loop and send on the segment: they go first.
    m_peers.clear();
    m_segment.reset();
    m_loop.reset();
}

std::vector<PeerHost*> Wire::peers() const
{
    std::vector<PeerHost*> result;
    for (auto const& peer : m_peers)
        result.push_back(peer.get());
    return result;
}

} // namespace nk
