// SPDX-License-Identifier: MIT
// The network class with real programs: a machine with one NIC (our nknet
// driver on an emulated NKNIC, a peer host on its wire), its TAP interface in
// a namespace of the test's own; ping and an HTTP download (curl from a
// python3 server on the peer) run through the driver, in native and nooks
// mode; in nooks mode a crash of the driver under traffic is recovered and
// the interface comes back with its address.

#include "base/net/NamespaceProcess.h"
#include "base/net/NetNamespace.h"
#include "base/net/Rtnetlink.h"
#include "classes/net/NetLayer.h"
#include "control/ControlServer.h"
#include "devices/nic/NicDevice.h"
#include "devices/nic/Wire.h"
#include "support/TestSupport.h"
#include "system/System.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <unistd.h>

namespace nk {
namespace {

std::string skip_reason()
{
    if (::geteuid() != 0)
        return "needs root (network namespaces and TAPs); run the test suite as root";
    if (::access("/dev/net/tun", R_OK | W_OK) != 0)
        return "needs /dev/net/tun";
    if (::access("/usr/bin/curl", X_OK) != 0 || ::access("/usr/bin/python3", X_OK) != 0 || ::access("/usr/bin/ping", X_OK) != 0)
        return "needs curl, python3 and ping (scripts/install-deps.sh installs them)";
    return {};
}

class NetApps : public ::testing::TestWithParam<char const*> {
protected:
    void SetUp() override
    {
        if (auto reason = skip_reason(); !reason.empty())
            GTEST_SKIP() << reason;
        auto tag = fmt::format("nkt{}", ::getpid());
        m_namespace = tag;
        auto toml = fmt::format("mode = \"{}\"\nmount = \"{}\"\ncontrol = \"{}\"\ndisk = []\n"
                                "[[nic]]\nname = \"nic0\"\nnamespace = \"{}\"\ninterface = \"{}\"\naddress = \"10.79.0.1/24\"\n"
                                "peers = \"10.79.0.2/24\"\npeer_namespace = \"{}p\"\nlink_delay_ms = 100\n",
            GetParam(), m_dir.file("disks"), m_dir.file("control.sock"), tag, tag, tag);
        auto config = test::machine_config(toml);
        config.isolation.agent = "";
        auto booted = System::boot(config);
        ASSERT_TRUE(booted) << booted.error().message();
        m_system = std::move(*booted);
        auto* nic = m_system->hardware<NicDevice>("nic0");
        ASSERT_NE(nic, nullptr);
        ASSERT_NE(nic->wire(), nullptr);
        ASSERT_EQ(nic->wire()->peers().size(), 1u);
        m_peer = nic->wire()->peers()[0];
        auto ns = NetNamespace::open(m_namespace);
        ASSERT_TRUE(ns) << ns.error().message();
        m_ns.emplace(std::move(*ns));
        ASSERT_TRUE(wait_for_carrier()) << "nic0 never got its carrier";
    }

    void TearDown() override
    {
        m_ns.reset();
        if (m_system)
            m_system->shutdown();
        m_system.reset();
        // Nothing is left behind.
        EXPECT_FALSE(NetNamespace::exists(m_namespace));
        EXPECT_FALSE(NetNamespace::exists(m_namespace + "p0"));
    }

    bool wait_for_carrier()
    {
        return test::wait_until(std::chrono::seconds(10), [&] {
            auto* net = m_system->kernel().driver_class<NetLayer>();
            auto device = net != nullptr ? net->find("nic0") : nullptr;
            return device && device->up() && device->carrier() && !m_system->endpoint("nic0").empty();
        });
    }

    ExitStatus run(std::vector<std::string> const& argv, std::chrono::seconds timeout = std::chrono::seconds(60))
    {
        auto status = NamespaceProcess::run(*m_ns, argv, timeout);
        EXPECT_TRUE(status) << status.error().message();
        return status ? *status : ExitStatus {};
    }

    nlohmann::json control(nlohmann::json const& request)
    {
        auto reply = control_request(m_dir.file("control.sock"), request);
        EXPECT_TRUE(reply) << reply.error().message();
        return reply ? *reply : nlohmann::json {};
    }

    test::TempDir m_dir;
    std::string m_namespace;
    std::unique_ptr<System> m_system;
    PeerHost* m_peer { nullptr };
    std::optional<NetNamespace> m_ns;
};

TEST_P(NetApps, PingThePeer)
{
    auto status = run({ "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.79.0.2" });
    EXPECT_TRUE(status.success()) << "ping: " << status.describe();
    auto device = m_system->kernel().driver_class<NetLayer>()->find("nic0");
    ASSERT_TRUE(device);
    EXPECT_GE(device->stats().tx_packets, 3u);
    EXPECT_GE(device->stats().rx_packets, 3u);
}

TEST_P(NetApps, HttpDownloadArrivesIntact)
{
    // 8 MiB of random bytes served by the peer, fetched through the driver.
    std::vector<char> blob(8u << 20);
    std::mt19937_64 random(42);
    for (auto& byte : blob)
        byte = static_cast<char>(random());
    auto served = m_dir.file("www");
    std::filesystem::create_directories(served);
    std::ofstream(served + "/blob", std::ios::binary).write(blob.data(), static_cast<std::streamsize>(blob.size()));
    auto server = m_peer->start({ "/usr/bin/python3", "-m", "http.server", "8080", "--bind", "10.79.0.2", "--directory", served });
    ASSERT_TRUE(server) << server.error().message();
    auto fetched = m_dir.file("fetched");
    auto status = run({ "curl", "-s", "-S", "--retry", "5", "--retry-connrefused", "--retry-delay", "1", "--max-time", "60", "-o", fetched,
        "http://10.79.0.2:8080/blob" });
    ASSERT_TRUE(status.success()) << "curl: " << status.describe();
    std::ifstream in(fetched, std::ios::binary);
    std::vector<char> got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_EQ(got.size(), blob.size());
    EXPECT_TRUE(got == blob) << "the download differs from what the peer served";
}

INSTANTIATE_TEST_SUITE_P(Modes, NetApps, ::testing::Values("native", "nooks"));

using NetRecovery = NetApps;

// Nooks mode: the driver crashes in its poll under a ping; the kernel lives,
// the driver is restarted, a new net device gets the interface back (same
// name and address), and ping works again. Nooks recovers the driver, not
// the application's view: pings sent meanwhile are lost.
TEST_P(NetRecovery, CrashInPollIsRecoveredAndTheInterfaceComesBack)
{
    auto links = Rtnetlink::open(*m_ns);
    ASSERT_TRUE(links) << links.error().message();
    auto before = links->link(m_namespace);
    ASSERT_TRUE(before) << before.error().message();
    auto armed = control({ { "command", "inject" }, { "driver", "nknet" }, { "fault", "null-deref" }, { "entry", "napi_poll" }, { "after", 5 } });
    ASSERT_TRUE(armed.value("ok", false)) << armed.dump();
    (void)run({ "ping", "-c", "10", "-i", "0.2", "-W", "1", "10.79.0.2" });
    auto restarted = test::wait_until(std::chrono::seconds(10), [&] {
        auto failures = control({ { "command", "failures" } });
        return !failures["failures"].empty() && failures["failures"][0].value("outcome", std::string()) == "restarted";
    });
    ASSERT_TRUE(restarted) << "the driver was not restarted: " << control({ { "command", "failures" } }).dump();
    EXPECT_EQ(control({ { "command", "failures" } })["failures"][0]["cause"], "crash");
    ASSERT_TRUE(wait_for_carrier()) << "nic0 did not come back";
    auto status = run({ "ping", "-c", "3", "-i", "0.2", "-W", "2", "10.79.0.2" });
    EXPECT_TRUE(status.success()) << "ping after recovery: " << status.describe();
    // A new device, so a new interface of the same name (what was set on the old one is gone).
    auto after = links->link(m_namespace);
    ASSERT_TRUE(after) << after.error().message();
    EXPECT_NE(after->ifindex, before->ifindex);
}

INSTANTIATE_TEST_SUITE_P(Nooks, NetRecovery, ::testing::Values("nooks"));

} // namespace
} // namespace nk
