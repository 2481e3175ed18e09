// SPDX-License-Identifier: MIT
// MAC addresses parse from and format to "52:54:00:12:34:56"; malformed text
// is refused with a message saying what is wrong; the group, broadcast and
// locally-administered bits are read right.

#include "base/net/MacAddress.h"

#include <gtest/gtest.h>

namespace nk {
namespace {

TEST(MacAddress, ParsesAndFormats)
{
    auto mac = MacAddress::parse("52:54:00:12:34:56");
    ASSERT_TRUE(mac) << mac.error().message();
    EXPECT_EQ(mac->octets(), (std::array<uint8_t, 6> { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 }));
    EXPECT_EQ(mac->to_string(), "52:54:00:12:34:56");
    EXPECT_EQ(fmt::format("{}", *mac), "52:54:00:12:34:56");

    auto upper = MacAddress::parse("AA-BB-CC-DD-EE-0F");
    ASSERT_TRUE(upper) << upper.error().message();
    EXPECT_EQ(upper->to_string(), "aa:bb:cc:dd:ee:0f");
}

TEST(MacAddress, RefusesMalformedText)
{
    struct Case {
        char const* text;
        char const* says;
    };
    for (auto [text, says] : { Case { "", "0 characters" }, Case { "52:54:00:12:34", "14 characters" },
             Case { "52:54:00:12:34:56:78", "20 characters" }, Case { "52.54.00.12.34.56", "not a separator" },
             Case { "52:54-00:12:34:56", "should be ':'" }, Case { "52:54:0g:12:34:56", "octet 3 ('0g') is not hexadecimal" } }) {
        auto mac = MacAddress::parse(text);
        ASSERT_FALSE(mac) << text;
        EXPECT_EQ(mac.error().code(), ErrorCode::InvalidArgument);
        EXPECT_NE(mac.error().message().find(fmt::format("'{}'", text)), std::string::npos) << mac.error().message();
        EXPECT_NE(mac.error().message().find(says), std::string::npos) << mac.error().message();
    }
}

TEST(MacAddress, Predicates)
{
    auto unicast = *MacAddress::parse("00:1b:21:0a:0b:0c");
    EXPECT_TRUE(unicast.is_unicast());
    EXPECT_FALSE(unicast.is_multicast());
    EXPECT_FALSE(unicast.is_broadcast());
    EXPECT_FALSE(unicast.is_locally_administered());

    auto multicast = *MacAddress::parse("01:00:5e:01:02:03");
    EXPECT_TRUE(multicast.is_multicast());
    EXPECT_FALSE(multicast.is_broadcast());

    EXPECT_TRUE(MacAddress::broadcast().is_broadcast());
    EXPECT_TRUE(MacAddress::broadcast().is_multicast());
    EXPECT_EQ(MacAddress::broadcast().to_string(), "ff:ff:ff:ff:ff:ff");

    EXPECT_TRUE(MacAddress::parse("52:54:00:12:34:56")->is_locally_administered());
    EXPECT_TRUE(MacAddress().is_zero());

    for (int i = 0; i < 16; ++i) {
        auto random = MacAddress::random_local();
        EXPECT_TRUE(random.is_unicast()) << random;
        EXPECT_TRUE(random.is_locally_administered()) << random;
    }
}

TEST(MacAddress, FromBytes)
{
    std::array<std::byte, 8> bytes { std::byte(0x02), std::byte(1), std::byte(2), std::byte(3), std::byte(4), std::byte(5), std::byte(6) };
    EXPECT_EQ(MacAddress::from_bytes(bytes)->to_string(), "02:01:02:03:04:05");
    auto short_bytes = MacAddress::from_bytes(std::span(bytes).first(5));
    ASSERT_FALSE(short_bytes);
    EXPECT_EQ(short_bytes.error().code(), ErrorCode::InvalidArgument);
}

} // namespace
} // namespace nk
