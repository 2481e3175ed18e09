// SPDX-License-Identifier: MIT
// The link-level multicast list of an interface, read from its namespace's
// dev_mcast: the file's format parsed, and an address `ip maddress add`
// gives a TAP found there (and gone after `ip maddress del`).

#include "base/net/MulticastList.h"
#include "base/net/NetNamespace.h"
#include "base/net/Tap.h"
#include "support/NetTestSupport.h"
#include "support/TestSupport.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace nk {
namespace {

TEST(MulticastList, ParsesDevMcast)
{
    auto entries = NK_ASSERT_OK(parse_dev_mcast("1    lo              1     0     01005e000001\n"
                                                "5    nk0             2     1     333300000001\n"
                                                "\n"));
    ASSERT_EQ(entries.size(), 2u);
    EXPECT_EQ(entries[0].ifindex, 1);
    EXPECT_EQ(entries[0].interface, "lo");
    EXPECT_EQ(entries[0].users, 1u);
    EXPECT_FALSE(entries[0].global);
    EXPECT_EQ(entries[0].address.to_string(), "01:00:5e:00:00:01");
    EXPECT_EQ(entries[1].interface, "nk0");
    EXPECT_TRUE(entries[1].global);
    EXPECT_EQ(entries[1].address.to_string(), "33:33:00:00:00:01");

    for (auto bad : { "1 lo 1 0\n", "1 lo 1 0 01005e00000\n", "1 lo 1 0 01005e00000g\n", "x lo 1 0 01005e000001\n" }) {
        auto parsed = parse_dev_mcast(bad);
        ASSERT_FALSE(parsed) << bad;
        EXPECT_NE(parsed.error().message().find("dev_mcast line 1"), std::string::npos) << parsed.error().message();
    }
}

TEST(MulticastList, ReadsAnInterfacesAddressesInItsNamespace)
{
    NK_REQUIRE_NET_ADMIN();
    auto ns = NK_ASSERT_OK(NetNamespace::create(test::unique_namespace_name("mcast")));
    auto tap = NK_ASSERT_OK(Tap::create(ns, "nk0"));
    auto group = *MacAddress::parse("01:00:5e:01:02:03");
    auto has_group = [&] {
        auto addresses = multicast_addresses(ns, "nk0");
        EXPECT_TRUE(addresses) << addresses.error().message();
        return addresses && std::find(addresses->begin(), addresses->end(), group) != addresses->end();
    };
    EXPECT_FALSE(has_group());
    test::ip({ "-n", ns.name(), "maddress", "add", group.to_string(), "dev", "nk0" });
    EXPECT_TRUE(has_group());
    test::ip({ "-n", ns.name(), "maddress", "del", group.to_string(), "dev", "nk0" });
    EXPECT_FALSE(has_group());
    EXPECT_TRUE(NK_ASSERT_OK(multicast_addresses(ns, "nk9")).empty());
}

} // namespace
} // namespace nk
