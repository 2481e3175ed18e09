// SPDX-License-Identifier: MIT
#include "base/net/Ipv4Prefix.h"

#include <charconv>
#include <ostream>

namespace nk {

namespace {

// A decimal number of 1..`max_digits` digits, no sign, no leading zero unless
// it is "0"; the whole of `text`. Returns -1 otherwise.
long parse_decimal(std::string_view text, size_t max_digits)
{
    if (text.empty() || text.size() > max_digits || (text.size() > 1 && text[0] == '0'))
        return -1;
    long value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size())
        return -1;
    return value;
}

} // namespace

Result<Ipv4Prefix> Ipv4Prefix::from(uint32_t address, unsigned length)
{
    if (length > max_length)
        return make_error(ErrorCode::InvalidArgument, "IPv4 prefix {}/{}: the length must be 0..32", format_address(address), length);
    return Ipv4Prefix(address, length);
}

Result<uint32_t> Ipv4Prefix::parse_address(std::string_view text)
{
    uint32_t address = 0;
    std::string_view rest = text;
    for (unsigned i = 0; i < 4; ++i) {
        auto dot = rest.find('.');
        if ((i < 3) != (dot != std::string_view::npos))
            return make_error(ErrorCode::InvalidArgument, "IPv4 address '{}': expected four octets separated by dots", text);
        auto part = rest.substr(0, dot);
        long octet = parse_decimal(part, 3);
        if (octet < 0 || octet > 255)
            return make_error(ErrorCode::InvalidArgument, "IPv4 address '{}': octet {} ('{}') is not a decimal number 0..255", text, i + 1, part);
        address = address << 8 | static_cast<uint32_t>(octet);
        rest = dot == std::string_view::npos ? std::string_view {} : rest.substr(dot + 1);
    }
    return address;
}

Result<Ipv4Prefix> Ipv4Prefix::parse(std::string_view text)
{
    auto slash = text.find('/');
    if (slash == std::string_view::npos)
        return make_error(ErrorCode::InvalidArgument, "IPv4 prefix '{}': missing '/length' (like 10.77.0.2/24)", text);
    auto address = parse_address(text.substr(0, slash));
    if (!address)
        return make_error(ErrorCode::InvalidArgument, "IPv4 prefix '{}': {}", text, address.error().message());
    auto length_text = text.substr(slash + 1);
    long length = parse_decimal(length_text, 2);
    if (length < 0 || length > static_cast<long>(max_length))
        return make_error(ErrorCode::InvalidArgument, "IPv4 prefix '{}': the length '{}' is not a number 0..32", text, length_text);
    return Ipv4Prefix(*address, static_cast<unsigned>(length));
}

std::string Ipv4Prefix::format_address(uint32_t address)
{
    return fmt::format("{}.{}.{}.{}", address >> 24, (address >> 16) & 0xff, (address >> 8) & 0xff, address & 0xff);
}

std::array<uint8_t, 4> Ipv4Prefix::octets() const
{
    return { static_cast<uint8_t>(m_address >> 24), static_cast<uint8_t>(m_address >> 16), static_cast<uint8_t>(m_address >> 8),
        static_cast<uint8_t>(m_address) };
}

Result<Ipv4Prefix> Ipv4Prefix::host(uint32_t n) const
{
    uint64_t size = uint64_t(1) << (max_length - m_length);
    uint64_t first = size > 2 ? 1 : 0;
    uint64_t last = size > 2 ? size - 2 : size - 1;
    if (n < first || n > last)
        return make_error(ErrorCode::InvalidArgument, "IPv4 prefix {}: host {} is outside the subnet's hosts {}..{}",
            Ipv4Prefix(network_address(), m_length).to_string(), n, first, last);
    return Ipv4Prefix(network_address() + n, m_length);
}

std::string Ipv4Prefix::to_string() const { return fmt::format("{}/{}", format_address(m_address), m_length); }

std::ostream& operator<<(std::ostream& out, Ipv4Prefix const& prefix) { return out << prefix.to_string(); }

} // namespace nk
