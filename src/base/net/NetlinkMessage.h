// SPDX-License-Identifier: MIT
#pragma once

// Raw netlink, the small part rtnetlink needs: building a request (header,
// fixed payload, attributes, each aligned as the kernel expects) and walking
// the attributes of a message received. No library: the layouts are those of
// <linux/netlink.h> and <linux/rtnetlink.h>.
//
// A value type; not thread-safe.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <linux/netlink.h>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace nk {

class NetlinkMessage {
public:
    // A message of `type` with `flags` (NLM_F_REQUEST is added).
    NetlinkMessage(uint16_t type, uint16_t flags);

    // Appends the message's fixed header (ifinfomsg, ifaddrmsg...), aligned.
    template<typename T>
    NetlinkMessage& payload(T const& value)
    {
        append(&value, sizeof value);
        return *this;
    }
    // Appends an attribute.
    NetlinkMessage& attribute(uint16_t type, void const* data, size_t size);
    NetlinkMessage& attribute(uint16_t type, std::span<uint8_t const> bytes) { return attribute(type, bytes.data(), bytes.size()); }
    NetlinkMessage& attribute_u32(uint16_t type, uint32_t value) { return attribute(type, &value, sizeof value); }
    // A NUL-terminated string attribute (IFLA_IFNAME).
    NetlinkMessage& attribute_string(uint16_t type, std::string_view value);

    // Sets the sequence number and returns the bytes to send.
    std::span<std::byte const> finish(uint32_t sequence);

private:
    void append(void const* data, size_t size);
    nlmsghdr& header() { return *reinterpret_cast<nlmsghdr*>(m_bytes.data()); }

    std::vector<std::byte> m_bytes;
};

// The attributes (struct rtattr / nlattr: length, type, value) packed in `bytes`.
class NetlinkAttributes {
public:
    explicit NetlinkAttributes(std::span<std::byte const> bytes);

    // The value of the first attribute of `type`, if any.
    std::optional<std::span<std::byte const>> find(uint16_t type) const;
    std::optional<uint32_t> u32(uint16_t type) const;
    std::optional<uint8_t> u8(uint16_t type) const;
    // A string attribute without its terminating NUL.
    std::optional<std::string> string(uint16_t type) const;

private:
    std::span<std::byte const> m_bytes;
};

// The messages packed in what one recv() returned; stops at a truncated one.
std::vector<std::span<std::byte const>> split_netlink_messages(std::span<std::byte const> bytes);

} // namespace nk
