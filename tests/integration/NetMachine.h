// SPDX-License-Identifier: MIT
#pragma once

// The fixture of the network integration tests: boots, in this process, a
// machine with no disk and one NIC (nknet on an NKNIC, two peer hosts on its
// wire, the TAP interface in a namespace of the test's own), waits for the
// interface to be up with carrier, and runs programs in the applications'
// namespace. Skips without root, /dev/net/tun or the programs. Teardown shuts
// the machine down and checks that none of its namespaces is left.

#include "base/net/NamespaceProcess.h"
#include "base/net/NetNamespace.h"
#include "base/net/Rtnetlink.h"
#include "classes/net/NetLayer.h"
#include "control/ControlServer.h"
#include "devices/nic/NicDevice.h"
#include "devices/nic/PeerHost.h"
#include "devices/nic/Wire.h"
#include "harness/Command.h"
#include "support/NetTestSupport.h"
#include "support/TestSupport.h"
#include "system/System.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include <unistd.h>

namespace nk::test {

inline std::string sha256_of(std::string const& path)
{
    auto result = harness::run_command({ "sha256sum", path });
    if (!result || !result->ok())
        return "sha256sum failed";
    return result->output.substr(0, result->output.find(' '));
}

// Writes `mib` MiB of seeded random bytes to `path` (what a transfer test sends).
inline void write_random_file(std::string const& path, int mib, uint64_t seed)
{
    std::vector<uint64_t> chunk(1u << 17); // 1 MiB
    std::mt19937_64 random(seed);
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < mib; ++i) {
        for (auto& word : chunk)
            word = random();
        out.write(reinterpret_cast<char const*>(chunk.data()), static_cast<std::streamsize>(chunk.size() * sizeof(uint64_t)));
    }
}

class NetMachine : public ::testing::Test {
protected:
    static constexpr char const* subnet = "10.79.0";

    // `extra`: top-level keys added to the machine's configuration.
    void boot(std::string const& mode, std::string const& extra = "")
    {
        if (auto reason = missing_net_privileges(); !reason.empty())
            GTEST_SKIP() << reason;
        if (::access("/usr/bin/curl", X_OK) != 0 || ::access("/usr/bin/python3", X_OK) != 0 || ::access("/usr/bin/ping", X_OK) != 0)
            GTEST_SKIP() << "needs curl, python3 and ping (scripts/install-deps.sh installs them)";
        m_nic = test_nic(subnet);
        auto toml = fmt::format("mode = \"{}\"\nmount = \"{}\"\ncontrol = \"{}\"\n{}\ndisk = []\n"
                                "[[nic]]\nname = \"nic0\"\nnamespace = \"{}\"\ninterface = \"{}\"\naddress = \"{}.1/24\"\n"
                                "peers = \"{}.2/24,{}.3/24\"\npeer_namespace = \"{}\"\nlink_delay_ms = 100\n",
            mode, m_dir.file("disks"), m_dir.file("control.sock"), extra, m_nic.net_namespace, m_nic.interface, subnet, subnet, subnet,
            m_nic.peer_namespace);
        auto config = machine_config(toml);
        config.isolation.agent = m_agent_socket; // none unless the test runs one
        auto booted = System::boot(config);
        ASSERT_TRUE(booted) << booted.error().message();
        m_system = std::move(*booted);
        auto* nic = m_system->hardware<NicDevice>("nic0");
        ASSERT_NE(nic, nullptr);
        ASSERT_NE(nic->wire(), nullptr);
        ASSERT_EQ(nic->wire()->peers().size(), 2u);
        m_peers = nic->wire()->peers();
        auto ns = NetNamespace::open(m_nic.net_namespace);
        ASSERT_TRUE(ns) << ns.error().message();
        m_ns.emplace(std::move(*ns));
        ASSERT_TRUE(wait_for_interface()) << "nic0 never came up with carrier";
    }

    void TearDown() override
    {
        m_ns.reset();
        if (m_system)
            m_system->shutdown();
        m_system.reset();
        if (!m_nic.net_namespace.empty()) {
            for (auto const& name : m_nic.namespaces())
                EXPECT_FALSE(NetNamespace::exists(name)) << name << " was left behind";
        }
    }

    std::shared_ptr<NetDevice> net_device() const
    {
        auto* net = m_system->kernel().driver_class<NetLayer>();
        return net != nullptr ? net->find("nic0") : nullptr;
    }

    // Up, with carrier, and its interface made.
    bool wait_for_interface()
    {
        return wait_until(std::chrono::seconds(10), [&] {
            auto device = net_device();
            return device && device->up() && device->carrier() && !m_system->endpoint("nic0").empty();
        });
    }

    PeerHost& peer(size_t index) const { return *m_peers.at(index); }
    std::string peer_address(size_t index) const { return fmt::format("{}.{}", subnet, index + 2); }

    // Runs a program in the applications' namespace and waits for it.
    ExitStatus run(std::vector<std::string> const& argv, std::chrono::seconds timeout = std::chrono::seconds(120))
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

    // Starts sshd on peer 0 with keys of the test's own; returns the ssh
    // options that log in to it as root (empty, after a failed assertion, if
    // it could not). Skips without sshd, ssh and ssh-keygen.
    std::string start_sshd()
    {
        if (::access("/usr/sbin/sshd", X_OK) != 0 || ::access("/usr/bin/ssh", X_OK) != 0)
            return {};
        auto keys = m_dir.file("ssh");
        std::filesystem::create_directories(keys);
        std::filesystem::create_directories("/run/sshd"); // sshd's privilege separation directory
        if (std::system(fmt::format("ssh-keygen -q -t ed25519 -N '' -f {0}/host && ssh-keygen -q -t ed25519 -N '' -f {0}/user "
                                    "&& cp {0}/user.pub {0}/authorized_keys",
                            keys)
                            .c_str())
            != 0) {
            ADD_FAILURE() << "ssh-keygen failed";
            return {};
        }
        std::ofstream(keys + "/sshd_config") << fmt::format(
            "ListenAddress {}\nHostKey {}/host\nPermitRootLogin prohibit-password\nAuthorizedKeysFile {}/authorized_keys\n"
            "StrictModes no\nUsePAM no\nPidFile {}/sshd.pid\nSubsystem sftp internal-sftp\n"
            // A session whose client died with a failed test ends within seconds, not left behind.
            "ClientAliveInterval 1\nClientAliveCountMax 3\n",
            peer_address(0), keys, keys, keys);
        auto server = peer(0).start({ "/usr/sbin/sshd", "-D", "-e", "-f", keys + "/sshd_config" });
        if (!server) {
            ADD_FAILURE() << server.error().message();
            return {};
        }
        return fmt::format("-i {}/user -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o ConnectTimeout=5", keys);
    }

    TempDir m_dir;
    std::string m_agent_socket; // set before boot() to use a `nooks agent`
    TestNic m_nic;
    std::unique_ptr<System> m_system;
    std::vector<PeerHost*> m_peers;
    std::optional<NetNamespace> m_ns;
};

} // namespace nk::test
