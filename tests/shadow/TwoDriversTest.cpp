// SPDX-License-Identifier: MIT
// Two disks, each with a driver instance of its own (nkdisk@disk0,
// nkdisk@disk1): independent failures and recoveries. Both crash at once; the
// policy gives one up and restarts the other, or holds one back for a while:
// the other's disk is served again at once, its data intact, and a give-up
// touches only the given-up driver's disk.

#include "ShadowFixture.h"
#include "base/Clock.h"
#include "control/ControlServer.h"
#include "inject/Injector.h"
#include "kernel/native/NativeModule.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <map>

namespace nk {
namespace {

using namespace std::chrono_literals;
using test::pattern;

// A stand-in for the user-mode agent that answers by driver (anything else:
// restart). The answer for one driver can be held until the test releases
// it: that driver's recovery waits at its policy stage for exactly as long as
// the test needs, whatever the machine's speed.
class PolicyByDriver {
public:
    PolicyByDriver(std::string path, std::map<std::string, nlohmann::json> answers)
        : m_answers(std::move(answers))
    {
        auto server = ControlServer::listen(std::move(path));
        EXPECT_TRUE(server) << server.error().message();
        m_server = std::move(*server);
        m_server->add("failure", [this](nlohmann::json const& request) -> Result<nlohmann::json> {
            auto driver = request.value("driver", std::string());
            {
                std::unique_lock lock(m_mutex);
                if (driver == m_held) {
                    m_waiting = true;
                    m_changed.notify_all();
                    m_changed.wait_for(lock, 60s, [&] { return m_held.empty(); });
                }
            }
            if (auto it = m_answers.find(driver); it != m_answers.end())
                return it->second;
            return nlohmann::json { { "action", "restart" }, { "reason", "default" } };
        });
        m_server->start();
    }
    ~PolicyByDriver()
    {
        release();
        m_server->stop();
    }

    void hold(std::string driver)
    {
        std::scoped_lock lock(m_mutex);
        m_held = std::move(driver);
    }
    // True once the held driver's question is waiting for its answer.
    bool wait_held(std::chrono::milliseconds timeout)
    {
        std::unique_lock lock(m_mutex);
        return m_changed.wait_for(lock, timeout, [&] { return m_waiting; });
    }
    void release()
    {
        {
            std::scoped_lock lock(m_mutex);
            m_held.clear();
        }
        m_changed.notify_all();
    }

private:
    std::unique_ptr<ControlServer> m_server;
    std::map<std::string, nlohmann::json> m_answers;
    std::mutex m_mutex;
    std::condition_variable m_changed;
    std::string m_held;
    bool m_waiting { false };
};

// A port for a disk that must never be created.
class UnusedPort final : public BlockDriverPort {
public:
    Result<int> open(Disk&) override { return -EIO; }
    Result<void> release(Disk&) override { return {}; }
    Result<int> ioctl(Disk&, uint32_t, uint64_t) override { return -ENOTTY; }
    Result<size_t> queue_rqs(Disk&, std::span<BlockRequest* const> batch, std::span<int> statuses) override
    {
        std::ranges::fill(statuses.first(batch.size()), NK_BLK_STS_IOERR);
        return batch.size();
    }
};

class TwoDrivers : public ::testing::Test {
protected:
    void boot(Mode mode, std::string agent = {}, unsigned agent_timeout_ms = 2000)
    {
        auto config = test::machine_config(fmt::format("mode = \"{}\"\ncontrol = \"\"\nrequest_timeout_ms = 2000\n{}{}", mode_name(mode),
            test::disk_table(dir, "disk0", 16ull << 20), test::disk_table(dir, "disk1", 16ull << 20)));
        config.isolation.livelock_ms = 300;
        config.isolation.agent = std::move(agent);
        config.isolation.agent_timeout_ms = agent_timeout_ms;
        auto booted = System::boot(config, { .mount_frontends = false });
        ASSERT_TRUE(booted) << booted.error().message();
        system = std::move(*booted);
        for (auto const* name : { "disk0", "disk1" }) {
            disks[name] = test::find_disk(*system, name);
            ASSERT_NE(disks[name], nullptr) << name;
        }
    }

    DriverStatus status(std::string const& driver) { return system->recovery()->driver(driver).value_or(DriverStatus {}); }

    // Arms a crash at each driver's next request.
    void crash_both()
    {
        for (auto const* device : { "disk0", "disk1" }) {
            auto module = system->driver_of(device);
            ASSERT_NE(module, nullptr);
            auto* isolated = dynamic_cast<IsolatedModule*>(module.get());
            ASSERT_NE(isolated, nullptr);
            ASSERT_TRUE(isolated->inject(inject::arm_spec(inject::Fault::NullDeref, abi::DriverEntry::blk_queue_rq, 1, std::nullopt, false)));
        }
    }

    test::TempDir dir { "nooks-two" };
    std::unique_ptr<System> system;
    std::map<std::string, std::shared_ptr<Disk>> disks;
};

// Each device has a driver instance of its own, bound to it alone, and each
// disk keeps its own data.
TEST_F(TwoDrivers, EachDiskHasItsOwnDriverInstance)
{
    for (auto mode : { Mode::Native, Mode::Nooks }) {
        SCOPED_TRACE(mode_name(mode));
        system.reset();
        boot(mode);
        auto first = system->driver_of("disk0");
        auto second = system->driver_of("disk1");
        ASSERT_NE(first, nullptr);
        ASSERT_NE(second, nullptr);
        EXPECT_NE(first, second);
        EXPECT_EQ(first->name(), "nkdisk@disk0");
        EXPECT_EQ(second->name(), "nkdisk@disk1");
        EXPECT_EQ(&disks["disk0"]->owner(), first.get());
        EXPECT_EQ(&disks["disk1"]->owner(), second.get());
        EXPECT_EQ(system->device("disk1")->reserved_for(), "disk1");
        if (mode == Mode::Native) {
            // Two loaded copies of the driver file: each instance has its own data.
            auto* a = dynamic_cast<NativeModule*>(first.get());
            auto* b = dynamic_cast<NativeModule*>(second.get());
            ASSERT_TRUE(a != nullptr && b != nullptr);
            EXPECT_NE(a->descriptor(), b->descriptor());
        }
        ASSERT_TRUE(block_io::write(*disks["disk0"], 0, pattern(65536, 1), false));
        ASSERT_TRUE(block_io::write(*disks["disk1"], 0, pattern(65536, 2), false));
        std::vector<std::byte> back(65536);
        ASSERT_TRUE(block_io::read(*disks["disk0"], 0, back));
        EXPECT_EQ(back, pattern(65536, 1));
        ASSERT_TRUE(block_io::read(*disks["disk1"], 0, back));
        EXPECT_EQ(back, pattern(65536, 2));
    }
}

// Both drivers crash at once; the policy gives up on one and restarts the
// other. The restarted one serves its same disk with every write intact; the
// given-up one's disk (and only it) fails and goes.
TEST_F(TwoDrivers, BothCrash_OneGivenUp_OnlyItsDiskGoes)
{
    PolicyByDriver agent(dir.file("agent.sock"), { { "nkdisk@disk1", { { "action", "give-up" }, { "reason", "test policy" } } } });
    boot(Mode::Shadow, dir.file("agent.sock"));
    auto kept = disks["disk0"];
    crash_both();
    // One writer per disk, concurrently: both drivers meet their fault at once.
    Result<void> first = {};
    Result<void> second = {};
    std::thread a([&] { first = block_io::write(*disks["disk0"], 4096, pattern(1 << 20, 7), false); });
    std::thread b([&] { second = block_io::write(*disks["disk1"], 4096, pattern(1 << 20, 8), false); });
    a.join();
    b.join();
    EXPECT_TRUE(first) << first.error().message();
    EXPECT_FALSE(second) << "disk1's write succeeded although its driver was given up";
    ASSERT_TRUE(test::wait_until(10s, [&] { return status("nkdisk@disk1").state == DriverState::Disabled; }));
    ASSERT_TRUE(system->recovery()->wait_idle(10s));
    EXPECT_EQ(status("nkdisk@disk0").state, DriverState::Live);
    EXPECT_EQ(status("nkdisk@disk0").restarts, 1u);
    EXPECT_EQ(status("nkdisk@disk1").restarts, 0u);
    // disk0 is the same disk, served by the new instance, its data all there.
    EXPECT_EQ(test::find_disk(*system, "disk0"), kept);
    EXPECT_EQ(&kept->owner(), system->driver_of("disk0").get());
    std::vector<std::byte> back(1 << 20);
    ASSERT_TRUE(block_io::read(*kept, 4096, back));
    EXPECT_EQ(back, pattern(1 << 20, 7));
    EXPECT_EQ(kept->queue().stats().failed, 0u);
    // disk1 went with its driver.
    EXPECT_EQ(test::find_disk(*system, "disk1"), nullptr);
    auto shadowed = system->shadow<BlockShadow>()->disks();
    ASSERT_EQ(shadowed.size(), 1u);
    EXPECT_EQ(shadowed[0].name, "disk0");
}

// One driver's restart is held back at its policy; the other's recovery does
// not wait for it: its disk is served again while the first is still
// recovering, and no other driver may take the held one's kept disk meanwhile.
TEST_F(TwoDrivers, OneHeldBack_TheOtherIsBackMeanwhile)
{
    PolicyByDriver agent(dir.file("agent.sock"), { { "nkdisk@disk1", { { "action", "restart" }, { "reason", "test hold" } } } });
    agent.hold("nkdisk@disk1");
    boot(Mode::Shadow, dir.file("agent.sock"), 60'000);
    crash_both();
    Result<void> second = {};
    std::atomic<bool> second_done { false };
    std::thread b([&] {
        second = block_io::write(*disks["disk1"], 0, pattern(65536, 4), false);
        second_done = true;
    });
    // disk0's write goes through (its driver recovers at once) while disk1's
    // driver waits for its policy and its write waits in the shadow.
    auto first = block_io::write(*disks["disk0"], 0, pattern(65536, 3), false);
    EXPECT_TRUE(first) << first.error().message();
    EXPECT_TRUE(test::wait_until(10s, [&] { return status("nkdisk@disk0").state == DriverState::Live; }));
    EXPECT_TRUE(agent.wait_held(10s));
    auto const held_since = monotonic_ns();
    EXPECT_EQ(status("nkdisk@disk1").state, DriverState::Recovering);
    EXPECT_FALSE(second_done.load());
    // Another driver asking for the kept disk's name is refused: only disk1's
    // next instance, on its device, gets the disk and its waiting write.
    auto* block = system->kernel().driver_class<BlockLayer>();
    ASSERT_NE(block, nullptr);
    nk_blk_disk_params params { "disk1", 16ull << 20 >> 9, 512, 256, 32, 0 };
    auto taken = block->register_disk(*system->driver_of("disk0"), system->device("disk0"), params, std::make_unique<UnusedPort>(), nullptr);
    ASSERT_FALSE(taken) << "nkdisk@disk0 took disk1's kept disk";
    EXPECT_EQ(taken.error().code(), ErrorCode::AlreadyExists) << taken.error().message();
    auto const held_ns = monotonic_ns() - held_since;
    agent.release();
    b.join();
    EXPECT_TRUE(second) << second.error().message();
    ASSERT_TRUE(system->recovery()->wait_idle(10s));
    EXPECT_EQ(status("nkdisk@disk1").restarts, 1u);
    std::vector<std::byte> back(65536);
    ASSERT_TRUE(block_io::read(*disks["disk1"], 0, back));
    EXPECT_EQ(back, pattern(65536, 4));
    EXPECT_EQ(&disks["disk1"]->owner(), system->driver_of("disk1").get());
    // The held-back recovery's record says where it waited.
    auto history = system->recovery()->history();
    ASSERT_EQ(history.size(), 2u);
    EXPECT_EQ(history[0].failure.module, "nkdisk@disk0"); // finished first
    EXPECT_EQ(history[1].failure.module, "nkdisk@disk1");
    auto policy = std::ranges::find(history[1].stages, std::string("policy"), &StageTiming::stage);
    ASSERT_NE(policy, history[1].stages.end());
    EXPECT_GE(policy->duration_ns, held_ns);
    EXPECT_EQ(history[1].decided_by, "agent");
}

} // namespace
} // namespace nk
