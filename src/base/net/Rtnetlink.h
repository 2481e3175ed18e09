// SPDX-License-Identifier: MIT
#pragma once

// A NETLINK_ROUTE socket inside a network namespace (opened by a thread in
// it, so it speaks to that namespace's stack for good), in one of two modes:
//
//   open()     requests: read a link's state, set it up or down, set its MTU
//              and MAC, add an IPv4 address or route. Each request waits for the
//              kernel's answer (at most 5 s); a refusal is the kernel's errno
//              with its extended-ack text when it gives one: "rtnetlink in
//              namespace nooks: set MTU of nk0 to 70000: Invalid argument
//              (kernel: MTU greater than device maximum)".
//   monitor()  events: subscribed to RTNLGRP_LINK, non-blocking; watch fd()
//              with an EventLoop source and read_events() when readable.
//              Every change of a link's flags, MTU, MAC or promiscuity count
//              (IFLA_PROMISCUITY: `ip link set promisc on` and packet sockets
//              such as tcpdump's both raise it, only the first sets
//              IFF_PROMISC) arrives as an RTM_NEWLINK.
//
// The link-level multicast list has no netlink events: see MulticastList.h.
//
// Thread-safety: one thread at a time per object.

#include "base/Error.h"
#include "base/UniqueFd.h"
#include "base/net/Ipv4Prefix.h"
#include "base/net/MacAddress.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace nk {

class NetNamespace;
class NetlinkMessage;

// A link as rtnetlink describes it (RTM_NEWLINK).
struct LinkInfo {
    int ifindex { 0 };
    std::string name;
    unsigned flags { 0 };       // IFF_UP, IFF_BROADCAST, IFF_PROMISC, IFF_ALLMULTI, IFF_LOWER_UP... (<net/if.h>)
    unsigned mtu { 0 };
    MacAddress mac;
    unsigned promiscuity { 0 }; // how many want it promiscuous (IFLA_PROMISCUITY)
    bool carrier { false };     // IFLA_CARRIER

    bool up() const;
    // Promiscuous for any reason: asked by a user or by a packet socket.
    bool promiscuous() const;
    bool all_multicast() const;
};

struct LinkEvent {
    enum class Kind : unsigned char {
        Changed, // RTM_NEWLINK: a link appeared or changed; `link` is its state now
        Removed, // RTM_DELLINK: `link` is what it was
        Overrun, // the socket's buffer overflowed and events were lost: read the links again
    };
    Kind kind;
    LinkInfo link;
};

class Rtnetlink {
public:
    // A request socket in `ns`.
    static Result<Rtnetlink> open(NetNamespace const& ns);
    // An event socket in `ns`, subscribed to link changes, non-blocking.
    static Result<Rtnetlink> monitor(NetNamespace const& ns);

    Rtnetlink(Rtnetlink&&) = default;
    Rtnetlink& operator=(Rtnetlink&&) = default;
    ~Rtnetlink() = default;

    // Requests (open() sockets). The link is named by its interface name;
    // NotFound if it has none of that name.
    Result<LinkInfo> link(std::string const& name);
    Result<std::vector<LinkInfo>> links();
    Result<void> set_up(std::string const& name, bool up);
    Result<void> set_mtu(std::string const& name, unsigned mtu);
    Result<void> set_mac(std::string const& name, MacAddress mac);
    // Adds `address` (with its prefix length, so the subnet's route comes
    // with it). AlreadyExists if the link has it already.
    Result<void> add_address(std::string const& name, Ipv4Prefix address);
    // Adds a route (main table) to the network of `destination` (length 0:
    // the default route) out of `name`: via `gateway` (host byte order) if
    // given, else directly on the link. AlreadyExists if the table has that
    // route; FailedPrecondition ("Network is unreachable") if the gateway is
    // on no subnet of the link, or the link is down.
    Result<void> add_route(std::string const& name, Ipv4Prefix destination, std::optional<uint32_t> gateway = std::nullopt);

    // Events (monitor() sockets). The descriptor to watch for readability.
    int fd() const { return m_fd.get(); }
    // The events waiting, in order, until the socket is empty (none: empty).
    Result<std::vector<LinkEvent>> read_events();
    // Waits up to `timeout` for events and reads them (empty on timeout).
    Result<std::vector<LinkEvent>> wait_events(std::chrono::milliseconds timeout);

    // Parses an RTM_NEWLINK or RTM_DELLINK message (header included).
    // InvalidArgument if it is not one or is truncated.
    static Result<LinkInfo> parse_link(std::span<std::byte const> message);

private:
    Rtnetlink(std::string what, UniqueFd fd)
        : m_what(std::move(what))
        , m_fd(std::move(fd))
    {
    }
    static Result<Rtnetlink> open_socket(NetNamespace const& ns, bool events);
    // Sends `message` and collects the links it answers with until the ack
    // (or, for a dump, the end). `what` names the request in errors.
    Result<std::vector<LinkInfo>> transact(NetlinkMessage& message, std::string const& what);

    std::string m_what;
    UniqueFd m_fd;
    uint32_t m_sequence { 0 };
    std::vector<std::byte> m_buffer;
};

} // namespace nk
