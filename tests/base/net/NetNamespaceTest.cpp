// SPDX-License-Identifier: MIT
// Named network namespaces as `ip netns` sees them: created, found, removed
// with nothing left; a name owned by a running nooks or made by someone else
// is refused (in this process or another); a namespace a dead or killed nooks
// left behind is cleaned and made anew;
// run_in() and NamespaceProcess run inside without moving the caller.

#include "base/ScopeGuard.h"
#include "base/net/NamespaceLock.h"
#include "base/net/NamespaceProcess.h"
#include "base/net/NetNamespace.h"
#include "support/NetTestSupport.h"
#include "support/TestSupport.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace nk {
namespace {

using namespace std::chrono_literals;

bool listed(std::string const& name)
{
    auto names = test::ip_netns_list();
    return std::find(names.begin(), names.end(), name) != names.end();
}

ino_t own_thread_namespace()
{
    struct stat st { };
    ::stat("/proc/thread-self/ns/net", &st);
    return st.st_ino;
}

TEST(NetNamespace, RefusesBadNames)
{
    for (std::string const& name : std::vector<std::string> { "", ".", "..", "a/b", "a b", "semi;colon", std::string(65, 'x') }) {
        auto checked = NetNamespace::check_name(name);
        ASSERT_FALSE(checked) << name;
        EXPECT_EQ(checked.error().code(), ErrorCode::InvalidArgument);
    }
    EXPECT_TRUE(NetNamespace::check_name("nooks-peer0"));
    EXPECT_TRUE(NetNamespace::check_name("a.b_c-9"));
}

TEST(NetNamespace, CreateListRemove)
{
    NK_REQUIRE_NET_ADMIN();
    auto name = test::unique_namespace_name("life");
    {
        auto ns = NK_ASSERT_OK(NetNamespace::create(name));
        EXPECT_TRUE(ns.owned());
        EXPECT_GE(ns.fd(), 0);
        EXPECT_TRUE(NetNamespace::exists(name));
        EXPECT_TRUE(listed(name));
        EXPECT_TRUE(test::mount_mentions(NetNamespace::path_of(name)));
        // iproute2 works in it: it has a loopback and nothing else.
        auto links = test::ip({ "-n", name, "-o", "link", "show" });
        EXPECT_NE(links.output.find("lo:"), std::string::npos) << links.output;
        // The lock records us.
        std::ifstream lock(NamespaceLock::path_of(name));
        pid_t recorded = 0;
        lock >> recorded;
        EXPECT_EQ(recorded, ::getpid());

        // A second handle on it does not own it.
        {
            auto other = NK_ASSERT_OK(NetNamespace::open(name));
            EXPECT_FALSE(other.owned());
        }
        EXPECT_TRUE(NetNamespace::exists(name));

        // Moving hands ownership over.
        NetNamespace moved = std::move(ns);
        EXPECT_TRUE(moved.owned());
        EXPECT_FALSE(ns.owned());
    }
    EXPECT_FALSE(NetNamespace::exists(name));
    EXPECT_FALSE(listed(name));
    EXPECT_FALSE(test::mount_mentions(NetNamespace::path_of(name)));
    EXPECT_FALSE(std::filesystem::exists(NamespaceLock::path_of(name)));
}

TEST(NetNamespace, RemoveIsExplicitAndIdempotent)
{
    NK_REQUIRE_NET_ADMIN();
    auto name = test::unique_namespace_name("rm");
    auto ns = NK_ASSERT_OK(NetNamespace::create(name));
    NK_ASSERT_OK(ns.remove());
    EXPECT_FALSE(NetNamespace::exists(name));
    EXPECT_FALSE(ns.owned());
    EXPECT_LT(ns.fd(), 0);
    NK_ASSERT_OK(ns.remove());
    auto ran = ns.run_in([] { });
    ASSERT_FALSE(ran);
    EXPECT_EQ(ran.error().code(), ErrorCode::FailedPrecondition);
}

TEST(NetNamespace, OpenOfNoneIsNotFound)
{
    NK_REQUIRE_NET_ADMIN();
    auto opened = NetNamespace::open(test::unique_namespace_name("none"));
    ASSERT_FALSE(opened);
    EXPECT_EQ(opened.error().code(), ErrorCode::NotFound);
}

TEST(NetNamespace, NameOfARunningOwnerIsInUse)
{
    NK_REQUIRE_NET_ADMIN();
    auto name = test::unique_namespace_name("busy");
    auto ns = NK_ASSERT_OK(NetNamespace::create(name));
    auto again = NetNamespace::create(name);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code(), ErrorCode::AlreadyExists);
    EXPECT_NE(again.error().message().find(fmt::format("in use by a running nooks (pid {})", ::getpid())), std::string::npos)
        << again.error().message();
    // The refused attempt took nothing from the owner.
    EXPECT_TRUE(NetNamespace::exists(name));
    EXPECT_TRUE(std::filesystem::exists(NamespaceLock::path_of(name)));
}

TEST(NetNamespace, LeavesANamespaceItDidNotCreateAlone)
{
    NK_REQUIRE_NET_ADMIN();
    auto name = test::unique_namespace_name("foreign");
    test::ForeignNamespaceGuard guard(name);
    test::ip({ "netns", "add", name });
    auto created = NetNamespace::create(name);
    ASSERT_FALSE(created);
    EXPECT_EQ(created.error().code(), ErrorCode::AlreadyExists);
    EXPECT_NE(created.error().message().find("nooks did not create it"), std::string::npos) << created.error().message();
    EXPECT_TRUE(NetNamespace::exists(name));
    EXPECT_FALSE(std::filesystem::exists(NamespaceLock::path_of(name)));
}

TEST(NetNamespace, ReplacesAStaleNamespace)
{
    NK_REQUIRE_NET_ADMIN();
    auto name = test::unique_namespace_name("stale");
    test::ForeignNamespaceGuard guard(name);
    // What a nooks killed while it owned `name` leaves: the namespace, with an
    // interface and a process in it, and its lock file, unlocked, with its pid.
    test::ip({ "netns", "add", name });
    test::ip({ "-n", name, "tuntap", "add", "dev", "left0", "mode", "tap" });
    ASSERT_TRUE(test::ip({ "-n", name, "link", "show", "left0" }).ok());
    std::filesystem::create_directories(NamespaceLock::directory);
    std::ofstream(NamespaceLock::path_of(name)) << "999999999\n";
    auto leftover = NK_ASSERT_OK(NamespaceProcess::start(NK_ASSERT_OK(NetNamespace::open(name)), { "sleep", "600" }));
    ino_t old_inode = test::net_namespace_inode(leftover.pid());
    ASSERT_NE(old_inode, 0u);

    auto fresh = NK_ASSERT_OK(NetNamespace::create(name));
    EXPECT_TRUE(fresh.owned());
    // The leftover process was killed, the interface went with the old namespace.
    auto status = leftover.wait_for(5s);
    EXPECT_TRUE(status.exited);
    EXPECT_EQ(status.signal, SIGKILL) << status.describe();
    EXPECT_TRUE(test::processes_in_namespace(old_inode).empty());
    auto links = test::ip({ "-n", name, "-o", "link", "show" });
    EXPECT_EQ(links.output.find("left0"), std::string::npos) << links.output;
    EXPECT_NE(links.output.find("lo:"), std::string::npos) << links.output;
    std::ifstream lock(NamespaceLock::path_of(name));
    pid_t recorded = 0;
    lock >> recorded;
    EXPECT_EQ(recorded, ::getpid());
}

// Another process (forked: a second nooks) creates `name` and holds it until
// it is killed. Returns its pid, or -1 (the test has failed then).
pid_t owner_process(std::string const& name)
{
    int ready[2];
    if (::pipe2(ready, O_CLOEXEC) != 0)
        return -1;
    pid_t pid = ::fork();
    if (pid == 0) {
        ::close(ready[0]);
        auto ns = NetNamespace::create(name);
        char created = ns ? 1 : 0;
        (void)!::write(ready[1], &created, 1);
        if (!ns)
            ::_exit(1);
        for (;;)
            ::pause();
    }
    ::close(ready[1]);
    char created = 0;
    bool told = pid > 0 && ::read(ready[0], &created, 1) == 1;
    ::close(ready[0]);
    if (pid > 0 && !(told && created)) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        ADD_FAILURE() << "the owner process could not create " << name;
        return -1;
    }
    return pid;
}

TEST(NetNamespace, AnotherLiveOwnerIsRefusedAndAKilledOnesNamespaceIsReplaced)
{
    NK_REQUIRE_NET_ADMIN();
    auto name = test::unique_namespace_name("owner");
    test::ForeignNamespaceGuard guard(name);
    pid_t owner = owner_process(name);
    ASSERT_GT(owner, 0);
    auto reap = ScopeGuard([&] {
        if (owner > 0) {
            ::kill(owner, SIGKILL);
            ::waitpid(owner, nullptr, 0);
        }
    });
    // The namespace file is the owner's namespace (nsfs), bind-mounted.
    struct stat mounted { };
    ASSERT_EQ(::stat(NetNamespace::path_of(name).c_str(), &mounted), 0);

    // While it runs, the name is its own.
    auto refused = NetNamespace::create(name);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code(), ErrorCode::AlreadyExists);
    EXPECT_NE(refused.error().message().find(fmt::format("network namespace {} is in use by a running nooks (pid {})", name, owner)),
        std::string::npos)
        << refused.error().message();
    EXPECT_TRUE(NetNamespace::exists(name));

    // Killed, it cannot clean up: its namespace stays mounted, its lock file stays, unlocked.
    ::kill(owner, SIGKILL);
    ASSERT_EQ(::waitpid(owner, nullptr, 0), owner);
    owner = 0;
    EXPECT_TRUE(listed(name));
    EXPECT_TRUE(std::filesystem::exists(NamespaceLock::path_of(name)));

    // The next create finds it stale and makes a new namespace in its place.
    auto fresh = NK_ASSERT_OK(NetNamespace::create(name));
    EXPECT_TRUE(fresh.owned());
    struct stat now { };
    ASSERT_EQ(::fstat(fresh.fd(), &now), 0);
    EXPECT_NE(now.st_ino, mounted.st_ino);
    EXPECT_TRUE(listed(name));
    NK_ASSERT_OK(fresh.remove());
    EXPECT_FALSE(listed(name));
    EXPECT_FALSE(std::filesystem::exists(NamespaceLock::path_of(name)));
}

TEST(NetNamespace, RunInEntersOnlyAHelperThread)
{
    NK_REQUIRE_NET_ADMIN();
    auto ns = NK_ASSERT_OK(NetNamespace::create(test::unique_namespace_name("run")));
    ino_t before = own_thread_namespace();
    ino_t inside = 0;
    NK_ASSERT_OK(ns.run_in([&] { inside = own_thread_namespace(); }));
    struct stat st { };
    ASSERT_EQ(::fstat(ns.fd(), &st), 0);
    EXPECT_EQ(inside, st.st_ino);
    EXPECT_NE(inside, before);
    EXPECT_EQ(own_thread_namespace(), before);

    auto value = ns.call_in([] { return 42; });
    ASSERT_TRUE(value);
    EXPECT_EQ(*value, 42);
    auto failed = ns.call_in([]() -> Result<int> { return make_error(ErrorCode::NotFound, "from inside"); });
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().message(), "from inside");
}

TEST(NamespaceProcess, RunsInsideWithItsOwnSys)
{
    NK_REQUIRE_NET_ADMIN();
    auto ns = NK_ASSERT_OK(NetNamespace::create(test::unique_namespace_name("exec")));
    struct stat st { };
    ASSERT_EQ(::fstat(ns.fd(), &st), 0);
    // Its network namespace is ns, and /sys/class/net lists ns's interfaces (only lo).
    auto script = fmt::format("test \"$(stat -L -c %i /proc/self/ns/net)\" = {} && test \"$(ls /sys/class/net)\" = lo", st.st_ino);
    auto status = NK_ASSERT_OK(NamespaceProcess::run(ns, { "sh", "-c", script }));
    EXPECT_TRUE(status.success()) << status.describe();

    auto failing = NK_ASSERT_OK(NamespaceProcess::run(ns, { "sh", "-c", "exit 7" }));
    EXPECT_EQ(failing.code, 7);
    EXPECT_EQ(failing.describe(), "exit status 7");

    auto missing = NamespaceProcess::start(ns, { "no-such-program-nooks" });
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code(), ErrorCode::NotFound);
    EXPECT_NE(missing.error().message().find("no-such-program-nooks"), std::string::npos) << missing.error().message();

    auto too_slow = NamespaceProcess::run(ns, { "sleep", "600" }, 100ms);
    ASSERT_FALSE(too_slow);
    EXPECT_EQ(too_slow.error().code(), ErrorCode::DeadlineExceeded);
}

TEST(NamespaceProcess, StopEndsTheWholeGroup)
{
    NK_REQUIRE_NET_ADMIN();
    auto ns = NK_ASSERT_OK(NetNamespace::create(test::unique_namespace_name("stop")));
    // A shell that ignores SIGTERM, with a child: SIGKILL after the grace ends both.
    auto process = NK_ASSERT_OK(NamespaceProcess::start(ns, { "sh", "-c", "trap '' TERM; sleep 600 & wait" }));
    EXPECT_TRUE(test::wait_until(5s, [&] { return ns.pids().size() >= 2; }));
    EXPECT_TRUE(process.running());
    auto status = process.stop(200ms);
    EXPECT_TRUE(status.exited);
    EXPECT_EQ(status.signal, SIGKILL) << status.describe();
    EXPECT_TRUE(test::wait_until(5s, [&] { return ns.pids().empty(); }));
}

} // namespace
} // namespace nk
