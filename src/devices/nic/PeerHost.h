// SPDX-License-Identifier: MIT
#pragma once

// A peer host on an emulated Ethernet segment: a Linux network stack of its
// own (a network namespace, "nooks-peer0"), whose only interface is a TAP
// with an IPv4 address, attached to the segment as a station. What the
// host's stack sends on the TAP goes onto the segment; what the segment
// carries is written to the TAP (the host's stack drops frames not for it, as
// a NIC without promiscuous mode). Programs run inside the namespace serve or
// generate the traffic (`ip netns exec nooks-peer0 ping ...`, or start()).
//
// Threads: the TAP is read on the kernel's event loop (an fd source that
// reads until EAGAIN and sends each frame on the segment port, on the loop
// thread). receive() runs on the sending station's thread and never blocks:
// a frame the TAP cannot take now is dropped and counted. start() and
// stats() from any thread.
//
// Lifetime: the loop and the segment must outlive the peer host. Destruction
// stops the source synchronously (so it must not run on the loop thread), detaches
// from the segment, stops the programs start() ran (SIGTERM, SIGKILL after 2 s),
// closes the TAP and removes the namespace: nothing is left behind.

#include "base/Error.h"
#include "base/Mutex.h"
#include "base/net/Ipv4Prefix.h"
#include "base/net/MacAddress.h"
#include "base/net/NamespaceProcess.h"
#include "base/net/NetNamespace.h"
#include "base/net/Tap.h"
#include "devices/nic/Ethernet.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nk {

class EventLoop;
class EventSource;

struct PeerHostOptions {
    // The station's label on the segment ("peer0").
    std::string name;
    // The namespace it owns; empty: "nooks-" + name.
    std::string namespace_name;
    // The TAP's name inside the namespace.
    std::string interface { "eth0" };
    // Its address and subnet ("10.77.0.2/24").
    Ipv4Prefix address;
    // Its MAC; none: the one Linux gives a TAP (random, locally administered).
    std::optional<MacAddress> mac;
    unsigned mtu { 1500 };
    // A default route via this address (host byte order; on the subnet), if given.
    std::optional<uint32_t> gateway;
    // How long start() watches a program for an exit at once.
    std::chrono::milliseconds start_check { std::chrono::milliseconds(200) };
};

class PeerHost final : public EthernetStation {
public:
    struct Stats {
        uint64_t sent { 0 };     // frames the host sent (TAP -> segment)
        uint64_t received { 0 }; // frames written to the host (segment -> TAP)
        uint64_t dropped { 0 };  // frames for the host the TAP did not take (queue full, interface down)
    };

    // Creates the namespace (AlreadyExists if the name is taken), the TAP in
    // it, sets its MAC and MTU and address, brings it and the loopback up,
    // adds the default route via the gateway if there is one,
    // attaches to `segment` and starts reading on `loop`. On failure nothing
    // is left behind. Errors name the peer host: "peer host peer0: ...".
    static Result<std::unique_ptr<PeerHost>> create(EventLoop& loop, EthernetSegment& segment, PeerHostOptions options);
    ~PeerHost() override;
    PeerHost(PeerHost const&) = delete;
    PeerHost& operator=(PeerHost const&) = delete;

    std::string const& name() const { return m_options.name; }
    NetNamespace const& net_namespace() const { return m_namespace; }
    std::string const& interface() const { return m_tap.name(); }
    Ipv4Prefix address() const { return m_options.address; }
    MacAddress mac() const { return m_mac; }

    // Runs `argv` inside the namespace as a child of this process (a server:
    // `python3 -m http.server`), kept until the peer host goes; returns its
    // pid. FailedPrecondition if it ends within start_check ("peer host peer0:
    // python3 -c ... exited at once: exit status 3"); NotFound for a program
    // not in PATH.
    Result<pid_t> start(std::vector<std::string> const& argv);

    Stats stats() const;

    // EthernetStation: a frame from the segment, written to the TAP.
    void receive(std::span<std::byte const> frame) override;

private:
    PeerHost(PeerHostOptions options, NetNamespace ns, Tap tap, MacAddress mac);
    // The TAP is readable: send what it holds onto the segment (loop thread).
    void on_readable();

    PeerHostOptions const m_options;
    NetNamespace m_namespace;
    Tap m_tap;
    MacAddress const m_mac;
    std::unique_ptr<EthernetPort> m_port;
    std::unique_ptr<EventSource> m_source;
    // A frame read from the TAP (loop thread only).
    std::vector<std::byte> m_frame;

    mutable Mutex m_mutex;
    std::vector<NamespaceProcess> m_processes NK_GUARDED_BY(m_mutex);

    std::atomic<uint64_t> m_sent { 0 };
    std::atomic<uint64_t> m_received { 0 };
    std::atomic<uint64_t> m_dropped { 0 };
};

} // namespace nk
