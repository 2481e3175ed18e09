// SPDX-License-Identifier: MIT
// Recovery of the real nkdisk driver in nooks mode: every fault kind and
// trigger is detected, the driver is restarted in a fresh domain, nothing it
// held leaks, and the disk serves I/O again. Faults are armed the way an
// operator arms them (the control socket's inject command) on the unchanged
// production driver.

#include "classes/block/BlockIo.h"
#include "support/TestSupport.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <csignal>
#include <thread>

namespace nk {
namespace {

class Recovery : public ::testing::Test {
protected:
    void SetUp() override { boot(); }

    void boot(std::string agent = {})
    {
        auto config = test::machine_config(fmt::format("mode = \"nooks\"\ncontrol = \"{}\"\nrequest_timeout_ms = 1000\n{}", dir.file("control.sock"),
            test::disk_table(dir)));
        config.isolation.livelock_ms = 500;
        config.isolation.agent = std::move(agent);
        config.isolation.agent_timeout_ms = 2000;
        auto booted = System::boot(config, { .mount_frontends = false });
        ASSERT_TRUE(booted) << booted.error().message();
        system = std::move(*booted);
        module = current();
        ASSERT_NE(module, nullptr);
        objects_before = module->tracker().count();
    }

    IsolatedModule* current() { return system->recovery()->driver("nkdisk@disk0")->module; }
    std::shared_ptr<Disk> disk() { return test::find_disk(*system, "disk0"); }

    nlohmann::json control(nlohmann::json request)
    {
        return nlohmann::json::parse(system->control()->handle_line(request.dump()));
    }

    void inject(std::string const& fault, std::string const& entry = "blk_queue_rq", int after = 1)
    {
        auto reply = control({ { "command", "inject" }, { "driver", "nkdisk" }, { "fault", fault }, { "entry", entry }, { "after", after } });
        ASSERT_TRUE(reply["ok"].get<bool>()) << reply.dump();
    }

    // I/O through the block layer, as the FUSE frontend does it.
    Result<void> write_block(uint64_t sector, uint8_t value)
    {
        auto target = disk();
        if (!target)
            return make_error(ErrorCode::NotFound, "no disk0");
        std::vector<std::byte> data(4096, std::byte(value));
        return block_io::write(*target, sector * 512, data, false);
    }
    Result<uint8_t> read_block(uint64_t sector)
    {
        auto target = disk();
        if (!target)
            return make_error(ErrorCode::NotFound, "no disk0");
        std::vector<std::byte> data(4096);
        TRY(block_io::read(*target, sector * 512, data));
        return static_cast<uint8_t>(data[0]);
    }

    // Waits until the driver has been restarted `restarts` times and is live.
    void expect_recovered(unsigned restarts)
    {
        auto& recovery = *system->recovery();
        test::wait_until(std::chrono::seconds(10), [&] {
            auto status = recovery.driver("nkdisk@disk0");
            return status && status->restarts >= restarts && status->state == DriverState::Live && recovery.wait_idle(std::chrono::milliseconds(0));
        });
        auto status = recovery.driver("nkdisk@disk0");
        ASSERT_TRUE(status);
        ASSERT_EQ(status->restarts, restarts);
        ASSERT_EQ(status->state, DriverState::Live);
        auto* fresh = status->module;
        ASSERT_NE(fresh, nullptr);
        EXPECT_NE(fresh, module);
        // The new instance holds what the first one held, no more: nothing leaked.
        EXPECT_EQ(fresh->tracker().count(), objects_before);
        // Every object the failed one held was released.
        EXPECT_EQ(module->tracker().count(), 0u);
        EXPECT_TRUE(module->retired());
        // The disk serves new I/O, and what was written before the failure is still there.
        ASSERT_TRUE(write_block(64, 0x5a));
        auto back = read_block(64);
        ASSERT_TRUE(back) << back.error().message();
        EXPECT_EQ(*back, 0x5a);
        auto old = read_block(8);
        ASSERT_TRUE(old);
        EXPECT_EQ(*old, 0x11);
    }

    RecoveryRecord last_record()
    {
        auto history = system->recovery()->history();
        EXPECT_FALSE(history.empty());
        return history.empty() ? RecoveryRecord {} : history.back();
    }

    test::TempDir dir { "nooks-recovery" };
    std::unique_ptr<System> system;
    IsolatedModule* module { nullptr };
    size_t objects_before { 0 };
};

struct FaultCase {
    char const* fault;
    std::vector<FailureCause> causes; // any of these
};

class RecoveryFault : public Recovery, public ::testing::WithParamInterface<FaultCase> { };

// Every fault kind, armed on the next queue_rq: the I/O that hits it fails
// (nooks mode hides nothing), the driver comes back, the disk works.
TEST_P(RecoveryFault, FaultAtQueueRq_Recovered)
{
    ASSERT_TRUE(write_block(8, 0x11));
    inject(GetParam().fault);
    auto hit = write_block(16, 0x22);
    EXPECT_FALSE(hit) << "the write that met the fault succeeded";
    expect_recovered(1);
    auto record = last_record();
    EXPECT_NE(std::ranges::find(GetParam().causes, record.failure.cause), GetParam().causes.end())
        << failure_cause_name(record.failure.cause) << ": " << record.failure.message;
    EXPECT_NE(record.injected.find(GetParam().fault), std::string::npos) << record.injected;
    EXPECT_EQ(record.outcome, "restarted");
    std::vector<std::string> stages;
    for (auto const& stage : record.stages)
        stages.push_back(stage.stage);
    EXPECT_EQ(stages, (std::vector<std::string> { "disable-interrupts", "unwind", "reset-device", "release", "unload", "policy", "reload",
                          "reinit", "devices-back", "enable-interrupts" }));
    for (auto const& stage : record.stages)
        EXPECT_TRUE(stage.ok) << stage.stage << ": " << stage.note;
    EXPECT_GT(record.total_ns, 0u);
}

INSTANTIATE_TEST_SUITE_P(Kinds, RecoveryFault,
    ::testing::Values(FaultCase { "null-deref", { FailureCause::Signal } }, FaultCase { "wild-write-kernel", { FailureCause::Signal } },
        FaultCase { "wild-write-own", { FailureCause::Signal, FailureCause::Rejection, FailureCause::Livelock, FailureCause::Misuse } },
        FaultCase { "stack-corrupt", { FailureCause::Signal } }, FaultCase { "hang", { FailureCause::Livelock } },
        FaultCase { "forbidden-syscall", { FailureCause::ForbiddenSyscall } }, FaultCase { "bad-param", { FailureCause::Rejection } },
        FaultCase { "bad-param-freed", { FailureCause::Rejection } }, FaultCase { "bad-param-handle", { FailureCause::Rejection } },
        FaultCase { "double-free", { FailureCause::Misuse } }, FaultCase { "leak", { FailureCause::Resources } },
        FaultCase { "panic", { FailureCause::Panic } },
        // A queue_rq that "succeeds" without starting the request: a lost completion, found by the block watchdog.
        FaultCase { "skip-init", { FailureCause::Livelock } }),
    [](auto const& info) {
        std::string name = info.param.fault;
        std::ranges::replace(name, '-', '_');
        return name;
    });

// Triggers: the interrupt handler, an ioctl, and the third call of queue_rq.
TEST_F(Recovery, FaultInInterruptHandler_Recovered)
{
    ASSERT_TRUE(write_block(8, 0x11));
    inject("null-deref", "irq_handler");
    EXPECT_FALSE(write_block(16, 0x22));
    expect_recovered(1);
    EXPECT_EQ(last_record().failure.cause, FailureCause::Signal);
}

TEST_F(Recovery, FaultInIoctl_Recovered)
{
    ASSERT_TRUE(write_block(8, 0x11));
    inject("panic", "blk_ioctl");
    auto answer = disk()->ioctl(NK_BLK_IOCTL_GET_WRITE_CACHE, 0);
    EXPECT_FALSE(answer);
    expect_recovered(1);
    EXPECT_EQ(last_record().failure.cause, FailureCause::Panic);
}

TEST_F(Recovery, FaultOnThirdCall_FiresThen)
{
    ASSERT_TRUE(write_block(8, 0x11));
    inject("null-deref", "blk_queue_rq", 3);
    EXPECT_TRUE(write_block(24, 1));
    EXPECT_TRUE(write_block(32, 2));
    EXPECT_EQ(system->recovery()->driver("nkdisk@disk0")->restarts, 0u);
    EXPECT_FALSE(write_block(40, 3));
    expect_recovered(1);
}

// Initialization skipped in the next instance: it comes up without its disk,
// which the recovery manager notices and recovers again.
TEST_F(Recovery, SkipInitAtProbe_DetectedAndRecoveredAgain)
{
    ASSERT_TRUE(write_block(8, 0x11));
    inject("skip-init", "bus_probe");
    auto reply = control({ { "command", "restart" }, { "driver", "nkdisk" } });
    ASSERT_TRUE(reply["ok"].get<bool>()) << reply.dump();
    expect_recovered(2);
    auto history = system->recovery()->history();
    ASSERT_EQ(history.size(), 2u);
    EXPECT_EQ(history[0].failure.cause, FailureCause::Operator);
    EXPECT_NE(history[0].outcome.find("without registering disk0"), std::string::npos) << history[0].outcome;
    EXPECT_EQ(history[1].failure.cause, FailureCause::StartFailure);
    EXPECT_EQ(history[1].outcome, "restarted");
}

// Reproducer: a restarted instance that crashed in its init was queued for
// recovery and freed by its failed start; the recovery thread later took the
// freed instance off its queue. A crash during init is the start's failure
// (StartFailure, counted once), the instance is gone, and the next start
// brings the driver back.
TEST_F(Recovery, CrashInInit_IsAStartFailureAndRecoveredAgain)
{
    ASSERT_TRUE(write_block(8, 0x11));
    inject("null-deref", "module_init");
    auto reply = control({ { "command", "restart" }, { "driver", "nkdisk" } });
    ASSERT_TRUE(reply["ok"].get<bool>()) << reply.dump();
    ASSERT_TRUE(system->recovery()->wait_idle(std::chrono::seconds(10)));
    expect_recovered(1);
    auto history = system->recovery()->history();
    ASSERT_EQ(history.size(), 1u) << "the crashed start was recovered as a failure of its own";
    EXPECT_EQ(history[0].failure.cause, FailureCause::Operator);
    EXPECT_EQ(history[0].outcome, "restarted");
    // Two policy decisions: the operator's restart, then the start failure's.
    auto policies = std::ranges::count(history[0].stages, std::string("policy"), &StageTiming::stage);
    EXPECT_EQ(policies, 2);
    auto reinit = std::ranges::find_if(history[0].stages, [](auto const& stage) { return stage.stage == "reinit" && !stage.ok; });
    ASSERT_NE(reinit, history[0].stages.end());
    EXPECT_NE(reinit->note.find("crash"), std::string::npos) << "the start's error names its cause: " << reinit->note;
    EXPECT_EQ(system->recovery()->driver("nkdisk@disk0")->failures, 2u);
}

// The domain killed from outside (an OOM killer, an operator's kill -9).
TEST_F(Recovery, DomainKilled_Recovered)
{
    ASSERT_TRUE(write_block(8, 0x11));
    ASSERT_EQ(::kill(module->domain().pid(), SIGKILL), 0);
    expect_recovered(1);
    EXPECT_EQ(last_record().failure.cause, FailureCause::Exit);
}

// An operator's restart of a healthy driver.
TEST_F(Recovery, OperatorRestart_Recovered)
{
    ASSERT_TRUE(write_block(8, 0x11));
    auto reply = control({ { "command", "restart" }, { "driver", "nkdisk" } });
    ASSERT_TRUE(reply["ok"].get<bool>()) << reply.dump();
    expect_recovered(1);
    EXPECT_EQ(last_record().failure.cause, FailureCause::Operator);
    EXPECT_EQ(last_record().decided_by, "operator");
}

// Reproducer: `nooks ctl list` and `objects` polled while recovery retired the
// module read the retired instance's freed domain, and the kernel died of
// SIGSEGV. Queries during recovery now see a module that is alive or retired,
// never a half-torn one.
TEST_F(Recovery, ControlQueriesDuringRecovery_KernelSurvives)
{
    ASSERT_TRUE(write_block(8, 0x11));
    std::atomic<bool> stop { false };
    std::atomic<unsigned> answered { 0 };
    std::thread poller([&] {
        while (!stop.load()) {
            auto listed = control({ { "command", "list" } });
            auto objects = control({ { "command", "objects" }, { "driver", "nkdisk" } });
            if (listed["ok"].get<bool>() && objects.contains("ok"))
                answered.fetch_add(1);
        }
    });
    for (unsigned failure = 1; failure <= 4; ++failure) {
        auto* instance = current();
        EXPECT_NE(instance, nullptr);
        if (instance == nullptr)
            break;
        EXPECT_EQ(::kill(instance->domain().pid(), SIGKILL), 0);
        expect_recovered(failure);
        if (HasFatalFailure())
            break;
    }
    stop.store(true);
    poller.join();
    EXPECT_GT(answered.load(), 0u);
}

// Reproducer: a fault armed for the interrupt handler while I/O is in flight
// can fire before the inject call's own reply is back; the driver failing
// made that call return "driver has failed" although the fault was armed and
// recovery ran. The operator now gets the injection confirmed, with the
// failure that came meanwhile.
// The same load found a second race: requests held during the failure reached
// the new instance's queue_rq before its nk_blk_register_disk had returned,
// so the driver did not know the disk yet (NULL private data, a crash during
// probe). The kernel now holds a new disk's requests until the domain has the
// handle (blk_disk_ready).
TEST_F(Recovery, InjectRacingItsOwnFault_Confirmed)
{
    ASSERT_TRUE(write_block(8, 0x11));
    std::atomic<bool> stop { false };
    std::thread writer([&] {
        for (uint8_t i = 0; !stop.load(); ++i)
            (void)write_block(1024 + (i % 64) * 8, i); // away from the blocks expect_recovered checks
    });
    for (unsigned failure = 1; failure <= 5; ++failure) {
        auto reply = control({ { "command", "inject" }, { "driver", "nkdisk" }, { "fault", "panic" }, { "entry", "irq_handler" }, { "after", 1 } });
        EXPECT_TRUE(reply["ok"].get<bool>()) << reply.dump();
        expect_recovered(failure);
        if (HasFatalFailure())
            break;
    }
    stop.store(true);
    writer.join();
}

// Without an agent, the built-in policy gives up after 10 failures within a
// minute: the driver stays disabled, its disk is gone, I/O fails; an operator
// can start it again.
TEST_F(Recovery, BuiltinPolicy_GivesUpAfterTenThenOperatorRevives)
{
    ASSERT_TRUE(write_block(8, 0x11));
    for (unsigned failure = 1; failure <= 10; ++failure) {
        auto* instance = current();
        ASSERT_NE(instance, nullptr) << "failure " << failure;
        ASSERT_EQ(::kill(instance->domain().pid(), SIGKILL), 0);
        ASSERT_TRUE(system->recovery()->wait_idle(std::chrono::seconds(10)));
        test::wait_until(std::chrono::seconds(5), [&] { return system->recovery()->driver("nkdisk@disk0")->failures >= failure; });
        ASSERT_TRUE(system->recovery()->wait_idle(std::chrono::seconds(10)));
    }
    auto status = system->recovery()->driver("nkdisk@disk0");
    EXPECT_EQ(status->state, DriverState::Disabled);
    EXPECT_EQ(status->restarts, 9u);
    EXPECT_EQ(disk(), nullptr);
    EXPECT_FALSE(write_block(8, 0x33));
    EXPECT_EQ(last_record().outcome, "gave up: the driver stays disabled");
    auto listed = control({ { "command", "list" } });
    bool disabled_listed = false;
    for (auto const& entry : listed["modules"])
        disabled_listed = disabled_listed || (entry["name"] == "nkdisk@disk0" && entry["state"] == "disabled");
    EXPECT_TRUE(disabled_listed) << listed.dump();

    auto reply = control({ { "command", "restart" }, { "driver", "nkdisk" } });
    ASSERT_TRUE(reply["ok"].get<bool>()) << reply.dump();
    EXPECT_EQ(system->recovery()->driver("nkdisk@disk0")->state, DriverState::Live);
    auto back = read_block(8);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, 0x11);
}

// A stand-in for the user-mode agent: answers each failure with the next scripted decision.
class ScriptedAgent {
public:
    ScriptedAgent(std::string path, std::vector<nlohmann::json> answers)
        : m_answers(std::move(answers))
    {
        auto server = ControlServer::listen(std::move(path));
        EXPECT_TRUE(server) << server.error().message();
        m_server = std::move(*server);
        m_server->add("failure", [this](nlohmann::json const& request) -> Result<nlohmann::json> {
            std::scoped_lock lock(m_mutex);
            m_requests.push_back(request);
            if (m_answers.empty())
                return make_error(ErrorCode::Unavailable, "no more answers");
            auto answer = m_answers.front();
            m_answers.erase(m_answers.begin());
            return answer;
        });
        m_server->start();
    }
    std::vector<nlohmann::json> requests()
    {
        std::scoped_lock lock(m_mutex);
        return m_requests;
    }

private:
    std::unique_ptr<ControlServer> m_server;
    std::mutex m_mutex;
    std::vector<nlohmann::json> m_answers;
    std::vector<nlohmann::json> m_requests;
};

class RecoveryWithAgent : public Recovery {
protected:
    void SetUp() override { }
};

// The agent's backoff is applied (and reported apart from recovery time).
TEST_F(RecoveryWithAgent, Backoff_Delayed)
{
    ScriptedAgent agent(dir.file("agent.sock"), { { { "action", "restart" }, { "delay_ms", 300 }, { "reason", "backoff" } } });
    boot(dir.file("agent.sock"));
    ASSERT_TRUE(write_block(8, 0x11));
    ASSERT_EQ(::kill(module->domain().pid(), SIGKILL), 0);
    expect_recovered(1);
    auto record = last_record();
    EXPECT_EQ(record.decided_by, "agent");
    EXPECT_GE(record.backoff_ns, 300'000'000u);
    EXPECT_GE(record.total_ns, record.backoff_ns);
    auto requests = agent.requests();
    ASSERT_EQ(requests.size(), 1u);
    EXPECT_EQ(requests[0]["driver"], "nkdisk@disk0");
    EXPECT_EQ(requests[0]["class"], "block");
    EXPECT_EQ(requests[0]["cause"], "domain-exit");
}

// The agent gives up: the driver stays disabled.
TEST_F(RecoveryWithAgent, GiveUp_Disabled)
{
    ScriptedAgent agent(dir.file("agent.sock"), { { { "action", "give-up" }, { "reason", "policy" } } });
    boot(dir.file("agent.sock"));
    ASSERT_EQ(::kill(module->domain().pid(), SIGKILL), 0);
    test::wait_until(std::chrono::seconds(5), [&] { return system->recovery()->driver("nkdisk@disk0")->state == DriverState::Disabled; });
    EXPECT_EQ(system->recovery()->driver("nkdisk@disk0")->state, DriverState::Disabled);
    EXPECT_EQ(disk(), nullptr);
}

// The agent replaces the driver with another binary (here the test driver, which also provides disk0).
TEST_F(RecoveryWithAgent, Replace_OtherBinaryServes)
{
    ScriptedAgent agent(dir.file("agent.sock"),
        { { { "action", "replace" }, { "replacement", default_driver_directory() + "/nktest.so" }, { "reason", "swap" } } });
    boot(dir.file("agent.sock"));
    ASSERT_EQ(::kill(module->domain().pid(), SIGKILL), 0);
    test::wait_until(std::chrono::seconds(5), [&] { return system->recovery()->driver("nkdisk@disk0")->restarts >= 1; });
    ASSERT_TRUE(system->recovery()->wait_idle(std::chrono::seconds(10)));
    auto status = system->recovery()->driver("nkdisk@disk0");
    ASSERT_EQ(status->restarts, 1u);
    EXPECT_EQ(status->module->name(), "nktest@disk0");
    EXPECT_NE(status->path.find("nktest.so"), std::string::npos);
    ASSERT_NE(disk(), nullptr);
    EXPECT_EQ(&disk()->owner(), status->module);
    EXPECT_NE(last_record().outcome.find("replaced by"), std::string::npos);
}

// An agent that does not answer in time: the built-in policy applies.
TEST_F(RecoveryWithAgent, SilentAgent_BuiltinApplies)
{
    ScriptedAgent agent(dir.file("agent.sock"), {}); // answers every request with an error
    boot(dir.file("agent.sock"));
    ASSERT_TRUE(write_block(8, 0x11));
    ASSERT_EQ(::kill(module->domain().pid(), SIGKILL), 0);
    expect_recovered(1);
    EXPECT_NE(last_record().decided_by.find("built-in policy"), std::string::npos) << last_record().decided_by;
}

} // namespace
} // namespace nk
