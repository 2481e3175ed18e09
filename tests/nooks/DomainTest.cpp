// SPDX-License-Identifier: MIT
// What a protection domain process is allowed: an unprivileged user (when the
// kernel is root), no_new_privs, two seccomp filters, only the descriptors it
// was handed, the kernel's memory read-only at the same addresses.

#include "nooks/domain/Pku.h"
#include "support/TestMachine.h"

#include <nktest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace nk {
namespace {

std::string status_field(int pid, std::string const& field)
{
    std::ifstream status(fmt::format("/proc/{}/status", pid));
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind(field + ":", 0) == 0) {
            auto value = line.substr(field.size() + 1);
            auto start = value.find_first_not_of(" \t");
            return start == std::string::npos ? std::string() : value.substr(start);
        }
    }
    return {};
}

class Domain : public ::testing::Test {
protected:
    void SetUp() override
    {
        machine = test::TestMachine::boot(dir, { .backend = test::Backend::Process });
        ASSERT_NE(machine, nullptr);
        pid = machine->isolated()->domain().pid();
    }
    test::TempDir dir;
    std::unique_ptr<test::TestMachine> machine;
    int pid { -1 };
};

// Confinement is in place before the driver runs, and stays.
TEST_F(Domain, Process_Confined)
{
    EXPECT_EQ(status_field(pid, "NoNewPrivs"), "1");
    EXPECT_EQ(status_field(pid, "Seccomp"), "2");
    EXPECT_EQ(status_field(pid, "Seccomp_filters"), "2");
    if (::geteuid() == 0) {
        // Real, effective, saved and filesystem uid are all unprivileged.
        EXPECT_EQ(status_field(pid, "Uid"), "65534\t65534\t65534\t65534");
        EXPECT_EQ(status_field(pid, "Groups"), "");
    }
}

// The CPUs each thread of `pid` may run on ("0", "0-1"...), by thread.
std::vector<std::string> allowed_cpus_of_threads(int pid)
{
    std::vector<std::string> allowed;
    for (auto const& task : std::filesystem::directory_iterator(fmt::format("/proc/{}/task", pid))) {
        std::ifstream status(task.path() / "status");
        std::string line;
        while (std::getline(status, line)) {
            if (line.rfind("Cpus_allowed_list:", 0) == 0)
                allowed.push_back(line.substr(line.find_first_not_of(" \t", 18)));
        }
    }
    return allowed;
}

// Pinned (the default), each worker may run on one CPU only; unpinned
// (isolation.pin_workers = false), every thread may run on any CPU the
// kernel may.
TEST_F(Domain, Workers_PinnedUnlessAskedNotTo)
{
    if (std::thread::hardware_concurrency() < 2)
        GTEST_SKIP() << "one CPU: pinned and unpinned look the same";
    auto pinned = allowed_cpus_of_threads(pid);
    auto single = std::ranges::count_if(pinned, [](std::string const& cpus) { return cpus.find_first_of("-,") == std::string::npos; });
    EXPECT_GE(single, 8) << "8 channels, 8 pinned workers: " << fmt::format("{}", fmt::join(pinned, " "));

    test::TempDir other;
    auto unpinned_machine = test::TestMachine::boot(other, { .backend = test::Backend::Process, .pin_workers = false });
    ASSERT_NE(unpinned_machine, nullptr);
    auto unpinned = allowed_cpus_of_threads(unpinned_machine->isolated()->domain().pid());
    auto mine = allowed_cpus_of_threads(::getpid()).front();
    for (auto const& cpus : unpinned)
        EXPECT_EQ(cpus, mine) << fmt::format("{}", fmt::join(unpinned, " "));
}

// The domain holds no descriptor beyond stdin/stdout/stderr: the shared memory
// is mapped, the driver file was consumed by the loader.
TEST_F(Domain, Descriptors_OnlyStandardOnes)
{
    std::vector<std::string> fds;
    for (auto const& entry : std::filesystem::directory_iterator(fmt::format("/proc/{}/fd", pid)))
        fds.push_back(entry.path().filename().string());
    std::ranges::sort(fds);
    EXPECT_EQ(fds, (std::vector<std::string> { "0", "1", "2" }));
}

// The kernel area is mapped read-only in the domain, the domain area read-write,
// both at the kernel's own addresses.
TEST_F(Domain, SharedMemory_SameAddressesRightPermissions)
{
    auto& memory = machine->isolated()->memory();
    std::ifstream maps(fmt::format("/proc/{}/maps", pid));
    std::string line;
    bool kernel_ro = false;
    bool domain_rw = false;
    while (std::getline(maps, line)) {
        std::istringstream fields(line);
        std::string range, permissions;
        fields >> range >> permissions;
        auto start = std::stoull(range.substr(0, range.find('-')), nullptr, 16);
        if (start == memory.kernel_area().address())
            kernel_ro = permissions.rfind("r--s", 0) == 0;
        if (start == memory.domain_area().address())
            domain_rw = permissions.rfind("rw-s", 0) == 0;
    }
    EXPECT_TRUE(kernel_ro);
    EXPECT_TRUE(domain_rw);
}

// The start-up probe for protection keys reports something definite.
TEST(Pku, Probe_Reports)
{
    auto support = probe_pku();
    EXPECT_FALSE(support.describe().empty());
    if (support.allocatable) {
        EXPECT_TRUE(support.cpu && support.os);
    }
}

} // namespace
} // namespace nk
