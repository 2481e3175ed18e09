// SPDX-License-Identifier: MIT
#pragma once

// An Ethernet (EUI-48) address: parsed from and formatted as "52:54:00:12:34:56"
// (lower-case hex, colon-separated), with the predicates a receive filter and
// an address chooser need. A value type; any thread.

#include "base/Error.h"

#include <array>
#include <cstdint>
#include <iosfwd>
#include <span>
#include <string>
#include <string_view>

namespace nk {

class MacAddress {
public:
    static constexpr size_t size = 6;

    constexpr MacAddress() = default;
    constexpr explicit MacAddress(std::array<uint8_t, size> octets)
        : m_octets(octets)
    {
    }
    // The first 6 bytes of `bytes` (a frame's destination or source field, an
    // IFLA_ADDRESS attribute). InvalidArgument if fewer than 6.
    static Result<MacAddress> from_bytes(std::span<std::byte const> bytes);
    // "52:54:00:12:34:56" (upper or lower case; '-' separators accepted too).
    // InvalidArgument naming the text and what is wrong with it.
    static Result<MacAddress> parse(std::string_view text);
    static constexpr MacAddress broadcast() { return MacAddress({ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }); }
    // A random unicast, locally administered address (for a peer host's TAP).
    static MacAddress random_local();

    std::array<uint8_t, size> const& octets() const { return m_octets; }
    // "52:54:00:12:34:56".
    std::string to_string() const;

    bool is_broadcast() const { return *this == broadcast(); }
    // The I/G bit: group addresses (broadcast included).
    bool is_multicast() const { return (m_octets[0] & 0x01) != 0; }
    bool is_unicast() const { return !is_multicast(); }
    // The U/L bit: assigned locally, not by a vendor.
    bool is_locally_administered() const { return (m_octets[0] & 0x02) != 0; }
    bool is_zero() const { return *this == MacAddress(); }

    friend bool operator==(MacAddress const&, MacAddress const&) = default;
    friend auto operator<=>(MacAddress const&, MacAddress const&) = default;

private:
    std::array<uint8_t, size> m_octets {};
};

// Writes to_string() (test failure messages, streams).
std::ostream& operator<<(std::ostream& out, MacAddress const& mac);

} // namespace nk

template<>
struct fmt::formatter<nk::MacAddress> : fmt::formatter<std::string_view> {
    auto format(nk::MacAddress const& mac, format_context& ctx) const
    {
        return fmt::formatter<std::string_view>::format(mac.to_string(), ctx);
    }
};
