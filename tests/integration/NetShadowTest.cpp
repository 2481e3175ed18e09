// SPDX-License-Identifier: MIT
// The net shadow driver. Shadow mode: a net driver fault under traffic is
// recovered without applications' interface noticing (same ifindex, the MTU,
// a route added by hand and promiscuous mode all stay, and the restarted
// driver's NIC is programmed with them again); a frame that kills the driver
// every time is dropped alone after three tries; real programs (a curl
// download, tcpdump in promiscuous mode, a multicast receiver) run on through
// repeated crashes of several kinds. Nooks mode, same crashes: the interface
// is replaced, and the analyzer and the multicast receiver lose their traffic.

#include "NetMachine.h"

#include "nooks/recovery/RecoveryManager.h"

#include <atomic>
#include <fstream>
#include <random>
#include <set>
#include <thread>

namespace nk {
namespace {

struct NetFault {
    char const* fault;
    char const* entry;
};

constexpr NetFault crash_kinds[] = { { "null-deref", "napi_poll" }, { "wild-write-kernel", "net_start_xmit" },
    { "panic", "napi_poll" }, { "bad-param", "net_start_xmit" } };

class NetShadowMachine : public test::NetMachine {
protected:
    size_t failures_recorded() { return control({ { "command", "failures" } })["failures"].size(); }

    // Every failure so far recovered, and the shadow passive again.
    bool wait_recovered(size_t failures, std::chrono::seconds timeout = std::chrono::seconds(20))
    {
        return test::wait_until(timeout, [&] {
            auto list = control({ { "command", "failures" } })["failures"];
            if (list.size() < failures)
                return false;
            for (auto const& failure : list) {
                if (failure.value("outcome", std::string()) != "restarted")
                    return false;
            }
            auto device = net_device();
            return device && device->up() && device->carrier();
        });
    }

    // Crashes the driver `count` times, one kind after another, each fired
    // under traffic (the test's, and a ping of our own that makes the driver
    // poll and transmit) and recovered before the next.
    void crash_repeatedly(int count, std::atomic<int>& recovered)
    {
        for (int i = 0; i < count; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(700));
            auto const& kind = crash_kinds[i % std::size(crash_kinds)];
            auto before = failures_recorded();
            auto armed = control({ { "command", "inject" }, { "driver", "nknet" }, { "fault", kind.fault }, { "entry", kind.entry },
                { "after", 20 } });
            EXPECT_TRUE(armed.value("ok", false)) << armed.dump();
            auto pinger = NamespaceProcess::start(*m_ns, { "ping", "-q", "-c", "300", "-i", "0.05", "-W", "1", peer_address(0) });
            EXPECT_TRUE(pinger) << pinger.error().message();
            if (!wait_recovered(before + 1, std::chrono::seconds(30))) {
                ADD_FAILURE() << "crash " << i << " (" << kind.fault << " in " << kind.entry
                              << ") was not recovered: " << control({ { "command", "failures" } }).dump();
                return;
            }
            recovered.fetch_add(1);
        }
    }

    std::string ip_output(std::vector<std::string> args)
    {
        args.insert(args.begin(), { "ip", "-n", m_nic.net_namespace });
        auto result = harness::run_command(args);
        EXPECT_TRUE(result && result->ok()) << (result ? result->output : result.error().message());
        return result ? result->output : std::string();
    }

    // Pings from peer 0 to peer 1: traffic between two other stations, which
    // reaches our stack only through a promiscuous NIC.
    void peers_ping(int count, char const* interval = "0.1")
    {
        auto ns = NetNamespace::open(peer(0).net_namespace().name());
        ASSERT_TRUE(ns) << ns.error().message();
        (void)NamespaceProcess::run(*ns, { "ping", "-c", std::to_string(count), "-i", interval, "-W", "1", peer_address(1) },
            std::chrono::seconds(count + 30));
    }
};

class NetShadowFault : public NetShadowMachine, public ::testing::WithParamInterface<NetFault> {
protected:
    void SetUp() override { boot("shadow"); }
};

TEST_P(NetShadowFault, FaultUnderTraffic_TheInterfaceAndItsSettingsStay)
{
    auto links = Rtnetlink::open(*m_ns);
    ASSERT_TRUE(links) << links.error().message();
    // What users set on the interface: a smaller MTU, a route by hand, promiscuous mode.
    ASSERT_TRUE(links->set_mtu(m_nic.interface, 1400));
    ASSERT_TRUE(run({ "ip", "route", "add", "10.99.0.0/24", "via", peer_address(0) }).success());
    ASSERT_TRUE(run({ "ip", "link", "set", m_nic.interface, "promisc", "on" }).success());
    auto device = net_device();
    ASSERT_TRUE(device);
    ASSERT_TRUE(test::wait_until(std::chrono::seconds(10),
        [&] { return device->mtu() == 1400 && (device->rx_mode().flags & NK_NET_RX_PROMISC) != 0; }))
        << "the MTU and promiscuous mode did not reach the device";
    auto before = links->link(m_nic.interface);
    ASSERT_TRUE(before) << before.error().message();

    auto armed = control({ { "command", "inject" }, { "driver", "nknet" }, { "fault", GetParam().fault }, { "entry", GetParam().entry },
        { "after", 3 } });
    ASSERT_TRUE(armed.value("ok", false)) << armed.dump();
    (void)run({ "ping", "-c", "10", "-i", "0.2", "-W", "1", peer_address(0) });
    ASSERT_TRUE(wait_recovered(1)) << "the driver was not restarted: " << control({ { "command", "failures" } }).dump();

    // The same device and the same interface: nothing the stack set is lost.
    EXPECT_EQ(net_device().get(), device.get());
    auto after = links->link(m_nic.interface);
    ASSERT_TRUE(after) << after.error().message();
    EXPECT_EQ(after->ifindex, before->ifindex);
    EXPECT_EQ(after->mtu, 1400u);
    EXPECT_TRUE(after->promiscuous());
    EXPECT_NE(ip_output({ "route", "show", "10.99.0.0/24" }).find("via " + peer_address(0)), std::string::npos);
    EXPECT_EQ(device->mtu(), 1400u);
    // The restarted driver's NIC was programmed again: promiscuous (frames
    // between the peers reach the stack) and sending (ping answers).
    auto rx_before = device->stats().rx_packets;
    peers_ping(6);
    EXPECT_GE(device->stats().rx_packets - rx_before, 6u) << "the replayed promiscuous mode did not reach the new instance's NIC";
    auto status = run({ "ping", "-c", "3", "-i", "0.2", "-W", "2", peer_address(0) });
    EXPECT_TRUE(status.success()) << "ping after recovery: " << status.describe();
    // A ping larger than the MTU is fragmented by the stack, so it goes too.
    EXPECT_TRUE(run({ "ping", "-c", "2", "-s", "3000", "-W", "2", peer_address(0) }).success());
    auto shadow = control({ { "command", "list" } });
    EXPECT_NE(shadow.dump().find("\"net_devices\""), std::string::npos) << shadow.dump();
}

INSTANTIATE_TEST_SUITE_P(Faults, NetShadowFault,
    ::testing::Values(NetFault { "null-deref", "napi_poll" }, NetFault { "wild-write-kernel", "net_start_xmit" },
        NetFault { "hang", "napi_poll" }, NetFault { "bad-param", "net_start_xmit" }),
    [](auto const& info) {
        std::string name = std::string(info.param.fault) + "_in_" + info.param.entry;
        std::ranges::replace(name, '-', '_');
        return name;
    });

// A frame that kills the driver every time it is handed one (a deterministic
// fault): after three failures, each with it alone in flight, it is dropped
// alone; the device serves everything else.
TEST_F(NetShadowMachine, PoisonFrame_IsDroppedAloneAfterThreeTries)
{
    boot("shadow");
    ASSERT_TRUE(run({ "ping", "-c", "1", "-W", "2", peer_address(0) }).success()); // the peer's address resolved
    // A UDP datagram of 1000 bytes is a 1042-byte frame: no other frame here has that length.
    constexpr int poison_length = 14 + 20 + 8 + 1000;
    auto armed = control({ { "command", "inject" }, { "driver", "nknet" }, { "fault", "null-deref" }, { "entry", "net_start_xmit" },
        { "frame_length", poison_length }, { "repeat", true } });
    ASSERT_TRUE(armed.value("ok", false)) << armed.dump();
    auto sent = run({ "python3", "-c",
        fmt::format("import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x' * 1000, ('{}', 9))", peer_address(0)) });
    ASSERT_TRUE(sent.success()) << sent.describe();
    auto device = net_device();
    ASSERT_TRUE(device);
    ASSERT_TRUE(test::wait_until(std::chrono::seconds(30), [&] { return device->stats().tx_failed_alone == 1; }))
        << "the poison frame was not dropped alone: " << control({ { "command", "failures" } }).dump();
    ASSERT_TRUE(wait_recovered(3));
    EXPECT_EQ(failures_recorded(), 3u) << control({ { "command", "failures" } }).dump();
    auto status = run({ "ping", "-c", "3", "-i", "0.2", "-W", "2", peer_address(0) });
    EXPECT_TRUE(status.success()) << "ping after the poison frame: " << status.describe();
    (void)control({ { "command", "inject" }, { "driver", "nknet" }, { "fault", "none" } });
}

// The restarted instance fails in the replay itself (its open crashes): the
// device stays kept through that failure for the instance after, which gets
// it back. (The fault is armed in the next instance only.)
TEST_F(NetShadowMachine, RestartedInstanceFailingInItsReplay_DeviceKeptForTheNext)
{
    boot("shadow");
    auto links = Rtnetlink::open(*m_ns);
    ASSERT_TRUE(links);
    auto before = links->link(m_nic.interface);
    ASSERT_TRUE(before);
    auto armed = control({ { "command", "inject" }, { "driver", "nknet" }, { "fault", "null-deref" }, { "entry", "net_open" },
        { "next_instance", true } });
    ASSERT_TRUE(armed.value("ok", false)) << armed.dump();
    auto restart = control({ { "command", "restart" }, { "driver", "nknet" } });
    ASSERT_TRUE(restart.value("ok", false)) << restart.dump();
    ASSERT_TRUE(wait_recovered(2)) << control({ { "command", "failures" } }).dump();
    auto records = control({ { "command", "failures" } })["failures"];
    ASSERT_EQ(records.size(), 2u) << records.dump();
    EXPECT_EQ(records[0]["cause"], "operator");
    EXPECT_EQ(records[1]["cause"], "crash") << records.dump();
    auto after = links->link(m_nic.interface);
    ASSERT_TRUE(after);
    EXPECT_EQ(after->ifindex, before->ifindex);
    EXPECT_TRUE(run({ "ping", "-c", "3", "-i", "0.2", "-W", "2", peer_address(0) }).success());
}

// ---- Live updates ----

// `nooks ctl update` swaps new binaries in under a download: the download
// goes on, the interface is the same, each update is recorded as one (not as
// a failure), and the driver runs the last binary.
TEST_F(NetShadowMachine, LiveUpdatesUnderADownload_AreOnlyAPause)
{
    boot("shadow");
    auto original = m_system->recovery()->driver("nknet@nic0");
    ASSERT_TRUE(original);
    std::vector<std::string> versions;
    for (auto const* name : { "nknet-v2.so", "nknet-v3.so" }) {
        versions.push_back(m_dir.file(name));
        std::filesystem::copy_file(original->path, versions.back());
    }
    auto served = m_dir.file("www");
    std::filesystem::create_directories(served);
    test::write_random_file(served + "/blob", 100, 11);
    auto server = peer(0).start({ "/usr/bin/python3", "-m", "http.server", "8080", "--bind", peer_address(0), "--directory", served });
    ASSERT_TRUE(server) << server.error().message();
    ASSERT_TRUE(run({ "sh", "-c", fmt::format("for i in $(seq 50); do curl -s -o /dev/null http://{}:8080/ && exit 0; sleep 0.1; done; exit 1",
                                     peer_address(0)) })
                    .success());
    auto links = Rtnetlink::open(*m_ns);
    ASSERT_TRUE(links);
    auto before = links->link(m_nic.interface);
    ASSERT_TRUE(before);

    std::thread updater([&] {
        for (int i = 0; i < 3; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(800));
            auto const& file = versions[i % versions.size()];
            auto reply = control({ { "command", "update" }, { "driver", "nknet" }, { "path", file } });
            EXPECT_TRUE(reply.value("ok", false)) << reply.dump();
            EXPECT_TRUE(test::wait_until(std::chrono::seconds(20), [&] {
                auto status = m_system->recovery()->driver("nknet@nic0");
                return status && status->path == file && status->state == DriverState::Live && net_device()->carrier();
            })) << "update " << i << " to " << file << ": " << control({ { "command", "failures" } }).dump();
        }
    });
    auto fetched = m_dir.file("fetched");
    auto status = run({ "curl", "-s", "-S", "--limit-rate", "25M", "--max-time", "120", "-o", fetched,
        fmt::format("http://{}:8080/blob", peer_address(0)) });
    updater.join();
    ASSERT_TRUE(status.success()) << "curl: " << status.describe();
    EXPECT_EQ(test::sha256_of(fetched), test::sha256_of(served + "/blob"));
    auto after = links->link(m_nic.interface);
    ASSERT_TRUE(after);
    EXPECT_EQ(after->ifindex, before->ifindex);
    auto records = control({ { "command", "failures" } })["failures"];
    ASSERT_EQ(records.size(), 3u) << records.dump();
    for (size_t i = 0; i < records.size(); ++i) {
        EXPECT_EQ(records[i]["cause"], "update") << records[i].dump();
        EXPECT_EQ(records[i]["decided_by"], "operator") << records[i].dump();
        EXPECT_EQ(records[i]["outcome"], "updated to " + versions[i % versions.size()]) << records[i].dump();
    }
    auto driver = m_system->recovery()->driver("nknet@nic0");
    EXPECT_EQ(driver->failures, 0u) << "an update is not a failure";
    EXPECT_EQ(driver->restarts, 3u);
}

// A file that is no driver: the update does not take, the driver comes back
// from the binary it ran, and the device carries on.
TEST_F(NetShadowMachine, UpdateToABrokenFile_RollsBack)
{
    boot("shadow");
    auto original = m_system->recovery()->driver("nknet@nic0");
    ASSERT_TRUE(original);
    auto broken = m_dir.file("broken.so");
    std::ofstream(broken) << "not an ELF file\n";
    auto missing = control({ { "command", "update" }, { "driver", "nknet" }, { "path", m_dir.file("absent.so") } });
    EXPECT_FALSE(missing.value("ok", true)) << missing.dump();
    EXPECT_NE(missing.dump().find("not a driver file"), std::string::npos) << missing.dump();
    auto reply = control({ { "command", "update" }, { "driver", "nknet" }, { "path", broken } });
    ASSERT_TRUE(reply.value("ok", false)) << reply.dump();
    ASSERT_TRUE(test::wait_until(std::chrono::seconds(20), [&] {
        auto records = control({ { "command", "failures" } })["failures"];
        return !records.empty() && records.back().value("outcome", std::string()) == "restarted";
    })) << control({ { "command", "failures" } }).dump();
    EXPECT_EQ(m_system->recovery()->driver("nknet@nic0")->path, original->path);
    ASSERT_TRUE(wait_for_interface());
    EXPECT_TRUE(run({ "ping", "-c", "3", "-i", "0.2", "-W", "2", peer_address(0) }).success());
}

// ---- Real programs through repeated crashes, shadow against nooks ----

class NetShadowApps : public NetShadowMachine, public ::testing::WithParamInterface<char const*> {
protected:
    void SetUp() override { boot(GetParam()); }
    bool shadow() const { return std::string(GetParam()) == "shadow"; }
};

TEST_P(NetShadowApps, CurlDownloadThroughRepeatedCrashes)
{
    auto served = m_dir.file("www");
    std::filesystem::create_directories(served);
    test::write_random_file(served + "/blob", 200, 7);
    auto server = peer(0).start({ "/usr/bin/python3", "-m", "http.server", "8080", "--bind", peer_address(0), "--directory", served });
    ASSERT_TRUE(server) << server.error().message();
    ASSERT_TRUE(run({ "sh", "-c", fmt::format("for i in $(seq 50); do curl -s -o /dev/null http://{}:8080/ && exit 0; sleep 0.1; done; exit 1",
                                     peer_address(0)) })
                    .success());
    // The download is throttled so it outlasts the crashes.
    std::atomic<int> recovered { 0 };
    std::thread crasher([&] { crash_repeatedly(4, recovered); });
    auto fetched = m_dir.file("fetched");
    auto status = run({ "curl", "-s", "-S", "--limit-rate", "40M", "--max-time", "120", "-o", fetched,
        fmt::format("http://{}:8080/blob", peer_address(0)) });
    crasher.join();
    EXPECT_EQ(recovered.load(), 4);
    if (shadow()) {
        ASSERT_TRUE(status.success()) << "curl: " << status.describe();
        EXPECT_EQ(test::sha256_of(fetched), test::sha256_of(served + "/blob"));
    } else {
        // Measured, not assumed: print what nooks mode did to the download.
        std::fprintf(stderr, "nooks mode: curl %s\n", status.describe().c_str());
    }
}

// scp copies a file from a peer over ssh through the crashes; the copy equals the original.
TEST_P(NetShadowApps, ScpThroughRepeatedCrashes)
{
    if (::access("/usr/bin/scp", X_OK) != 0)
        GTEST_SKIP() << "needs scp (scripts/install-deps.sh installs openssh-client)";
    auto ssh_options = start_sshd();
    if (ssh_options.empty())
        GTEST_SKIP() << "needs sshd and ssh (scripts/install-deps.sh installs them)";
    auto source = m_dir.file("source.bin");
    test::write_random_file(source, 24, 3);
    ASSERT_TRUE(run({ "sh", "-c", fmt::format("for i in $(seq 20); do ssh {} root@{} true && exit 0; sleep 0.3; done; exit 1", ssh_options,
                                     peer_address(0)) })
                    .success());
    std::atomic<int> recovered { 0 };
    std::thread crasher([&] { crash_repeatedly(3, recovered); });
    // Throttled (-l, Kbit/s) so the copy outlasts the crashes.
    auto copy = m_dir.file("copy.bin");
    auto status = run({ "sh", "-c", fmt::format("scp {} -l 60000 root@{}:{} {}", ssh_options, peer_address(0), source, copy) });
    crasher.join();
    EXPECT_EQ(recovered.load(), 3);
    auto same = status.success() && test::sha256_of(copy) == test::sha256_of(source);
    std::fprintf(stderr, "%s mode: scp %s, copy %s\n", GetParam(), status.describe().c_str(), same ? "identical" : "differs or missing");
    if (shadow()) {
        EXPECT_TRUE(same) << "scp: " << status.describe();
    }
}

// tcpdump keeps its packet socket on nk0 (promiscuous) through the crashes
// and sees the traffic of two other stations after every recovery; in nooks
// mode the interface it listened on is gone with the first failure.
TEST_P(NetShadowApps, AnalyzerKeepsCapturingThroughRepeatedCrashes)
{
    auto device = net_device();
    ASSERT_TRUE(device);
    auto capture = m_dir.file("capture.txt");
    auto tcpdump = NamespaceProcess::start(*m_ns,
        { "sh", "-c", fmt::format("exec tcpdump -i {} -n -l 'icmp and dst host {}' > {} 2>{}.err", m_nic.interface, peer_address(1), capture, capture) });
    ASSERT_TRUE(tcpdump) << tcpdump.error().message();
    ASSERT_TRUE(test::wait_until(std::chrono::seconds(10), [&] { return (device->rx_mode().flags & NK_NET_RX_PROMISC) != 0; }))
        << "tcpdump's promiscuous mode did not reach the device";
    auto lines = [&] {
        std::ifstream in(capture);
        return static_cast<int>(std::count(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>(), '\n'));
    };
    std::atomic<int> recovered { 0 };
    std::thread crasher([&] { crash_repeatedly(3, recovered); });
    peers_ping(60);
    crasher.join();
    EXPECT_EQ(recovered.load(), 3);
    auto during = lines();
    // After the last recovery: 20 more frames between the peers.
    peers_ping(20);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto after = lines() - during;
    std::fprintf(stderr, "%s mode: tcpdump saw %d of 60 frames through 3 crashes and %d of 20 after them\n", GetParam(), during, after);
    if (shadow()) {
        EXPECT_GE(after, 19) << "the analyzer lost the peers' traffic after recovery";
        EXPECT_GE(during, 40) << "the analyzer lost too much around the crashes";
        EXPECT_TRUE(device->rx_mode().flags & NK_NET_RX_PROMISC);
    } else {
        EXPECT_LE(after, 1) << "in nooks mode the analyzer's interface is replaced: it should see nothing after";
    }
}

// A receiver of a multicast group keeps receiving it: its membership (the
// interface's multicast list) is replayed into each restarted driver.
TEST_P(NetShadowApps, MulticastReceiverKeepsItsGroupThroughRepeatedCrashes)
{
    auto received = m_dir.file("received.txt");
    auto receiver = NamespaceProcess::start(*m_ns, { "python3", "-u", "-c",
        fmt::format("import socket, struct\n"
                    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                    "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
                    "s.bind(('239.1.2.3', 5007))\n"
                    "s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton('239.1.2.3') + socket.inet_aton('{}.1'))\n"
                    "out = open('{}', 'w', buffering=1)\n"
                    "while True:\n"
                    "    out.write(s.recv(100).decode() + '\\n')\n",
            subnet, received) });
    ASSERT_TRUE(receiver) << receiver.error().message();
    auto device = net_device();
    ASSERT_TRUE(device);
    ASSERT_TRUE(test::wait_until(std::chrono::seconds(10), [&] { return device->rx_mode().mc_count > 0; }))
        << "the receiver's membership did not reach the device";
    auto send = [&](int first, int count) {
        auto ns = NetNamespace::open(peer(0).net_namespace().name());
        ASSERT_TRUE(ns);
        (void)NamespaceProcess::run(*ns, { "python3", "-c",
            fmt::format("import socket, time\n"
                        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                        "s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton('{}'))\n"
                        "for i in range({}, {}):\n"
                        "    s.sendto(str(i).encode(), ('239.1.2.3', 5007)); time.sleep(0.05)\n",
                peer_address(0), first, first + count) },
            std::chrono::seconds(60));
    };
    std::atomic<int> recovered { 0 };
    std::thread crasher([&] { crash_repeatedly(3, recovered); });
    send(0, 120);
    crasher.join();
    EXPECT_EQ(recovered.load(), 3);
    send(1000, 20);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    std::set<int> seen;
    {
        std::ifstream in(received);
        for (std::string line; std::getline(in, line);) {
            if (!line.empty())
                seen.insert(std::stoi(line));
        }
    }
    auto after = static_cast<int>(std::ranges::count_if(seen, [](int i) { return i >= 1000; }));
    auto during = static_cast<int>(seen.size()) - after;
    std::fprintf(stderr, "%s mode: the receiver got %d of 120 datagrams through 3 crashes and %d of 20 after them\n", GetParam(), during,
        after);
    if (shadow()) {
        EXPECT_GE(after, 19);
        EXPECT_GE(during, 80);
    } else {
        EXPECT_LE(after, 1) << "in nooks mode the membership is lost with the interface";
    }
}

INSTANTIATE_TEST_SUITE_P(Modes, NetShadowApps, ::testing::Values("shadow", "nooks"));

} // namespace
} // namespace nk
