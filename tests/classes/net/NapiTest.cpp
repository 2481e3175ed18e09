// SPDX-License-Identifier: MIT
// NAPI semantics against a scripted poll: a schedule runs one poll after the
// scheduling crossing returns, a full budget polls again, a schedule missed
// while the poll completes polls again (no frame waits for an interrupt that
// will not come), disabled contexts never poll, and disable waits for a
// running poll.

#include "classes/net/NetLayer.h"
#include "kernel/Kernel.h"
#include "kernel/bus/BusDevice.h"
#include "kernel/exec/Context.h"
#include "kernel/KernelTestSupport.h"
#include "support/TestSupport.h"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <thread>

namespace nk {
namespace {

using namespace std::chrono_literals;

using test::TestModule;

class NullPort final : public NetDriverPort {
public:
    Result<int> open(NetDevice&) override { return 0; }
    Result<int> stop(NetDevice&) override { return 0; }
    Result<size_t> start_xmit_batch(NetDevice&, std::span<Frame const* const> frames, std::span<int>) override { return frames.size(); }
    Result<void> set_rx_mode(NetDevice&, nk_net_rx_mode const&) override { return {}; }
    Result<int> set_mac_address(NetDevice&, EthernetAddress const&) override { return 0; }
    Result<int> change_mtu(NetDevice&, uint32_t) override { return 0; }
    void tx_timed_out(NetDevice&, uint64_t) override { }
};

// Each poll runs `body(napi, budget)` and returns what it returns.
class ScriptedPoller final : public NapiPoller {
public:
    using Body = std::function<Result<int>(Napi&, int)>;
    explicit ScriptedPoller(Body body)
        : m_body(std::move(body))
    {
    }
    Result<int> poll(Napi& napi, int budget) override
    {
        polls++;
        return m_body(napi, budget);
    }
    std::atomic<int> polls { 0 };

private:
    Body m_body;
};

class NapiTest : public ::testing::Test {
protected:
    NetDevice device { 1, "nic0", NetDeviceConfig {}, module, nullptr, std::make_unique<NullPort>(), nullptr, 16 };

    Napi& add(ScriptedPoller::Body body, int weight = 4)
    {
        auto owned = std::make_unique<ScriptedPoller>(std::move(body));
        poller = owned.get();
        return device.add_napi(std::move(owned), weight);
    }

    // Schedules as an interrupt handler would: inside a crossing, so the poll
    // runs when the crossing returns.
    void interrupt(Napi& napi)
    {
        CrossingScope crossing(module, CrossingScope::Kind::Atomic);
        napi.schedule();
        EXPECT_EQ(poller->polls.load(), polls_before_interrupt) << "the poll ran inside the handler";
    }

    std::unique_ptr<Kernel> kernel { Kernel::create({}).value() };
    TestModule module { *kernel };
    ScriptedPoller* poller { nullptr };
    int polls_before_interrupt { 0 };
};

TEST_F(NapiTest, Schedule_PollsOnceAfterTheCrossing)
{
    auto& napi = add([](Napi& n, int) -> Result<int> {
        EXPECT_TRUE(n.complete_done(1));
        return 1;
    });
    napi.enable();
    interrupt(napi);
    EXPECT_EQ(poller->polls.load(), 1);
    EXPECT_EQ(napi.stats().schedules, 1u);
}

TEST_F(NapiTest, Disabled_NeverPolls)
{
    auto& napi = add([](Napi&, int) -> Result<int> { return 0; });
    interrupt(napi);
    EXPECT_EQ(poller->polls.load(), 0);
}

// A poll that uses its whole budget is called again until it does not.
TEST_F(NapiTest, FullBudget_PollsAgain)
{
    int backlog = 10;
    auto& napi = add([&](Napi& n, int budget) -> Result<int> {
        int work = std::min(backlog, budget);
        backlog -= work;
        if (work < budget)
            n.complete_done(work);
        return work;
    });
    napi.enable();
    interrupt(napi);
    EXPECT_EQ(backlog, 0);
    EXPECT_EQ(poller->polls.load(), 3); // 4 + 4 + 2
    EXPECT_EQ(napi.stats().work, 10u);
}

// Reproducer: a flood that keeps the poll at its budget for more than 256
// polls in a row. The context yields and is polled again; it used to be
// completed on the driver's behalf, with the driver's interrupts still
// masked, so the NIC was never polled again (a transmit queue stuck stopped).
TEST_F(NapiTest, LongFlood_YieldsButKeepsPolling)
{
    int backlog = 4 * 1000; // 1000 full polls of 4
    auto& napi = add([&](Napi& n, int budget) -> Result<int> {
        int work = std::min(backlog, budget);
        backlog -= work;
        if (work < budget)
            n.complete_done(work);
        return work;
    });
    napi.enable();
    interrupt(napi);
    EXPECT_EQ(backlog, 0) << "the poll stopped with frames waiting";
    EXPECT_EQ(poller->polls.load(), 1001);
    EXPECT_GE(napi.stats().yields, 3u);
}

// Race reproducer shape: a frame arrives (schedule) while the poll is between
// its last look at the ring and its completion. The completion reports "do not
// unmask", and the poll runs once more.
TEST_F(NapiTest, ScheduleWhilePolling_PollsOnceMore)
{
    Napi* self = nullptr;
    auto& napi = add([&](Napi& n, int) -> Result<int> {
        if (poller->polls.load() == 1) {
            std::thread other([&] { self->schedule(); }); // an interrupt on another CPU
            other.join();
            EXPECT_FALSE(n.complete_done(0)) << "completed although a schedule was missed";
        } else {
            EXPECT_TRUE(n.complete_done(0));
        }
        return 0;
    });
    self = &napi;
    napi.enable();
    interrupt(napi);
    EXPECT_EQ(poller->polls.load(), 2);
}

// A schedule after the poll completed (but before it returned) polls again too.
TEST_F(NapiTest, ScheduleAfterCompletion_PollsAgain)
{
    auto& napi = add([&](Napi& n, int) -> Result<int> {
        EXPECT_TRUE(n.complete_done(0));
        if (poller->polls.load() == 1) {
            std::thread other([&] { n.schedule(); });
            other.join();
        }
        return 0;
    });
    napi.enable();
    interrupt(napi);
    EXPECT_EQ(poller->polls.load(), 2);
}

// A poll that forgets nk_napi_complete_done under budget is completed for it
// (else it would never be scheduled again).
TEST_F(NapiTest, ForgottenCompletion_CompletedAnyway)
{
    auto& napi = add([](Napi&, int) -> Result<int> { return 0; });
    napi.enable();
    interrupt(napi);
    EXPECT_EQ(poller->polls.load(), 1);
    polls_before_interrupt = 1;
    interrupt(napi);
    EXPECT_EQ(poller->polls.load(), 2);
}

// A driver that fails in its poll ends the polling; the context is not stuck.
TEST_F(NapiTest, FailedPoll_Ends)
{
    auto& napi = add([](Napi&, int) -> Result<int> { return make_error(ErrorCode::DriverFailed, "gone"); });
    napi.enable();
    interrupt(napi);
    EXPECT_EQ(poller->polls.load(), 1);
}

// disable() waits for a running poll, and none starts after it.
TEST_F(NapiTest, Disable_WaitsForRunningPoll)
{
    test::Event entered;
    test::Event release;
    auto& napi = add([&](Napi& n, int) -> Result<int> {
        entered.set();
        EXPECT_TRUE(release.wait(10s));
        n.complete_done(0);
        return 0;
    });
    napi.enable();
    std::thread irq([&] {
        CrossingScope crossing(module, CrossingScope::Kind::Atomic);
        napi.schedule();
    });
    ASSERT_TRUE(entered.wait(10s));
    std::atomic<bool> disabled { false };
    std::thread disabler([&] {
        napi.disable();
        disabled = true;
    });
    std::this_thread::sleep_for(20ms); // a disable that did not wait would be done by now
    EXPECT_FALSE(disabled.load());
    release.set();
    irq.join();
    disabler.join();
    EXPECT_TRUE(disabled.load());
    polls_before_interrupt = 1;
    interrupt(napi);
    EXPECT_EQ(poller->polls.load(), 1);
}

// A driver that adds its context at open and deletes it at stop keeps one
// context, however often it goes down and up: a deleted context is taken
// again by the next add, with the new poll function and weight.
TEST_F(NapiTest, DeleteThenAdd_TakesTheContextAgain)
{
    auto& first = add([](Napi&, int) -> Result<int> { return 0; });
    first.enable();
    device.del_napi(first);
    int second_polls = 0;
    auto& second = add(
        [&](Napi& n, int budget) -> Result<int> {
            ++second_polls;
            EXPECT_EQ(budget, 8);
            n.complete_done(0);
            return 0;
        },
        8);
    EXPECT_EQ(&second, &first);
    EXPECT_EQ(second.weight(), 8);
    // Taken again disabled, with its counts from zero; the new poll function runs.
    EXPECT_EQ(second.describe().rfind("napi disabled,", 0), 0u) << second.describe();
    second.enable();
    interrupt(second);
    EXPECT_EQ(second_polls, 1);
    EXPECT_EQ(second.stats().polls, 1u);
    // A context in use is not taken: a second add makes a second context.
    auto& third = add([](Napi&, int) -> Result<int> { return 0; });
    EXPECT_NE(&third, &second);
}

// A failed driver's context is abandoned (disabled, no wait for a poll that
// may be running into the dead driver): its device's next driver takes it.
TEST_F(NapiTest, Abandoned_TakenByTheNextDriver)
{
    auto& first = add([](Napi&, int) -> Result<int> { return 0; });
    first.enable();
    first.abandon();
    interrupt(first); // disabled: no poll
    EXPECT_EQ(first.stats().polls, 0u);
    auto& second = add([](Napi& n, int) -> Result<int> {
        n.complete_done(0);
        return 0;
    });
    EXPECT_EQ(&second, &first);
    second.enable();
    interrupt(second);
    EXPECT_EQ(second.stats().polls, 1u);
}

} // namespace
} // namespace nk
