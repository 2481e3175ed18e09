// SPDX-License-Identifier: MIT
#pragma once

// Helpers of the host networking tests (namespaces, TAPs, rtnetlink, peer
// hosts): the privilege check they skip on, names no other test (or test
// process) uses, and what they look at to see that nothing was left behind.

#include "harness/Command.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace nk::test {

// Why a network test cannot run here (not root, no /dev/net/tun, no `ip`), or empty.
std::string missing_net_privileges();

#define NK_REQUIRE_NET_ADMIN()                                                           \
    do {                                                                                 \
        if (auto reason = ::nk::test::missing_net_privileges(); !reason.empty())         \
            GTEST_SKIP() << reason;                                                      \
    } while (0)

// "nkt-<pid>-<n>-<suffix>": unique per process and call, a valid namespace
// name. The first call (as root) also removes the namespaces that test
// processes killed before their teardown left behind.
std::string unique_namespace_name(std::string_view suffix);

// Runs `ip ARGS...`; fails the test (not fatally) if it does not succeed when `check`.
harness::CommandResult ip(std::vector<std::string> const& args, bool check = true);

// The names `ip netns list` shows.
std::vector<std::string> ip_netns_list();
// True if any mount point of this process's mount namespace has `needle` in its path.
bool mount_mentions(std::string_view needle);
// The nsfs inode of a process's network namespace, 0 if unreadable.
ino_t net_namespace_inode(pid_t pid);
// Processes whose network namespace has nsfs inode `inode`.
std::vector<pid_t> processes_in_namespace(ino_t inode);

// Removes what a test made with `ip netns add` and a lock file it wrote, on
// every way out of the test.
class ForeignNamespaceGuard {
public:
    explicit ForeignNamespaceGuard(std::string name)
        : m_name(std::move(name))
    {
    }
    ~ForeignNamespaceGuard();
    ForeignNamespaceGuard(ForeignNamespaceGuard const&) = delete;
    ForeignNamespaceGuard& operator=(ForeignNamespaceGuard const&) = delete;

private:
    std::string m_name;
};

// Names of the test's own for the default machine's NIC (nic0): the
// applications' namespace, the interface, the peers' namespaces, and the
// `--set` arguments that give them to a `nooks run` under test (so it never
// takes the names a real one uses). `subnet` is the first three octets.
struct TestNic {
    std::string net_namespace;
    std::string interface;
    std::string peer_namespace; // peer i: peer_namespace + i
    std::vector<std::string> set_args;
    // Every namespace the NIC's machine makes (the applications' and two peers').
    std::vector<std::string> namespaces() const;
};
TestNic test_nic(std::string const& subnet = "10.78.0");

// The python3 Debian installs (/usr/bin/python3), else the one in PATH.
std::string python3();

} // namespace nk::test
