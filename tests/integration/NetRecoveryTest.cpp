// SPDX-License-Identifier: MIT
// Net driver faults. Nooks mode: every kind of fault, fired under traffic in
// the driver's receive poll or transmit path, is detected and recovered (the
// kernel lives, the tracker released everything, a new net device gets an
// interface of the same name and address, and ping works again); a NIC left
// dead is caught by the end-to-end receive check. Native mode: the same
// fault takes the kernel down. A driver gone quiet (no crash) is caught by
// the watchdog's receive stall and transmit timeout checks, each on its own.

#include "NetMachine.h"

#include "harness/KernelProcess.h"
#include "nooks/module/IsolatedModule.h"

#include <csignal>
#include <fstream>
#include <cstring>
#include <sys/mount.h>
#include <thread>

namespace nk {
namespace {

struct NetFault {
    char const* fault;
    char const* entry;
    char const* cause; // as `failures` reports it
};

class NetRecovery : public test::NetMachine, public ::testing::WithParamInterface<NetFault> {
protected:
    void SetUp() override { boot("nooks"); }
};

TEST_P(NetRecovery, FaultUnderTrafficIsRecoveredAndTheInterfaceComesBack)
{
    auto links = Rtnetlink::open(*m_ns);
    ASSERT_TRUE(links) << links.error().message();
    auto before = links->link(m_nic.interface);
    ASSERT_TRUE(before) << before.error().message();
    auto armed = control({ { "command", "inject" }, { "driver", "nknet" }, { "fault", GetParam().fault }, { "entry", GetParam().entry },
        { "after", 3 } });
    ASSERT_TRUE(armed.value("ok", false)) << armed.dump();
    // Traffic makes the driver run its poll and start_xmit; the fault fires under it.
    (void)run({ "ping", "-c", "10", "-i", "0.2", "-W", "1", peer_address(0) });
    auto restarted = test::wait_until(std::chrono::seconds(15), [&] {
        auto failures = control({ { "command", "failures" } });
        return !failures["failures"].empty() && failures["failures"][0].value("outcome", std::string()) == "restarted";
    });
    ASSERT_TRUE(restarted) << "the driver was not restarted: " << control({ { "command", "failures" } }).dump();
    auto failure = control({ { "command", "failures" } })["failures"][0];
    EXPECT_EQ(failure["cause"], GetParam().cause) << failure.dump();
    ASSERT_TRUE(wait_for_interface()) << "nic0 did not come back";
    auto status = run({ "ping", "-c", "3", "-i", "0.2", "-W", "2", peer_address(0) });
    EXPECT_TRUE(status.success()) << "ping after recovery: " << status.describe();
    // Nooks recovers the driver, not the application's view: a new device, so
    // a new interface of the same name, with the configured address again.
    auto after = links->link(m_nic.interface);
    ASSERT_TRUE(after) << after.error().message();
    EXPECT_NE(after->ifindex, before->ifindex);
    // Nothing of the failed instance is left: the new one holds only its own objects.
    auto module = m_system->driver_of("nic0");
    ASSERT_TRUE(module);
    auto* isolated = dynamic_cast<IsolatedModule*>(module.get());
    ASSERT_NE(isolated, nullptr);
    EXPECT_LT(isolated->tracker().count(), 64u);
}

INSTANTIATE_TEST_SUITE_P(Faults, NetRecovery,
    ::testing::Values(NetFault { "null-deref", "napi_poll", "crash" }, NetFault { "wild-write-kernel", "net_start_xmit", "crash" },
        NetFault { "panic", "napi_poll", "panic" }, NetFault { "hang", "napi_poll", "livelock" },
        NetFault { "bad-param", "net_start_xmit", "bad-parameter" }, NetFault { "forbidden-syscall", "napi_poll", "forbidden-syscall" }),
    [](auto const& info) {
        std::string name = std::string(info.param.fault) + "_in_" + info.param.entry;
        std::ranges::replace(name, '-', '_');
        return name;
    });

// A driver that goes quiet without crashing: one poll skipped (it returns
// without cleaning a ring or unmasking its interrupts, as a driver that lost
// track of its NIC would) leaves the NIC dead. Only the watchdog can tell,
// by what stops moving: the receive path (the NIC takes frames for us and the
// driver delivers none) or, with that check off, the transmit queue (the ring
// fills, the queue stops and nothing wakes it).
class NetWatchdog : public test::NetMachine {
protected:
    nlohmann::json recovered_failure()
    {
        auto restarted = test::wait_until(std::chrono::seconds(20), [&] {
            auto failures = control({ { "command", "failures" } });
            return !failures["failures"].empty() && failures["failures"][0].value("outcome", std::string()) == "restarted";
        });
        EXPECT_TRUE(restarted) << "the driver was not restarted: " << control({ { "command", "failures" } }).dump();
        auto failures = control({ { "command", "failures" } })["failures"];
        return failures.empty() ? nlohmann::json::object() : failures[0];
    }

    void expect_path_back()
    {
        ASSERT_TRUE(wait_for_interface()) << "nic0 did not come back";
        auto status = run({ "ping", "-c", "3", "-i", "0.2", "-W", "2", peer_address(0) });
        EXPECT_TRUE(status.success()) << "ping after recovery: " << status.describe();
    }
};

TEST_F(NetWatchdog, ReceiveStall_IsRecovered)
{
    boot("nooks", "tx_timeout_ms = 0\nrx_stall_ms = 800");
    auto armed = control({ { "command", "inject" }, { "driver", "nknet" }, { "fault", "skip-init" }, { "entry", "napi_poll" }, { "after", 2 } });
    ASSERT_TRUE(armed.value("ok", false)) << armed.dump();
    // The peer's replies keep arriving at the NIC after the skipped poll.
    (void)run({ "ping", "-c", "15", "-i", "0.2", "-W", "1", peer_address(0) });
    auto failure = recovered_failure();
    EXPECT_EQ(failure.value("cause", std::string()), "livelock") << failure.dump();
    EXPECT_NE(failure.value("message", std::string()).find("the driver delivered none"), std::string::npos) << failure.dump();
    expect_path_back();
}

TEST_F(NetWatchdog, TransmitTimeout_IsRecovered)
{
    boot("nooks", "tx_timeout_ms = 800\nrx_stall_ms = 0");
    // The peer's address resolved first: frames go out without waiting for an answer.
    ASSERT_TRUE(run({ "ping", "-c", "1", "-W", "2", peer_address(0) }).success());
    auto armed = control({ { "command", "inject" }, { "driver", "nknet" }, { "fault", "skip-init" }, { "entry", "napi_poll" }, { "after", 2 } });
    ASSERT_TRUE(armed.value("ok", false)) << armed.dump();
    // More frames than the transmit ring holds, none of them ever cleaned.
    (void)run({ "ping", "-c", "600", "-i", "0.002", "-W", "1", peer_address(0) });
    auto failure = recovered_failure();
    EXPECT_EQ(failure.value("cause", std::string()), "livelock") << failure.dump();
    EXPECT_NE(failure.value("message", std::string()).find("transmit queue"), std::string::npos) << failure.dump();
    expect_path_back();
}

// The restarted driver's new device is not blamed for frames the NIC took
// before it existed: here the failed device was promiscuous (the peers'
// traffic passed the NIC's filter), the new one is not, and nothing comes for
// it after the restart. A receive stall reported then would fail a healthy
// driver (it did, 3 s after every such recovery).
TEST_F(NetWatchdog, NewDevice_IsNotBlamedForTheFailedOnesFrames)
{
    boot("nooks", "rx_stall_ms = 800");
    ASSERT_TRUE(run({ "ip", "link", "set", m_nic.interface, "promisc", "on" }).success());
    auto peers_ping = [&] {
        auto ns = NetNamespace::open(peer(0).net_namespace().name());
        ASSERT_TRUE(ns);
        (void)NamespaceProcess::run(*ns, { "ping", "-c", "5", "-i", "0.1", "-W", "1", peer_address(1) });
    };
    peers_ping();
    auto armed = control({ { "command", "inject" }, { "driver", "nknet" }, { "fault", "null-deref" }, { "entry", "napi_poll" } });
    ASSERT_TRUE(armed.value("ok", false)) << armed.dump();
    peers_ping(); // the fault fires in the poll for these
    auto failure = recovered_failure();
    EXPECT_EQ(failure.value("cause", std::string()), "crash") << failure.dump();
    ASSERT_TRUE(wait_for_interface());
    std::this_thread::sleep_for(std::chrono::milliseconds(2000)); // more than the stall timeout, with nothing for us
    auto failures = control({ { "command", "failures" } })["failures"];
    EXPECT_EQ(failures.size(), 1u) << failures.dump();
}

// Native mode: the same driver fault is a kernel fault.
TEST(NetNativeCrash, FaultInPollTakesKernelDown)
{
    if (auto reason = test::missing_net_privileges(); !reason.empty())
        GTEST_SKIP() << reason;
    NK_REQUIRE_ROOT();
    test::TempDir dir { "nooks-net-native-crash" };
    auto nic = test::test_nic("10.80.0");
    std::vector<std::string> args { "--mode", "native", "--mount", dir.file("disks"), "--control", dir.file("control.sock"), "--set",
        "disk0.image=" + dir.file("disk0.img"), "--set", "disk0.size=16MiB", "--set", "nic0.link_delay_ms=100" };
    args.insert(args.end(), nic.set_args.begin(), nic.set_args.end());
    // The kernel dies: the namespaces its NIC made stay behind; they go with the test.
    std::vector<std::unique_ptr<test::ForeignNamespaceGuard>> leftovers;
    for (auto const& name : nic.namespaces())
        leftovers.push_back(std::make_unique<test::ForeignNamespaceGuard>(name));
    struct Unmount {
        std::string path;
        ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
    } unmount { dir.file("disks") };
    auto started = harness::KernelProcess::start({ .nooks_binary = harness::find_nooks_binary(), .args = args, .log_path = dir.file("kernel.log") });
    ASSERT_TRUE(started) << started.error().message();
    auto kernel = std::move(*started);
    auto armed = control_request(dir.file("control.sock"),
        { { "command", "inject" }, { "driver", "nknet" }, { "fault", "null-deref" }, { "entry", "napi_poll" } });
    ASSERT_TRUE(armed) << armed.error().message();
    ASSERT_TRUE((*armed)["ok"].get<bool>()) << armed->dump();
    auto ns = NetNamespace::open(nic.net_namespace);
    ASSERT_TRUE(ns) << ns.error().message();
    (void)NamespaceProcess::run(*ns, { "ping", "-c", "5", "-i", "0.2", "-W", "1", "10.80.0.2" }, std::chrono::seconds(20));
    ASSERT_TRUE(kernel->wait_exit(std::chrono::seconds(20))) << "the kernel survived a native driver fault";
    EXPECT_EQ(kernel->exit_description(), fmt::format("killed by signal {} ({})", SIGSEGV, strsignal(SIGSEGV)));
    // The dead kernel's FUSE mount goes with it (auto_unmount), not left for someone to find.
    auto mounted = [&] {
        std::ifstream mounts("/proc/mounts");
        std::string line;
        while (std::getline(mounts, line)) {
            if (line.find(" " + dir.file("disks") + " ") != std::string::npos)
                return true;
        }
        return false;
    };
    EXPECT_TRUE(test::wait_until(std::chrono::seconds(5), [&] { return !mounted(); })) << dir.file("disks") << " is still mounted";
}

} // namespace
} // namespace nk
