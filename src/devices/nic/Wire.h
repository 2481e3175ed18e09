// SPDX-License-Identifier: MIT
#pragma once

// What lies on the other side of a NIC's cable: an Ethernet segment with the
// peer hosts on it (each a Linux network stack of its own, see PeerHost.h),
// run by an event loop of its own ("nk-events" of the wire, not the
// kernel's): the outside world goes on while the kernel's drivers fail.
//
// Ownership: the NIC's kind makes the wire and the NIC keeps it alive (the
// NIC's port on the segment goes before the wire). Destruction removes the
// peers (their namespaces, TAPs and programs), then the segment, then stops
// the loop. Thread-safety: const after create(); peers are thread-safe.

#include "base/Error.h"
#include "devices/nic/Ethernet.h"
#include "devices/nic/PeerHost.h"

#include <memory>
#include <string>
#include <vector>

namespace nk {

class EventLoop;

class Wire {
public:
    // Makes the segment `name` and the peers; nothing is left behind on failure.
    static Result<std::shared_ptr<Wire>> create(std::string name, std::vector<PeerHostOptions> peers);
    ~Wire();
    Wire(Wire const&) = delete;
    Wire& operator=(Wire const&) = delete;

    EthernetSegment& segment() { return *m_segment; }
    std::vector<PeerHost*> peers() const;

private:
    Wire() = default;

    std::unique_ptr<EventLoop> m_loop;
    std::unique_ptr<EthernetSegment> m_segment;
    std::vector<std::unique_ptr<PeerHost>> m_peers;
};

} // namespace nk
