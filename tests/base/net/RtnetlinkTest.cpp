// SPDX-License-Identifier: MIT
// rtnetlink inside a namespace: a link's state read and changed (up, MTU,
// MAC, an IPv4 address, routes), as iproute2 then sees it; refusals carry the
// kernel's errno and words; the monitor sees changes another program makes
// (`ip link set promisc on`, an MTU change) as they happen.

#include "base/net/NetNamespace.h"
#include "base/net/NetlinkMessage.h"
#include "base/net/Rtnetlink.h"
#include "base/net/Tap.h"
#include "support/NetTestSupport.h"
#include "support/TestSupport.h"

#include <gtest/gtest.h>

#include <linux/rtnetlink.h>
#include <net/if.h>

namespace nk {
namespace {

using namespace std::chrono_literals;

class RtnetlinkTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        if (auto reason = test::missing_net_privileges(); !reason.empty())
            GTEST_SKIP() << reason;
        auto created = NetNamespace::create(test::unique_namespace_name("rtnl"));
        ASSERT_TRUE(created) << created.error().message();
        ns.emplace(std::move(*created));
        auto made = Tap::create(*ns, "nk0");
        ASSERT_TRUE(made) << made.error().message();
        tap.emplace(std::move(*made));
    }

    // Waits for a Changed event of nk0 that satisfies `condition`.
    bool saw_change(Rtnetlink& monitor, std::function<bool(LinkInfo const&)> const& condition)
    {
        auto deadline = std::chrono::steady_clock::now() + 5s;
        while (std::chrono::steady_clock::now() < deadline) {
            auto events = monitor.wait_events(100ms);
            if (!events) {
                ADD_FAILURE() << events.error().message();
                return false;
            }
            for (auto const& event : *events) {
                EXPECT_NE(event.kind, LinkEvent::Kind::Overrun);
                if (event.kind == LinkEvent::Kind::Changed && event.link.ifindex == tap->ifindex() && condition(event.link))
                    return true;
            }
        }
        return false;
    }

    std::optional<NetNamespace> ns;
    std::optional<Tap> tap;
};

TEST_F(RtnetlinkTest, ReadsALink)
{
    auto rtnl = NK_ASSERT_OK(Rtnetlink::open(*ns));
    auto link = NK_ASSERT_OK(rtnl.link("nk0"));
    EXPECT_EQ(link.ifindex, tap->ifindex());
    EXPECT_EQ(link.name, "nk0");
    EXPECT_EQ(link.mtu, 1500u);
    EXPECT_FALSE(link.up());
    EXPECT_EQ(link.promiscuity, 0u);
    EXPECT_TRUE(link.mac.is_unicast());
    EXPECT_FALSE(link.mac.is_zero());
    auto shown = test::ip({ "-n", ns->name(), "link", "show", "nk0" });
    EXPECT_NE(shown.output.find(link.mac.to_string()), std::string::npos) << shown.output;

    auto all = NK_ASSERT_OK(rtnl.links());
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].name, "lo");
    EXPECT_EQ(all[1].name, "nk0");

    auto missing = rtnl.link("nk9");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code(), ErrorCode::NotFound);
    EXPECT_NE(missing.error().message().find(fmt::format("rtnetlink in namespace {}: get link nk9", ns->name())), std::string::npos)
        << missing.error().message();
}

TEST_F(RtnetlinkTest, ChangesALink)
{
    auto rtnl = NK_ASSERT_OK(Rtnetlink::open(*ns));
    auto mac = *MacAddress::parse("02:11:22:33:44:55");
    NK_ASSERT_OK(rtnl.set_mac("nk0", mac));
    NK_ASSERT_OK(rtnl.set_mtu("nk0", 9000));
    NK_ASSERT_OK(rtnl.add_address("nk0", *Ipv4Prefix::parse("10.77.0.2/24")));
    NK_ASSERT_OK(rtnl.set_up("nk0", true));

    auto link = NK_ASSERT_OK(rtnl.link("nk0"));
    EXPECT_EQ(link.mac, mac);
    EXPECT_EQ(link.mtu, 9000u);
    EXPECT_TRUE(link.up());
    auto shown = test::ip({ "-n", ns->name(), "address", "show", "dev", "nk0" });
    EXPECT_NE(shown.output.find("mtu 9000"), std::string::npos) << shown.output;
    EXPECT_NE(shown.output.find("link/ether 02:11:22:33:44:55"), std::string::npos) << shown.output;
    EXPECT_NE(shown.output.find("inet 10.77.0.2/24 brd 10.77.0.255"), std::string::npos) << shown.output;
    auto route = test::ip({ "-n", ns->name(), "route", "show" });
    EXPECT_NE(route.output.find("10.77.0.0/24 dev nk0"), std::string::npos) << route.output;

    NK_ASSERT_OK(rtnl.set_up("nk0", false));
    EXPECT_FALSE(NK_ASSERT_OK(rtnl.link("nk0")).up());

    auto twice = rtnl.add_address("nk0", *Ipv4Prefix::parse("10.77.0.2/24"));
    ASSERT_FALSE(twice);
    EXPECT_EQ(twice.error().code(), ErrorCode::AlreadyExists);
}

TEST_F(RtnetlinkTest, AddsRoutes)
{
    auto rtnl = NK_ASSERT_OK(Rtnetlink::open(*ns));
    // No gateway is reachable before the link is up with an address.
    auto early = rtnl.add_route("nk0", *Ipv4Prefix::parse("0.0.0.0/0"), *Ipv4Prefix::parse_address("10.77.0.1"));
    ASSERT_FALSE(early);
    EXPECT_NE(early.error().message().find(fmt::format("rtnetlink in namespace {}: add route 0.0.0.0/0 via 10.77.0.1 dev nk0", ns->name())),
        std::string::npos)
        << early.error().message();

    NK_ASSERT_OK(rtnl.add_address("nk0", *Ipv4Prefix::parse("10.77.0.2/24")));
    NK_ASSERT_OK(rtnl.set_up("nk0", true));
    NK_ASSERT_OK(rtnl.add_route("nk0", *Ipv4Prefix::parse("0.0.0.0/0"), *Ipv4Prefix::parse_address("10.77.0.1")));
    // The host bits of a destination do not matter: its network is routed.
    NK_ASSERT_OK(rtnl.add_route("nk0", *Ipv4Prefix::parse("10.99.3.4/16"), *Ipv4Prefix::parse_address("10.77.0.254")));
    NK_ASSERT_OK(rtnl.add_route("nk0", *Ipv4Prefix::parse("192.168.5.0/24")));
    auto routes = test::ip({ "-n", ns->name(), "-4", "route", "show" });
    EXPECT_NE(routes.output.find("default via 10.77.0.1 dev nk0"), std::string::npos) << routes.output;
    EXPECT_NE(routes.output.find("10.99.0.0/16 via 10.77.0.254 dev nk0"), std::string::npos) << routes.output;
    EXPECT_NE(routes.output.find("192.168.5.0/24 dev nk0 scope link"), std::string::npos) << routes.output;

    auto twice = rtnl.add_route("nk0", *Ipv4Prefix::parse("192.168.5.0/24"));
    ASSERT_FALSE(twice);
    EXPECT_EQ(twice.error().code(), ErrorCode::AlreadyExists);
    auto unreachable = rtnl.add_route("nk0", *Ipv4Prefix::parse("10.98.0.0/16"), *Ipv4Prefix::parse_address("172.16.0.1"));
    ASSERT_FALSE(unreachable);
    EXPECT_EQ(unreachable.error().code(), ErrorCode::FailedPrecondition);
    EXPECT_NE(unreachable.error().message().find("add route 10.98.0.0/16 via 172.16.0.1 dev nk0"), std::string::npos)
        << unreachable.error().message();
    auto missing = rtnl.add_route("nk9", *Ipv4Prefix::parse("10.97.0.0/16"));
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code(), ErrorCode::NotFound);
}

TEST_F(RtnetlinkTest, RefusalsSayWhy)
{
    auto rtnl = NK_ASSERT_OK(Rtnetlink::open(*ns));
    auto huge = rtnl.set_mtu("nk0", 70000);
    ASSERT_FALSE(huge);
    EXPECT_EQ(huge.error().code(), ErrorCode::InvalidArgument);
    EXPECT_NE(huge.error().message().find(fmt::format("rtnetlink in namespace {}: set MTU of nk0 to 70000: Invalid argument", ns->name())),
        std::string::npos)
        << huge.error().message();
    // The kernel explains itself through the extended ack.
    EXPECT_NE(huge.error().message().find("(kernel: "), std::string::npos) << huge.error().message();

    auto multicast = rtnl.set_mac("nk0", *MacAddress::parse("01:00:5e:00:00:01"));
    ASSERT_FALSE(multicast);
    EXPECT_NE(multicast.error().message().find("set MAC of nk0 to 01:00:5e:00:00:01"), std::string::npos) << multicast.error().message();

    auto missing = rtnl.set_up("nk9", true);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code(), ErrorCode::NotFound);
}

TEST_F(RtnetlinkTest, MonitorSeesPromiscuityAndMtuChanges)
{
    auto monitor = NK_ASSERT_OK(Rtnetlink::monitor(*ns));
    EXPECT_TRUE(NK_ASSERT_OK(monitor.read_events()).empty());

    test::ip({ "-n", ns->name(), "link", "set", "dev", "nk0", "promisc", "on" });
    EXPECT_TRUE(saw_change(monitor, [](LinkInfo const& link) { return link.promiscuity == 1 && (link.flags & IFF_PROMISC) != 0; }));

    test::ip({ "-n", ns->name(), "link", "set", "dev", "nk0", "mtu", "1280" });
    EXPECT_TRUE(saw_change(monitor, [](LinkInfo const& link) { return link.mtu == 1280 && link.promiscuous(); }));

    test::ip({ "-n", ns->name(), "link", "set", "dev", "nk0", "allmulticast", "on" });
    EXPECT_TRUE(saw_change(monitor, [](LinkInfo const& link) { return link.all_multicast(); }));

    test::ip({ "-n", ns->name(), "link", "set", "dev", "nk0", "promisc", "off" });
    EXPECT_TRUE(saw_change(monitor, [](LinkInfo const& link) { return link.promiscuity == 0 && !link.promiscuous(); }));
}

TEST_F(RtnetlinkTest, MonitorSeesOnlyItsNamespace)
{
    auto monitor = NK_ASSERT_OK(Rtnetlink::monitor(*ns));
    auto other = NK_ASSERT_OK(NetNamespace::create(test::unique_namespace_name("other")));
    auto other_tap = NK_ASSERT_OK(Tap::create(other, "nk0"));
    test::ip({ "-n", other.name(), "link", "set", "dev", "nk0", "mtu", "1400" });
    test::ip({ "-n", ns->name(), "link", "set", "dev", "nk0", "mtu", "1300" });
    EXPECT_TRUE(saw_change(monitor, [](LinkInfo const& link) { return link.mtu == 1300; }));
    for (auto const& event : NK_ASSERT_OK(monitor.read_events()))
        EXPECT_NE(event.link.mtu, 1400u);
}

TEST(NetlinkMessage, AttributesRoundTrip)
{
    NetlinkMessage message(RTM_NEWLINK, 0);
    ifinfomsg info {};
    info.ifi_index = 7;
    info.ifi_flags = IFF_UP;
    message.payload(info).attribute_string(IFLA_IFNAME, "nk0").attribute_u32(IFLA_MTU, 1500).attribute_u32(IFLA_PROMISCUITY, 2);
    auto mac = *MacAddress::parse("02:00:00:00:00:01");
    message.attribute(IFLA_ADDRESS, mac.octets());
    auto bytes = message.finish(1);
    auto messages = split_netlink_messages(bytes);
    ASSERT_EQ(messages.size(), 1u);
    auto link = NK_ASSERT_OK(Rtnetlink::parse_link(messages[0]));
    EXPECT_EQ(link.ifindex, 7);
    EXPECT_EQ(link.name, "nk0");
    EXPECT_EQ(link.mtu, 1500u);
    EXPECT_EQ(link.promiscuity, 2u);
    EXPECT_EQ(link.mac, mac);
    EXPECT_TRUE(link.up());
    EXPECT_TRUE(link.promiscuous());

    // Truncated or foreign messages are refused, not read past their end.
    EXPECT_FALSE(Rtnetlink::parse_link(messages[0].first(20)));
    NetlinkMessage other(RTM_NEWADDR, 0);
    other.payload(info);
    EXPECT_FALSE(Rtnetlink::parse_link(other.finish(2)));
    EXPECT_TRUE(split_netlink_messages(bytes.first(bytes.size() - 1)).empty());
}

} // namespace
} // namespace nk
