// SPDX-License-Identifier: MIT
// A TAP made inside a namespace is that namespace's interface; a taken name
// is refused; carrier follows TUNSETCARRIER; frames go both ways: an ARP
// request written to the TAP is answered by the namespace's stack, and the
// answer is read back whole.

#include "base/net/NetNamespace.h"
#include "base/net/Rtnetlink.h"
#include "base/net/Tap.h"
#include "support/NetTestSupport.h"
#include "support/TestSupport.h"

#include <gtest/gtest.h>

#include <cstring>
#include <poll.h>

namespace nk {
namespace {

using namespace std::chrono_literals;

// An ARP request (Ethernet broadcast) from `mac`/`sender` asking for `target`.
std::vector<std::byte> arp_request(MacAddress mac, uint32_t sender, uint32_t target)
{
    std::vector<uint8_t> frame;
    auto put = [&](auto const& bytes) { frame.insert(frame.end(), bytes.begin(), bytes.end()); };
    auto ip = [](uint32_t address) {
        return std::array<uint8_t, 4> { uint8_t(address >> 24), uint8_t(address >> 16), uint8_t(address >> 8), uint8_t(address) };
    };
    put(MacAddress::broadcast().octets());
    put(mac.octets());
    put(std::array<uint8_t, 10> { 0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01 }); // ARP, Ethernet/IPv4, request
    put(mac.octets());
    put(ip(sender));
    put(std::array<uint8_t, 6> {});
    put(ip(target));
    frame.resize(60); // padded to the Ethernet minimum
    std::vector<std::byte> bytes(frame.size());
    std::memcpy(bytes.data(), frame.data(), frame.size());
    return bytes;
}

class TapTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        if (auto reason = test::missing_net_privileges(); !reason.empty())
            GTEST_SKIP() << reason;
        auto created = NetNamespace::create(test::unique_namespace_name("tap"));
        ASSERT_TRUE(created) << created.error().message();
        ns.emplace(std::move(*created));
    }

    std::optional<NetNamespace> ns;
};

TEST_F(TapTest, IsAnInterfaceOfItsNamespace)
{
    auto tap = NK_ASSERT_OK(Tap::create(*ns, "nk0"));
    EXPECT_EQ(tap.name(), "nk0");
    EXPECT_EQ(tap.namespace_name(), ns->name());
    EXPECT_GT(tap.ifindex(), 1);
    auto shown = test::ip({ "-n", ns->name(), "-d", "link", "show", "nk0" });
    EXPECT_NE(shown.output.find("tun type tap"), std::string::npos) << shown.output;
    // Nothing to read yet: no frame, no error.
    std::vector<std::byte> buffer(2048);
    EXPECT_EQ(NK_ASSERT_OK(tap.read(buffer)), 0u);
}

TEST_F(TapTest, GoesWithTheObject)
{
    {
        auto tap = NK_ASSERT_OK(Tap::create(*ns, "nk0"));
    }
    EXPECT_FALSE(test::ip({ "-n", ns->name(), "link", "show", "nk0" }, false).ok());
    // The name is free again.
    auto again = NK_ASSERT_OK(Tap::create(*ns, "nk0"));
}

TEST_F(TapTest, ATakenNameIsRefused)
{
    auto tap = NK_ASSERT_OK(Tap::create(*ns, "nk0"));
    auto second = Tap::create(*ns, "nk0");
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code(), ErrorCode::AlreadyExists);
    EXPECT_NE(second.error().message().find(fmt::format("tap nk0 in namespace {}", ns->name())), std::string::npos)
        << second.error().message();
    auto loopback = Tap::create(*ns, "lo");
    ASSERT_FALSE(loopback);
    EXPECT_EQ(loopback.error().code(), ErrorCode::AlreadyExists);

    for (auto bad : { "", "this-name-is-too-long", "a/b", "a b" }) {
        auto refused = Tap::create(*ns, bad);
        ASSERT_FALSE(refused) << bad;
        EXPECT_EQ(refused.error().code(), ErrorCode::InvalidArgument) << bad;
    }
}

TEST_F(TapTest, CarrierFollowsTheTap)
{
    auto tap = NK_ASSERT_OK(Tap::create(*ns, "nk0"));
    auto rtnl = NK_ASSERT_OK(Rtnetlink::open(*ns));
    NK_ASSERT_OK(rtnl.set_up("nk0", true));
    EXPECT_TRUE(NK_ASSERT_OK(rtnl.link("nk0")).carrier);
    NK_ASSERT_OK(tap.set_carrier(false));
    EXPECT_FALSE(NK_ASSERT_OK(rtnl.link("nk0")).carrier);
    auto shown = test::ip({ "-n", ns->name(), "link", "show", "nk0" });
    EXPECT_NE(shown.output.find("NO-CARRIER"), std::string::npos) << shown.output;
    NK_ASSERT_OK(tap.set_carrier(true));
    EXPECT_TRUE(NK_ASSERT_OK(rtnl.link("nk0")).carrier);
}

TEST_F(TapTest, FramesBothWays)
{
    auto tap = NK_ASSERT_OK(Tap::create(*ns, "nk0"));
    auto rtnl = NK_ASSERT_OK(Rtnetlink::open(*ns));
    auto address = *Ipv4Prefix::parse("10.77.0.2/24");
    NK_ASSERT_OK(rtnl.add_address("nk0", address));
    NK_ASSERT_OK(rtnl.set_up("nk0", true));
    auto own_mac = NK_ASSERT_OK(rtnl.link("nk0")).mac;

    auto asker = *MacAddress::parse("02:00:00:00:00:09");
    auto asker_ip = *Ipv4Prefix::parse_address("10.77.0.9");
    EXPECT_TRUE(NK_ASSERT_OK(tap.write(arp_request(asker, asker_ip, address.address()))));

    // The stack answers (among whatever else it sends: IPv6 neighbour discovery...).
    std::vector<std::byte> frame(2048);
    bool answered = false;
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (!answered && std::chrono::steady_clock::now() < deadline) {
        pollfd poller { .fd = tap.fd(), .events = POLLIN, .revents = 0 };
        ::poll(&poller, 1, 100);
        for (;;) {
            auto size = NK_ASSERT_OK(tap.read(frame));
            if (size == 0)
                break;
            auto octet = [&](size_t at) { return static_cast<uint8_t>(frame[at]); };
            if (size >= 42 && octet(12) == 0x08 && octet(13) == 0x06 && octet(21) == 2) {
                EXPECT_EQ(*MacAddress::from_bytes(std::span(frame).first(6)), asker);
                EXPECT_EQ(*MacAddress::from_bytes(std::span(frame).subspan(6, 6)), own_mac);
                EXPECT_EQ(*MacAddress::from_bytes(std::span(frame).subspan(22, 6)), own_mac); // "10.77.0.2 is at"
                answered = true;
            }
        }
    }
    EXPECT_TRUE(answered) << "no ARP reply read from the TAP";
    // The stack learnt the asker's address from its request.
    auto neighbours = test::ip({ "-n", ns->name(), "neigh", "show", "dev", "nk0" });
    EXPECT_NE(neighbours.output.find("10.77.0.9 lladdr 02:00:00:00:00:09"), std::string::npos) << neighbours.output;
}

TEST_F(TapTest, AFrameForADownInterfaceIsDropped)
{
    auto tap = NK_ASSERT_OK(Tap::create(*ns, "nk0"));
    auto frame = arp_request(*MacAddress::parse("02:00:00:00:00:09"), 1, 2);
    EXPECT_FALSE(NK_ASSERT_OK(tap.write(frame)));
}

} // namespace
} // namespace nk
