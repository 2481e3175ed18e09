// SPDX-License-Identifier: MIT
#pragma once

// An IPv4 address with its prefix length, as `ip address add` takes it:
// "10.77.0.2/24" is host 10.77.0.2 on the subnet 10.77.0.0/24. Parsed with
// errors that say what is wrong, formatted back the same way; the subnet's
// hosts are numbered from 1 (host(1) of 10.77.0.0/24 is 10.77.0.1/24).
// A value type; any thread.

#include "base/Error.h"

#include <array>
#include <compare>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>

namespace nk {

class Ipv4Prefix {
public:
    static constexpr unsigned max_length = 32;

    constexpr Ipv4Prefix() = default;
    // `address` in host byte order. InvalidArgument if `length` > 32.
    static Result<Ipv4Prefix> from(uint32_t address, unsigned length);
    // "a.b.c.d/n": four decimal octets 0..255 (no leading zeros, which some
    // tools read as octal), '/', a length 0..32. InvalidArgument naming the text.
    static Result<Ipv4Prefix> parse(std::string_view text);
    // "a.b.c.d" alone. InvalidArgument naming the text.
    static Result<uint32_t> parse_address(std::string_view text);
    // "a.b.c.d" of an address in host byte order.
    static std::string format_address(uint32_t address);

    // The address, host byte order.
    uint32_t address() const { return m_address; }
    // Its four octets, network order (what IFA_LOCAL carries).
    std::array<uint8_t, 4> octets() const;
    unsigned length() const { return m_length; }
    uint32_t netmask() const { return m_length == 0 ? 0 : ~uint32_t(0) << (max_length - m_length); }
    // The subnet's first and last addresses.
    uint32_t network_address() const { return m_address & netmask(); }
    uint32_t broadcast_address() const { return network_address() | ~netmask(); }
    bool contains(uint32_t address) const { return (address & netmask()) == network_address(); }

    // The n-th host of the subnet with this prefix length: network + n. Hosts
    // are 1 .. size-2 (the network and broadcast addresses are not hosts),
    // except on a /31 (0 and 1, RFC 3021) and a /32 (0). InvalidArgument
    // otherwise, naming the range.
    Result<Ipv4Prefix> host(uint32_t n) const;

    // "10.77.0.2" and "10.77.0.2/24".
    std::string address_text() const { return format_address(m_address); }
    std::string to_string() const;

    friend bool operator==(Ipv4Prefix const&, Ipv4Prefix const&) = default;

private:
    constexpr Ipv4Prefix(uint32_t address, unsigned length)
        : m_address(address)
        , m_length(length)
    {
    }

    uint32_t m_address { 0 };
    unsigned m_length { 0 };
};

// Writes to_string() (test failure messages, streams).
std::ostream& operator<<(std::ostream& out, Ipv4Prefix const& prefix);

} // namespace nk

template<>
struct fmt::formatter<nk::Ipv4Prefix> : fmt::formatter<std::string_view> {
    auto format(nk::Ipv4Prefix const& prefix, format_context& ctx) const
    {
        return fmt::formatter<std::string_view>::format(prefix.to_string(), ctx);
    }
};
