// SPDX-License-Identifier: MIT
// The network class with real programs: a machine with one NIC (our nknet
// driver on an emulated NKNIC, two peer hosts on its wire), its TAP interface
// in a namespace of the test's own. ping, curl (100 MB from a python3 server,
// sha256 checked), iperf3 both ways, ssh to a peer's sshd and tcpdump in
// promiscuous mode run through the driver, in native, nooks and shadow mode.

#include "NetMachine.h"

#include <fstream>
#include <random>

namespace nk {
namespace {

class NetApps : public test::NetMachine, public ::testing::WithParamInterface<char const*> {
protected:
    void SetUp() override { boot(GetParam()); }
};

TEST_P(NetApps, PingThePeer)
{
    auto status = run({ "ping", "-c", "3", "-i", "0.2", "-W", "2", peer_address(0) });
    EXPECT_TRUE(status.success()) << "ping: " << status.describe();
    auto device = net_device();
    ASSERT_TRUE(device);
    EXPECT_GE(device->stats().tx_packets, 3u);
    EXPECT_GE(device->stats().rx_packets, 3u);
}

TEST_P(NetApps, HttpDownloadOf100MBArrivesIntact)
{
    auto served = m_dir.file("www");
    std::filesystem::create_directories(served);
    test::write_random_file(served + "/blob", 100, 42);
    auto server = peer(0).start({ "/usr/bin/python3", "-m", "http.server", "8080", "--bind", peer_address(0), "--directory", served });
    ASSERT_TRUE(server) << server.error().message();
    auto fetched = m_dir.file("fetched");
    auto status = run({ "curl", "-s", "-S", "--retry", "5", "--retry-connrefused", "--retry-delay", "1", "--max-time", "120", "-o", fetched,
        fmt::format("http://{}:8080/blob", peer_address(0)) });
    ASSERT_TRUE(status.success()) << "curl: " << status.describe();
    EXPECT_EQ(std::filesystem::file_size(fetched), 100u << 20);
    EXPECT_EQ(test::sha256_of(fetched), test::sha256_of(served + "/blob"));
}

TEST_P(NetApps, Iperf3BothDirections)
{
    if (::access("/usr/bin/iperf3", X_OK) != 0)
        GTEST_SKIP() << "needs iperf3 (scripts/install-deps.sh installs it)";
    auto server = peer(0).start({ "iperf3", "-s", "-B", peer_address(0) });
    ASSERT_TRUE(server) << server.error().message();
    for (bool reverse : { false, true }) {
        auto report = m_dir.file(reverse ? "receive.json" : "send.json");
        std::vector<std::string> argv { "sh", "-c",
            fmt::format("for i in 1 2 3 4 5; do iperf3 -c {} -t 1 -J {} > {} && exit 0; sleep 0.5; done; exit 1", peer_address(0),
                reverse ? "-R" : "", report) };
        auto status = run(argv);
        ASSERT_TRUE(status.success()) << "iperf3 " << (reverse ? "-R" : "") << ": " << status.describe();
        auto json = nlohmann::json::parse(std::ifstream(report), nullptr, false);
        ASSERT_FALSE(json.is_discarded()) << "iperf3 wrote no JSON report";
        auto bytes = json["end"]["sum_received"]["bytes"].get<uint64_t>();
        // A second of TCP through the driver moves megabytes, not a trickle.
        EXPECT_GT(bytes, 1u << 20) << (reverse ? "receive" : "send") << ": " << json["end"]["sum_received"].dump();
    }
    // The streams must not have cost the driver a failure.
    auto failures = control({ { "command", "failures" } })["failures"];
    EXPECT_TRUE(failures.empty()) << failures.dump();
}

TEST_P(NetApps, SshSessionRunsCommands)
{
    if (::access("/usr/sbin/sshd", X_OK) != 0 || ::access("/usr/bin/ssh", X_OK) != 0)
        GTEST_SKIP() << "needs sshd and ssh (scripts/install-deps.sh installs them)";
    auto ssh_options = start_sshd();
    ASSERT_FALSE(ssh_options.empty());
    auto output = m_dir.file("ssh.out");
    auto status = run({ "sh", "-c",
        fmt::format("for i in 1 2 3 4 5; do ssh {} root@{} 'echo session-ok; ip -br addr show' > {} 2>/dev/null && exit 0; sleep 0.5; done; exit 1",
            ssh_options, peer_address(0), output) });
    ASSERT_TRUE(status.success()) << "ssh: " << status.describe();
    std::ifstream in(output);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("session-ok"), std::string::npos) << text;
    // The commands ran on the peer: its own address is in its `ip addr`.
    EXPECT_NE(text.find(peer_address(0)), std::string::npos) << text;
}

// A hub carries the peers' unicast traffic to our NIC too; its filter drops
// it until tcpdump makes the interface promiscuous, which must reach the NIC.
TEST_P(NetApps, TcpdumpSeesTrafficBetweenTwoOtherPeers)
{
    if (::access("/usr/bin/tcpdump", X_OK) != 0)
        GTEST_SKIP() << "needs tcpdump (scripts/install-deps.sh installs it)";
    auto device = net_device();
    ASSERT_TRUE(device);
    auto peer_ping = [&] {
        auto ns = NetNamespace::open(peer(0).net_namespace().name());
        EXPECT_TRUE(ns);
        auto status = NamespaceProcess::run(*ns, { "ping", "-c", "4", "-i", "0.2", "-W", "2", peer_address(1) });
        EXPECT_TRUE(status && status->success());
    };
    // Not promiscuous: the peers' pings do not reach the stack.
    peer_ping();
    auto before = device->stats().rx_packets;
    peer_ping();
    EXPECT_LE(device->stats().rx_packets - before, 2u) << "frames for other stations got past the NIC's filter";

    auto capture = m_dir.file("capture.txt");
    auto tcpdump = NamespaceProcess::start(*m_ns,
        { "sh", "-c", fmt::format("tcpdump -i {} -n -l -c 4 'icmp and host {}' > {} 2>/dev/null", m_nic.interface, peer_address(1), capture) });
    ASSERT_TRUE(tcpdump) << tcpdump.error().message();
    ASSERT_TRUE(test::wait_until(std::chrono::seconds(10), [&] { return (device->rx_mode().flags & NK_NET_RX_PROMISC) != 0; }))
        << "tcpdump's promiscuous mode did not reach the device";
    peer_ping();
    auto ended = tcpdump->wait_for(std::chrono::seconds(10));
    EXPECT_TRUE(ended.success()) << "tcpdump did not see 4 ICMP frames between the peers: " << ended.describe();
    std::ifstream in(capture);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find(fmt::format("{} > {}", peer_address(0), peer_address(1))), std::string::npos) << text;
    // tcpdump gone: the interface, and so the NIC, leaves promiscuous mode.
    EXPECT_TRUE(test::wait_until(std::chrono::seconds(10), [&] { return (device->rx_mode().flags & NK_NET_RX_PROMISC) == 0; }));
}

INSTANTIATE_TEST_SUITE_P(Modes, NetApps, ::testing::Values("native", "nooks", "shadow"));

} // namespace
} // namespace nk
