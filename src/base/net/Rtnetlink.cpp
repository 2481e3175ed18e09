// SPDX-License-Identifier: MIT
#include "base/net/Rtnetlink.h"

#include "base/net/NetNamespace.h"
#include "base/net/NetlinkMessage.h"

#include <cerrno>
#include <cstring>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>

namespace nk {

namespace {

constexpr size_t buffer_size = 64 * 1024;
constexpr auto request_timeout = std::chrono::seconds(5);

NetlinkMessage link_request(std::string const& name, unsigned flags, unsigned change)
{
    NetlinkMessage message(RTM_SETLINK, NLM_F_ACK);
    ifinfomsg info {};
    info.ifi_family = AF_UNSPEC;
    info.ifi_flags = flags;
    info.ifi_change = change;
    message.payload(info).attribute_string(IFLA_IFNAME, name);
    return message;
}

// The kernel's extended-ack text in an NLMSG_ERROR message, if any.
std::string extended_ack(std::span<std::byte const> message)
{
    nlmsghdr header;
    std::memcpy(&header, message.data(), sizeof header);
    if ((header.nlmsg_flags & NLM_F_ACK_TLVS) == 0)
        return {};
    size_t at = NLMSG_HDRLEN + sizeof(nlmsgerr);
    if ((header.nlmsg_flags & NLM_F_CAPPED) == 0) {
        // The request follows, whole: skip its payload.
        nlmsgerr error;
        std::memcpy(&error, message.data() + NLMSG_HDRLEN, sizeof error);
        at += NLMSG_ALIGN(error.msg.nlmsg_len - sizeof(nlmsghdr));
    }
    if (at >= message.size())
        return {};
    return NetlinkAttributes(message.subspan(at)).string(NLMSGERR_ATTR_MSG).value_or("");
}

} // namespace

bool LinkInfo::up() const { return (flags & IFF_UP) != 0; }
bool LinkInfo::promiscuous() const { return promiscuity > 0 || (flags & IFF_PROMISC) != 0; }
bool LinkInfo::all_multicast() const { return (flags & IFF_ALLMULTI) != 0; }

Result<Rtnetlink> Rtnetlink::open_socket(NetNamespace const& ns, bool events)
{
    auto what = fmt::format("rtnetlink in namespace {}", ns.name());
    auto socket = TRY(ns.call_in([&]() -> Result<UniqueFd> {
        int type = SOCK_RAW | SOCK_CLOEXEC | (events ? SOCK_NONBLOCK : 0);
        UniqueFd fd(::socket(AF_NETLINK, type, NETLINK_ROUTE));
        if (!fd)
            return errno_error(fmt::format("{}: socket", what));
        return fd;
    }));
    int on = 1;
    ::setsockopt(socket.get(), SOL_NETLINK, NETLINK_EXT_ACK, &on, sizeof on);
    sockaddr_nl address {};
    address.nl_family = AF_NETLINK;
    address.nl_groups = events ? RTMGRP_LINK : 0;
    if (::bind(socket.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
        return errno_error(fmt::format("{}: bind{}", what, events ? " to RTNLGRP_LINK" : ""));
    if (!events) {
        timeval timeout { .tv_sec = request_timeout.count(), .tv_usec = 0 };
        ::setsockopt(socket.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    } else {
        int size = 1 << 20; // room for bursts of events (root may exceed rmem_max)
        ::setsockopt(socket.get(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
    }
    Rtnetlink rtnl(std::move(what), std::move(socket));
    rtnl.m_buffer.resize(buffer_size);
    return rtnl;
}

Result<Rtnetlink> Rtnetlink::open(NetNamespace const& ns) { return open_socket(ns, false); }

Result<Rtnetlink> Rtnetlink::monitor(NetNamespace const& ns) { return open_socket(ns, true); }

Result<LinkInfo> Rtnetlink::parse_link(std::span<std::byte const> message)
{
    nlmsghdr header;
    if (message.size() < NLMSG_HDRLEN + sizeof(ifinfomsg))
        return make_error(ErrorCode::InvalidArgument, "rtnetlink: a link message of {} bytes is truncated", message.size());
    std::memcpy(&header, message.data(), sizeof header);
    if (header.nlmsg_type != RTM_NEWLINK && header.nlmsg_type != RTM_DELLINK)
        return make_error(ErrorCode::InvalidArgument, "rtnetlink: message type {} is not a link message", header.nlmsg_type);
    ifinfomsg info;
    std::memcpy(&info, message.data() + NLMSG_HDRLEN, sizeof info);
    NetlinkAttributes attributes(message.subspan(NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(ifinfomsg))));
    LinkInfo link;
    link.ifindex = info.ifi_index;
    link.flags = info.ifi_flags;
    link.name = attributes.string(IFLA_IFNAME).value_or("");
    link.mtu = attributes.u32(IFLA_MTU).value_or(0);
    link.promiscuity = attributes.u32(IFLA_PROMISCUITY).value_or(0);
    link.carrier = attributes.u8(IFLA_CARRIER).value_or(0) != 0;
    if (auto address = attributes.find(IFLA_ADDRESS); address && address->size() == MacAddress::size)
        link.mac = *MacAddress::from_bytes(*address);
    return link;
}

Result<std::vector<LinkInfo>> Rtnetlink::transact(NetlinkMessage& message, std::string const& what)
{
    auto sequence = ++m_sequence;
    auto bytes = message.finish(sequence);
    sockaddr_nl kernel {};
    kernel.nl_family = AF_NETLINK;
    if (::sendto(m_fd.get(), bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
        return errno_error(fmt::format("{}: {}: send", m_what, what));
    std::vector<LinkInfo> links;
    for (;;) {
        auto got = ::recv(m_fd.get(), m_buffer.data(), m_buffer.size(), 0);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return make_error(ErrorCode::DeadlineExceeded, "{}: {}: no answer from the kernel in {} s", m_what, what,
                    request_timeout.count());
            return errno_error(fmt::format("{}: {}: receive", m_what, what));
        }
        for (auto reply : split_netlink_messages(std::span(m_buffer.data(), static_cast<size_t>(got)))) {
            nlmsghdr header;
            std::memcpy(&header, reply.data(), sizeof header);
            if (header.nlmsg_seq != sequence)
                continue; // an answer to an earlier request that timed out
            if (header.nlmsg_type == NLMSG_DONE)
                return links;
            if (header.nlmsg_type == NLMSG_ERROR) {
                if (reply.size() < NLMSG_HDRLEN + sizeof(nlmsgerr))
                    return make_error(ErrorCode::Internal, "{}: {}: a truncated error message", m_what, what);
                nlmsgerr error;
                std::memcpy(&error, reply.data() + NLMSG_HDRLEN, sizeof error);
                if (error.error == 0)
                    return links;
                auto failure = Error::from_errno(-error.error, fmt::format("{}: {}", m_what, what));
                if (auto text = extended_ack(reply); !text.empty())
                    return std::unexpected(Error(failure.code(), fmt::format("{} (kernel: {})", failure.message(), text), -error.error));
                return std::unexpected(std::move(failure));
            }
            if (header.nlmsg_type == RTM_NEWLINK)
                links.push_back(TRY(parse_link(reply)));
        }
    }
}

Result<LinkInfo> Rtnetlink::link(std::string const& name)
{
    NetlinkMessage message(RTM_GETLINK, NLM_F_ACK);
    ifinfomsg info {};
    info.ifi_family = AF_UNSPEC;
    message.payload(info).attribute_string(IFLA_IFNAME, name).attribute_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
    auto links = TRY(transact(message, fmt::format("get link {}", name)));
    if (links.empty())
        return make_error(ErrorCode::NotFound, "{}: get link {}: no answer describing it", m_what, name);
    return links.front();
}

Result<std::vector<LinkInfo>> Rtnetlink::links()
{
    NetlinkMessage message(RTM_GETLINK, NLM_F_DUMP);
    ifinfomsg info {};
    info.ifi_family = AF_UNSPEC;
    message.payload(info).attribute_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
    return transact(message, "list links");
}

Result<void> Rtnetlink::set_up(std::string const& name, bool up)
{
    auto message = link_request(name, up ? IFF_UP : 0, IFF_UP);
    TRY(transact(message, fmt::format("set {} {}", name, up ? "up" : "down")));
    return {};
}

Result<void> Rtnetlink::set_mtu(std::string const& name, unsigned mtu)
{
    auto message = link_request(name, 0, 0);
    message.attribute_u32(IFLA_MTU, mtu);
    TRY(transact(message, fmt::format("set MTU of {} to {}", name, mtu)));
    return {};
}

Result<void> Rtnetlink::set_mac(std::string const& name, MacAddress mac)
{
    auto message = link_request(name, 0, 0);
    message.attribute(IFLA_ADDRESS, mac.octets());
    TRY(transact(message, fmt::format("set MAC of {} to {}", name, mac)));
    return {};
}

Result<void> Rtnetlink::add_address(std::string const& name, Ipv4Prefix address)
{
    auto link_info = TRY(link(name));
    NetlinkMessage message(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
    ifaddrmsg info {};
    info.ifa_family = AF_INET;
    info.ifa_prefixlen = static_cast<unsigned char>(address.length());
    info.ifa_scope = RT_SCOPE_UNIVERSE;
    info.ifa_index = static_cast<unsigned>(link_info.ifindex);
    auto octets = address.octets();
    message.payload(info).attribute(IFA_LOCAL, octets).attribute(IFA_ADDRESS, octets);
    if (address.length() < 31) {
        auto broadcast = TRY(Ipv4Prefix::from(address.broadcast_address(), address.length())).octets();
        message.attribute(IFA_BROADCAST, broadcast);
    }
    TRY(transact(message, fmt::format("add address {} to {}", address, name)));
    return {};
}

Result<void> Rtnetlink::add_route(std::string const& name, Ipv4Prefix destination, std::optional<uint32_t> gateway)
{
    auto network = TRY(Ipv4Prefix::from(destination.network_address(), destination.length()));
    auto what = gateway ? fmt::format("add route {} via {} dev {}", network, Ipv4Prefix::format_address(*gateway), name)
                        : fmt::format("add route {} dev {}", network, name);
    auto link_info = TRY(link(name));
    NetlinkMessage message(RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
    rtmsg info {};
    info.rtm_family = AF_INET;
    info.rtm_dst_len = static_cast<unsigned char>(network.length());
    info.rtm_table = RT_TABLE_MAIN;
    info.rtm_protocol = RTPROT_BOOT;
    info.rtm_scope = gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
    info.rtm_type = RTN_UNICAST;
    message.payload(info);
    if (network.length() > 0)
        message.attribute(RTA_DST, network.octets());
    if (gateway)
        message.attribute(RTA_GATEWAY, TRY(Ipv4Prefix::from(*gateway, Ipv4Prefix::max_length)).octets());
    message.attribute_u32(RTA_OIF, static_cast<uint32_t>(link_info.ifindex));
    TRY(transact(message, what));
    return {};
}

Result<std::vector<LinkEvent>> Rtnetlink::read_events()
{
    std::vector<LinkEvent> events;
    for (;;) {
        auto got = ::recv(m_fd.get(), m_buffer.data(), m_buffer.size(), MSG_DONTWAIT);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return events;
            if (errno == ENOBUFS) {
                events.push_back({ LinkEvent::Kind::Overrun, {} });
                continue;
            }
            return errno_error(fmt::format("{}: receive events", m_what));
        }
        for (auto message : split_netlink_messages(std::span(m_buffer.data(), static_cast<size_t>(got)))) {
            nlmsghdr header;
            std::memcpy(&header, message.data(), sizeof header);
            if (header.nlmsg_type != RTM_NEWLINK && header.nlmsg_type != RTM_DELLINK)
                continue;
            auto link = parse_link(message);
            if (!link)
                continue;
            events.push_back({ header.nlmsg_type == RTM_NEWLINK ? LinkEvent::Kind::Changed : LinkEvent::Kind::Removed, std::move(*link) });
        }
    }
}

Result<std::vector<LinkEvent>> Rtnetlink::wait_events(std::chrono::milliseconds timeout)
{
    pollfd poller { .fd = m_fd.get(), .events = POLLIN, .revents = 0 };
    int ready = ::poll(&poller, 1, static_cast<int>(timeout.count()));
    if (ready < 0 && errno != EINTR)
        return errno_error(fmt::format("{}: poll", m_what));
    if (ready <= 0)
        return std::vector<LinkEvent> {};
    return read_events();
}

} // namespace nk
