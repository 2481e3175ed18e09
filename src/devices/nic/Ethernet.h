// SPDX-License-Identifier: MIT
#pragma once

// The wire: an emulated Ethernet segment (a hub) and the stations on it (the
// NIC's port, peer hosts). A frame one station sends reaches every other
// station on the segment, unchanged; each station's own filter decides what
// it takes (so a NIC's promiscuous mode is observable, as on a hub).
//
// Frames are whole Ethernet frames, destination address first, without the
// FCS, 14 .. EthernetSegment::max_frame bytes.
//
// Threads: a station sends from any thread (a NIC's transmit engine on the
// thread that rang its doorbell, a peer's reader on the kernel's event loop).
// receive() is called on the sender's thread, with no segment lock held, and
// must not block: a station that cannot take a frame now drops it (and counts
// it), as a NIC without a free descriptor does.
//
// Lifetime: a port detaches its station when destroyed; after that returns,
// receive() is not called on the station again (so a port must not be
// destroyed from inside a receive() of the segment). A port may outlive its
// segment.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace nk {

class EthernetStation {
public:
    virtual ~EthernetStation() = default;
    // A frame another station sent. Must not block; may drop.
    virtual void receive(std::span<std::byte const> frame) = 0;
};

class EthernetPort {
public:
    virtual ~EthernetPort() = default;
    // Sends a frame to every other station on the segment (frames outside
    // 14 .. max_frame bytes are dropped and counted).
    virtual void send(std::span<std::byte const> frame) = 0;
};

// Counters of a segment, for tests and `nooks ctl`.
struct EthernetSegmentStats {
    uint64_t frames { 0 };      // frames sent onto the segment
    uint64_t deliveries { 0 };  // frames handed to stations (a frame reaches each other station)
    uint64_t bad_frames { 0 };  // sends refused (too short or too long)
};

class EthernetSegment {
public:
    static constexpr size_t min_frame = 14;
    static constexpr size_t max_frame = 9018; // a 9000-byte MTU plus header and VLAN tag

    explicit EthernetSegment(std::string name);
    ~EthernetSegment();
    EthernetSegment(EthernetSegment const&) = delete;
    EthernetSegment& operator=(EthernetSegment const&) = delete;

    std::string const& name() const { return m_name; }

    // Attaches `station` (not owned; it must outlive the port). `label` names
    // it in logs ("nic0", "peer0").
    std::unique_ptr<EthernetPort> attach(EthernetStation& station, std::string label);

    EthernetSegmentStats stats() const;

    class Hub; // the shared state behind the ports (Ethernet.cpp)

private:
    std::string m_name;
    std::shared_ptr<Hub> m_hub;
};

} // namespace nk
