// SPDX-License-Identifier: MIT
#include "base/net/MacAddress.h"

#include <ostream>
#include <random>

namespace nk {

namespace {

int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

} // namespace

Result<MacAddress> MacAddress::from_bytes(std::span<std::byte const> bytes)
{
    if (bytes.size() < size)
        return make_error(ErrorCode::InvalidArgument, "MAC address: {} bytes, need {}", bytes.size(), size);
    std::array<uint8_t, size> octets;
    for (size_t i = 0; i < size; ++i)
        octets[i] = static_cast<uint8_t>(bytes[i]);
    return MacAddress(octets);
}

Result<MacAddress> MacAddress::parse(std::string_view text)
{
    auto bad = [&](std::string_view why) {
        return make_error(ErrorCode::InvalidArgument, "MAC address '{}': {} (expected six hex pairs like 52:54:00:12:34:56)", text, why);
    };
    // Exactly "xx:xx:xx:xx:xx:xx": 17 characters, one separator kind.
    if (text.size() != 3 * size - 1)
        return bad(fmt::format("{} characters, expected {}", text.size(), 3 * size - 1));
    char const separator = text[2];
    if (separator != ':' && separator != '-')
        return bad(fmt::format("'{}' is not a separator (':' or '-')", text[2]));
    std::array<uint8_t, size> octets;
    for (size_t i = 0; i < size; ++i) {
        size_t at = 3 * i;
        if (i > 0 && text[at - 1] != separator)
            return bad(fmt::format("character {} should be '{}'", at, separator));
        int high = hex_value(text[at]);
        int low = hex_value(text[at + 1]);
        if (high < 0 || low < 0)
            return bad(fmt::format("octet {} ('{}') is not hexadecimal", i + 1, text.substr(at, 2)));
        octets[i] = static_cast<uint8_t>(high << 4 | low);
    }
    return MacAddress(octets);
}

MacAddress MacAddress::random_local()
{
    std::random_device random;
    std::array<uint8_t, size> octets;
    for (auto& octet : octets)
        octet = static_cast<uint8_t>(random());
    octets[0] = static_cast<uint8_t>((octets[0] & ~0x01) | 0x02); // unicast, locally administered
    return MacAddress(octets);
}

std::string MacAddress::to_string() const
{
    return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m_octets[0], m_octets[1], m_octets[2], m_octets[3], m_octets[4],
        m_octets[5]);
}

std::ostream& operator<<(std::ostream& out, MacAddress const& mac) { return out << mac.to_string(); }

} // namespace nk
