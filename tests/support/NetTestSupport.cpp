// SPDX-License-Identifier: MIT
#include "support/NetTestSupport.h"

#include "base/net/NamespaceLock.h"
#include "base/net/NetNamespace.h"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace nk::test {

std::string missing_net_privileges()
{
    if (::geteuid() != 0)
        return "needs root (network namespaces, TAP interfaces, mounts in /run/netns); run the test suite as root";
    if (::access("/dev/net/tun", R_OK | W_OK) != 0)
        return "needs /dev/net/tun (modprobe tun)";
    if (!harness::have_program("ip"))
        return "needs ip (iproute2)";
    return {};
}

namespace {

// True if `pid` runs (a zombie, killed but not yet reaped, does not).
bool running(pid_t pid)
{
    if (::kill(pid, 0) != 0 && errno == ESRCH)
        return false;
    std::ifstream stat(fmt::format("/proc/{}/stat", pid));
    std::string line;
    std::getline(stat, line);
    auto close = line.rfind(')');
    return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

// Namespaces of test processes that were killed before their teardown ran
// ("nkt-PID-..." of a PID that is gone): NetNamespace::create finds them
// stale (their lock file is free) and replaces them; the replacement goes at
// once. A name without a lock file is not one of ours and is left alone.
void remove_namespaces_of_dead_tests()
{
    std::error_code error;
    for (auto const& entry : std::filesystem::directory_iterator(NetNamespace::directory, error)) {
        auto name = entry.path().filename().string();
        pid_t pid = 0;
        if (std::sscanf(name.c_str(), "nkt-%d-", &pid) != 1 || pid <= 0 || pid == ::getpid())
            continue;
        if (running(pid))
            continue;
        if (!std::filesystem::exists(NamespaceLock::path_of(name)))
            continue;
        if (auto replaced = NetNamespace::create(name); replaced)
            (void)replaced->remove();
    }
}

} // namespace

std::string unique_namespace_name(std::string_view suffix)
{
    static std::once_flag swept;
    if (::geteuid() == 0)
        std::call_once(swept, remove_namespaces_of_dead_tests);
    static std::atomic<unsigned> next { 0 };
    return fmt::format("nkt-{}-{}-{}", ::getpid(), next++, suffix);
}

harness::CommandResult ip(std::vector<std::string> const& args, bool check)
{
    std::vector<std::string> argv { "ip" };
    argv.insert(argv.end(), args.begin(), args.end());
    auto result = harness::run_command(argv, { .timeout = std::chrono::seconds(30) });
    if (!result) {
        ADD_FAILURE() << "ip: " << result.error().message();
        return {};
    }
    if (check && !result->ok())
        ADD_FAILURE() << fmt::format("ip {}: {}", fmt::join(args, " "), result->describe());
    return *result;
}

std::vector<std::string> ip_netns_list()
{
    std::vector<std::string> names;
    std::istringstream lines(ip({ "netns", "list" }).output);
    std::string line;
    while (std::getline(lines, line)) {
        // "name" or "name (id: 3)"
        if (auto space = line.find(' '); space != std::string::npos)
            line.resize(space);
        if (!line.empty())
            names.push_back(line);
    }
    return names;
}

bool mount_mentions(std::string_view needle)
{
    std::ifstream mountinfo("/proc/self/mountinfo");
    std::string line;
    while (std::getline(mountinfo, line)) {
        if (line.find(needle) != std::string::npos)
            return true;
    }
    return false;
}

ino_t net_namespace_inode(pid_t pid)
{
    struct stat st { };
    if (::stat(fmt::format("/proc/{}/ns/net", pid).c_str(), &st) != 0)
        return 0;
    return st.st_ino;
}

std::vector<pid_t> processes_in_namespace(ino_t inode)
{
    std::vector<pid_t> pids;
    std::error_code error;
    for (auto const& entry : std::filesystem::directory_iterator("/proc", error)) {
        auto name = entry.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos)
            continue;
        pid_t pid = std::stoi(name);
        if (net_namespace_inode(pid) == inode)
            pids.push_back(pid);
    }
    return pids;
}

ForeignNamespaceGuard::~ForeignNamespaceGuard()
{
    if (NetNamespace::exists(m_name))
        ip({ "netns", "delete", m_name }, false);
    std::error_code error;
    std::filesystem::remove(NamespaceLock::path_of(m_name), error);
}

std::string python3() { return ::access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3"; }

TestNic test_nic(std::string const& subnet)
{
    TestNic nic;
    nic.net_namespace = unique_namespace_name("apps");
    nic.peer_namespace = unique_namespace_name("peer");
    // At most 15 characters.
    static std::atomic<unsigned> counter { 0 };
    nic.interface = fmt::format("nk{}x{}", ::getpid() % 1000000, counter++ % 100);
    nic.set_args = { "--set", "nic0.namespace=" + nic.net_namespace, "--set", "nic0.interface=" + nic.interface, "--set",
        "nic0.peer_namespace=" + nic.peer_namespace, "--set", fmt::format("nic0.address={}.1/24", subnet), "--set",
        fmt::format("nic0.peers={0}.2/24,{0}.3/24", subnet) };
    return nic;
}

std::vector<std::string> TestNic::namespaces() const { return { net_namespace, peer_namespace + "0", peer_namespace + "1" }; }

} // namespace nk::test
