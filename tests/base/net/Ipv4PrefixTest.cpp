// SPDX-License-Identifier: MIT
// IPv4 prefixes parse from "10.77.0.2/24" and format back; each malformed
// part is named in the error; the subnet's hosts are numbered from 1 and the
// network and broadcast addresses are not hosts.

#include "base/net/Ipv4Prefix.h"

#include <gtest/gtest.h>

namespace nk {
namespace {

TEST(Ipv4Prefix, ParsesAndFormats)
{
    auto prefix = Ipv4Prefix::parse("10.77.0.2/24");
    ASSERT_TRUE(prefix) << prefix.error().message();
    EXPECT_EQ(prefix->address(), 0x0a4d0002u);
    EXPECT_EQ(prefix->length(), 24u);
    EXPECT_EQ(prefix->octets(), (std::array<uint8_t, 4> { 10, 77, 0, 2 }));
    EXPECT_EQ(prefix->to_string(), "10.77.0.2/24");
    EXPECT_EQ(prefix->address_text(), "10.77.0.2");
    EXPECT_EQ(prefix->netmask(), 0xffffff00u);
    EXPECT_EQ(Ipv4Prefix::format_address(prefix->network_address()), "10.77.0.0");
    EXPECT_EQ(Ipv4Prefix::format_address(prefix->broadcast_address()), "10.77.0.255");
    EXPECT_TRUE(prefix->contains(*Ipv4Prefix::parse_address("10.77.0.200")));
    EXPECT_FALSE(prefix->contains(*Ipv4Prefix::parse_address("10.77.1.1")));

    EXPECT_EQ(Ipv4Prefix::parse("0.0.0.0/0")->netmask(), 0u);
    EXPECT_EQ(Ipv4Prefix::parse("255.255.255.255/32")->netmask(), 0xffffffffu);
}

TEST(Ipv4Prefix, RefusesMalformedText)
{
    struct Case {
        char const* text;
        char const* says;
    };
    for (auto [text, says] : { Case { "10.77.0.2", "missing '/length'" }, Case { "10.77.0/24", "four octets" },
             Case { "10.77.0.2.1/24", "four octets" }, Case { "10.77.0.256/24", "octet 4 ('256')" },
             Case { "10.077.0.2/24", "octet 2 ('077')" }, Case { "10..0.2/24", "octet 2 ('')" }, Case { "10.77.0.x/24", "octet 4 ('x')" },
             Case { "10.77.0.2/33", "length '33'" }, Case { "10.77.0.2/", "length ''" }, Case { "10.77.0.2/-1", "length '-1'" },
             Case { "10.77.0.2/24x", "length '24x'" } }) {
        auto prefix = Ipv4Prefix::parse(text);
        ASSERT_FALSE(prefix) << text;
        EXPECT_EQ(prefix.error().code(), ErrorCode::InvalidArgument);
        EXPECT_NE(prefix.error().message().find(fmt::format("'{}'", text)), std::string::npos) << prefix.error().message();
        EXPECT_NE(prefix.error().message().find(says), std::string::npos) << prefix.error().message();
    }
    EXPECT_FALSE(Ipv4Prefix::from(0, 33));
}

TEST(Ipv4Prefix, NumbersTheSubnetsHosts)
{
    auto subnet = *Ipv4Prefix::parse("10.77.0.0/24");
    EXPECT_EQ(subnet.host(1)->to_string(), "10.77.0.1/24");
    EXPECT_EQ(subnet.host(254)->to_string(), "10.77.0.254/24");
    // Any address of the subnet numbers the same hosts.
    EXPECT_EQ(Ipv4Prefix::parse("10.77.0.9/24")->host(2)->to_string(), "10.77.0.2/24");
    for (uint32_t outside : { 0u, 255u, 1000u }) {
        auto host = subnet.host(outside);
        ASSERT_FALSE(host) << outside;
        EXPECT_NE(host.error().message().find("outside the subnet's hosts 1..254"), std::string::npos) << host.error().message();
    }
    auto point_to_point = *Ipv4Prefix::parse("10.0.0.0/31");
    EXPECT_EQ(point_to_point.host(0)->to_string(), "10.0.0.0/31");
    EXPECT_EQ(point_to_point.host(1)->to_string(), "10.0.0.1/31");
    EXPECT_FALSE(point_to_point.host(2));
    EXPECT_EQ(Ipv4Prefix::parse("10.0.0.7/32")->host(0)->to_string(), "10.0.0.7/32");
}

} // namespace
} // namespace nk
