// SPDX-License-Identifier: MIT
// Peer hosts on one emulated segment talk through the hub: a peer's
// interface is configured as asked (MAC, MTU, address, route); ping from one
// namespace reaches the other (the segment counts the frames), an HTTP
// server one peer starts serves a file to a client in the other, a program
// that fails at once is reported with its exit status, frames the host
// cannot take are dropped and counted, and a destroyed peer leaves no
// namespace, mount, lock or process behind.

#include "base/net/NamespaceLock.h"
#include "devices/nic/PeerHost.h"
#include "kernel/events/EventLoop.h"
#include "support/NetTestSupport.h"
#include "support/TestSupport.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <regex>
#include <sys/stat.h>

namespace nk {
namespace {

using namespace std::chrono_literals;

class Recorder final : public EthernetStation {
public:
    void receive(std::span<std::byte const>) override { ++frames; }
    std::atomic<uint64_t> frames { 0 };
};

class PeerHostTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        if (auto reason = test::missing_net_privileges(); !reason.empty())
            GTEST_SKIP() << reason;
        auto created = EventLoop::create();
        ASSERT_TRUE(created) << created.error().message();
        loop = std::move(*created);
    }

    PeerHostOptions options(std::string const& name, char const* address)
    {
        return { .name = name, .namespace_name = test::unique_namespace_name(name), .address = *Ipv4Prefix::parse(address) };
    }

    std::unique_ptr<PeerHost> peer(std::string const& name, char const* address)
    {
        auto host = PeerHost::create(*loop, segment, options(name, address));
        EXPECT_TRUE(host) << host.error().message();
        return host ? std::move(*host) : nullptr;
    }

    // `ip netns exec NS argv...`
    harness::CommandResult exec_in(PeerHost const& host, std::vector<std::string> argv)
    {
        argv.insert(argv.begin(), { "ip", "netns", "exec", host.net_namespace().name() });
        auto result = harness::run_command(argv, { .timeout = 60s });
        EXPECT_TRUE(result) << result.error().message();
        return result ? *result : harness::CommandResult {};
    }

    // Declared first, destroyed last: the segment and the loop outlive the peers.
    EthernetSegment segment { "lan0" };
    std::unique_ptr<EventLoop> loop;
};

TEST_F(PeerHostTest, PingThroughTheHub)
{
    auto a = peer("pa", "10.77.0.1/24");
    auto b = peer("pb", "10.77.0.2/24");
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->interface(), "eth0");
    EXPECT_TRUE(a->mac().is_locally_administered());
    EXPECT_NE(a->mac(), b->mac());
    auto before = segment.stats();

    auto ping = exec_in(*a, { "ping", "-c", "3", "-W", "2", b->address().address_text() });
    ASSERT_TRUE(ping.ok()) << ping.describe();
    EXPECT_NE(ping.output.find("3 received"), std::string::npos) << ping.output;
    std::smatch rtt;
    if (std::regex_search(ping.output, rtt, std::regex("rtt min/avg/max/mdev = ([0-9.]+)/([0-9.]+)/([0-9.]+)"))) {
        RecordProperty("ping_rtt_avg_ms", rtt[2].str());
        std::cout << "[ ping RTT ] min/avg/max " << rtt[1] << "/" << rtt[2] << "/" << rtt[3] << " ms through the hub\n";
    }
    // The other way, run by NamespaceProcess rather than `ip netns exec`.
    auto back = NK_ASSERT_OK(NamespaceProcess::run(b->net_namespace(), { "ping", "-c", "1", "-W", "2", a->address().address_text() }, 10s,
        { .quiet = true }));
    EXPECT_TRUE(back.success()) << back.describe();

    // 3 requests and 3 replies at least (and the ARP exchange), each delivered to the other peer.
    auto after = segment.stats();
    EXPECT_GE(after.frames - before.frames, 6u);
    EXPECT_GE(after.deliveries - before.deliveries, 6u);
    EXPECT_EQ(after.bad_frames, 0u);
    EXPECT_GE(a->stats().sent, 3u);
    EXPECT_GE(a->stats().received, 3u);
    EXPECT_GE(b->stats().sent, 3u);
    EXPECT_GE(b->stats().received, 3u);
    EXPECT_EQ(a->stats().dropped + b->stats().dropped, 0u);
}

TEST_F(PeerHostTest, ConfiguresItsInterface)
{
    auto wanted = options("pk", "10.77.0.5/24");
    wanted.mac = *MacAddress::parse("02:00:00:77:00:05");
    wanted.mtu = 9000;
    wanted.gateway = *Ipv4Prefix::parse_address("10.77.0.1");
    auto created = PeerHost::create(*loop, segment, wanted);
    ASSERT_TRUE(created) << created.error().message();
    auto& host = **created;
    EXPECT_EQ(host.mac(), *wanted.mac);
    EXPECT_EQ(host.address(), wanted.address);
    auto ns = host.net_namespace().name();
    auto shown = test::ip({ "-n", ns, "address", "show", "dev", "eth0" });
    EXPECT_NE(shown.output.find("mtu 9000"), std::string::npos) << shown.output;
    EXPECT_NE(shown.output.find(",UP,LOWER_UP>"), std::string::npos) << shown.output;
    EXPECT_NE(shown.output.find("link/ether 02:00:00:77:00:05"), std::string::npos) << shown.output;
    EXPECT_NE(shown.output.find("inet 10.77.0.5/24"), std::string::npos) << shown.output;
    auto loopback = test::ip({ "-n", ns, "link", "show", "lo" });
    EXPECT_NE(loopback.output.find(",UP"), std::string::npos) << loopback.output;
    auto routes = test::ip({ "-n", ns, "-4", "route", "show" });
    EXPECT_NE(routes.output.find("default via 10.77.0.1 dev eth0"), std::string::npos) << routes.output;
}

TEST_F(PeerHostTest, HttpServerInOnePeerServesTheOther)
{
    if (!harness::have_program("curl"))
        GTEST_SKIP() << "needs curl";
    auto client = peer("pc", "10.77.0.1/24");
    auto server = peer("ps", "10.77.0.2/24");
    ASSERT_TRUE(client && server);
    test::TempDir dir("nooks-peer-http");
    std::string content = "served through the emulated segment\n";
    std::ofstream(dir.file("hello.txt")) << content;

    auto pid = server->start({ test::python3(), "-m", "http.server", "--bind", server->address().address_text(), "--directory", dir.path(), "8080" });
    ASSERT_TRUE(pid) << pid.error().message();
    EXPECT_GT(*pid, 0);

    auto url = fmt::format("http://{}:8080/hello.txt", server->address().address_text());
    harness::CommandResult fetched;
    // The server takes a moment to listen.
    EXPECT_TRUE(test::wait_until(20s, [&] {
        fetched = exec_in(*client, { "curl", "-sSf", "--max-time", "5", url });
        return fetched.ok();
    })) << fetched.describe();
    EXPECT_EQ(fetched.output, content);
    EXPECT_GT(server->stats().sent, 0u);
    EXPECT_GT(client->stats().received, 0u);
}

TEST_F(PeerHostTest, AProgramThatExitsAtOnceIsAnError)
{
    auto host = peer("pf", "10.77.0.1/24");
    ASSERT_TRUE(host);
    auto failed = host->start({ test::python3(), "-c", "import sys; sys.exit(3)" });
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().code(), ErrorCode::FailedPrecondition);
    EXPECT_NE(failed.error().message().find("peer host pf:"), std::string::npos) << failed.error().message();
    EXPECT_NE(failed.error().message().find("exited at once: exit status 3"), std::string::npos) << failed.error().message();

    auto missing = host->start({ "no-such-program-nooks" });
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code(), ErrorCode::NotFound);
}

TEST_F(PeerHostTest, FramesTheHostCannotTakeAreDropped)
{
    auto host = peer("pd", "10.77.0.1/24");
    ASSERT_TRUE(host);
    Recorder other;
    auto port = segment.attach(other, "other");
    std::vector<std::byte> frame(60, std::byte(0xff)); // broadcast
    port->send(frame);
    EXPECT_EQ(host->stats().received, 1u);
    EXPECT_EQ(host->stats().dropped, 0u);
    test::ip({ "-n", host->net_namespace().name(), "link", "set", "dev", host->interface(), "down" });
    port->send(frame);
    port->send(frame);
    EXPECT_EQ(host->stats().received, 1u);
    EXPECT_EQ(host->stats().dropped, 2u);
}

TEST_F(PeerHostTest, ANameInUseIsRefusedAndLeavesNothing)
{
    auto host = peer("pu", "10.77.0.1/24");
    ASSERT_TRUE(host);
    auto same = options("pu", "10.77.0.2/24");
    same.namespace_name = host->net_namespace().name();
    auto second = PeerHost::create(*loop, segment, same);
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code(), ErrorCode::AlreadyExists);
    EXPECT_NE(second.error().message().find(fmt::format("peer host pu: network namespace {} is in use by a running nooks (pid {})",
                  same.namespace_name, ::getpid())),
        std::string::npos)
        << second.error().message();
    // The first is untouched.
    EXPECT_TRUE(NetNamespace::exists(host->net_namespace().name()));
    auto link = test::ip({ "-n", host->net_namespace().name(), "-4", "address", "show", "dev", "eth0" });
    EXPECT_NE(link.output.find("10.77.0.1/24"), std::string::npos) << link.output;

    // A configuration that fails late (a bad MTU) removes what it made.
    auto bad = options("pm", "10.77.0.3/24");
    bad.mtu = 100000;
    auto refused = PeerHost::create(*loop, segment, bad);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message().find("set MTU of eth0 to 100000"), std::string::npos) << refused.error().message();
    EXPECT_FALSE(NetNamespace::exists(bad.namespace_name));
    EXPECT_FALSE(std::filesystem::exists(NamespaceLock::path_of(bad.namespace_name)));
}

TEST_F(PeerHostTest, DestructionLeavesNothingBehind)
{
    std::string ns_name;
    pid_t server = 0;
    ino_t inode = 0;
    {
        auto host = peer("pz", "10.77.0.1/24");
        ASSERT_TRUE(host);
        ns_name = host->net_namespace().name();
        // A program that ignores SIGTERM, with a child of its own: both must go.
        auto pid = host->start({ "sh", "-c", "trap '' TERM; sleep 600 & wait" });
        ASSERT_TRUE(pid) << pid.error().message();
        server = *pid;
        inode = test::net_namespace_inode(server);
        ASSERT_NE(inode, 0u);
        EXPECT_TRUE(test::wait_until(5s, [&] { return test::processes_in_namespace(inode).size() >= 2; }));
        auto listed = test::ip_netns_list();
        EXPECT_NE(std::find(listed.begin(), listed.end(), ns_name), listed.end());
        EXPECT_TRUE(test::mount_mentions(NetNamespace::path_of(ns_name)));
    }
    EXPECT_FALSE(NetNamespace::exists(ns_name));
    auto names = test::ip_netns_list();
    EXPECT_EQ(std::find(names.begin(), names.end(), ns_name), names.end());
    EXPECT_FALSE(test::mount_mentions(ns_name));
    EXPECT_FALSE(std::filesystem::exists(NamespaceLock::path_of(ns_name)));
    // Reaped, not a zombie; and nothing else runs in the namespace (so it, and its TAP, are gone).
    EXPECT_EQ(::kill(server, 0), -1);
    EXPECT_EQ(errno, ESRCH);
    EXPECT_TRUE(test::processes_in_namespace(inode).empty());
}

} // namespace
} // namespace nk
