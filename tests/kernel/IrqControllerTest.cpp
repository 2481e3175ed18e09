// SPDX-License-Identifier: MIT
#include "kernel/irq/IrqController.h"

#include "KernelTestSupport.h"
#include "kernel/exec/Context.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <functional>
#include <thread>

namespace nk {
namespace {

using test::Event;
using test::eventually;

// An action that counts its calls and runs an optional body.
class TestAction final : public IrqAction {
public:
    using Body = std::function<nk_irqreturn_t(uint32_t irq)>;

    TestAction(Module& owner, std::string name, void* dev_id, std::atomic<int>& calls, Body body = {})
        : IrqAction(owner, std::move(name), dev_id)
        , m_calls(calls)
        , m_body(std::move(body))
    {
    }

    nk_irqreturn_t handle(uint32_t irq) override
    {
        m_calls.fetch_add(1);
        return m_body ? m_body(irq) : NK_IRQ_HANDLED;
    }

private:
    std::atomic<int>& m_calls;
    Body m_body;
};

class IrqControllerTest : public ::testing::Test {
protected:
    void SetUp() override { m_irq = m_irqs.allocate_line("test:0"); }

    std::unique_ptr<TestAction> action(TestAction::Body body = {}, std::string name = "test-handler")
    {
        return std::make_unique<TestAction>(m_modules.module(), std::move(name), &m_dev_id, m_calls, std::move(body));
    }

    IrqController::LineStats line_stats(uint32_t irq) const
    {
        for (auto const& line : m_irqs.stats()) {
            if (line.irq == irq)
                return line;
        }
        ADD_FAILURE() << "no line " << irq;
        return {};
    }

    test::ModuleHolder m_modules;
    int m_dev_id { 0 };
    std::atomic<int> m_calls { 0 };
    IrqController m_irqs;
    uint32_t m_irq { 0 };
};

// Lines are numbered from 1 and only allocated numbers are valid.
TEST_F(IrqControllerTest, AllocateLine_NumbersFromOne)
{
    EXPECT_EQ(m_irq, 1u);
    auto second = m_irqs.allocate_line("test:1");
    EXPECT_EQ(second, 2u);
    EXPECT_FALSE(m_irqs.is_valid(0));
    EXPECT_TRUE(m_irqs.is_valid(1));
    EXPECT_TRUE(m_irqs.is_valid(2));
    EXPECT_FALSE(m_irqs.is_valid(3));
    EXPECT_EQ(line_stats(second).device, "test:1");
}

// request installs the action; its name shows in the statistics.
TEST_F(IrqControllerTest, Request_InstallsAction)
{
    EXPECT_EQ(line_stats(m_irq).handler, "");
    ASSERT_TRUE(m_irqs.request(m_irq, action()).has_value());
    auto stats = line_stats(m_irq);
    EXPECT_EQ(stats.handler, "test-handler");
    EXPECT_EQ(stats.device, "test:0");
    EXPECT_EQ(stats.disable_depth, 0u);
}

// A second request on a busy line is AlreadyExists and leaves the first action in place.
TEST_F(IrqControllerTest, Request_BusyLineAlreadyExists)
{
    ASSERT_TRUE(m_irqs.request(m_irq, action()).has_value());
    auto second = m_irqs.request(m_irq, action({}, "intruder"));
    ASSERT_FALSE(second.has_value());
    EXPECT_EQ(second.error().code(), ErrorCode::AlreadyExists);
    EXPECT_EQ(line_stats(m_irq).handler, "test-handler");
}

// Every operation on a line that was never allocated is InvalidArgument.
TEST_F(IrqControllerTest, UnknownLine_InvalidArgument)
{
    for (uint32_t bad : { 0u, 2u, 1000u }) {
        auto request = m_irqs.request(bad, action());
        ASSERT_FALSE(request.has_value());
        EXPECT_EQ(request.error().code(), ErrorCode::InvalidArgument);
        auto freed = m_irqs.free(bad, &m_dev_id);
        ASSERT_FALSE(freed.has_value());
        EXPECT_EQ(freed.error().code(), ErrorCode::InvalidArgument);
        EXPECT_EQ(m_irqs.disable(bad, true).error().code(), ErrorCode::InvalidArgument);
        EXPECT_EQ(m_irqs.enable(bad).error().code(), ErrorCode::InvalidArgument);
        m_irqs.raise(bad); // ignored
    }
    EXPECT_EQ(line_stats(m_irq).raised, 0u);
}

// free returns the action for the matching dev_id and later raises reach nobody.
TEST_F(IrqControllerTest, Free_ReturnsActionAndStopsDelivery)
{
    ASSERT_TRUE(m_irqs.request(m_irq, action()).has_value());
    auto freed = m_irqs.free(m_irq, &m_dev_id);
    ASSERT_TRUE(freed.has_value()) << freed.error().message();
    ASSERT_NE(freed->get(), nullptr);
    EXPECT_EQ((*freed)->dev_id(), &m_dev_id);
    EXPECT_EQ(&(*freed)->owner(), &m_modules.module());
    EXPECT_EQ(line_stats(m_irq).handler, "");

    m_irqs.raise(m_irq);
    EXPECT_EQ(m_calls.load(), 0);
    auto stats = line_stats(m_irq);
    EXPECT_EQ(stats.raised, 1u);
    EXPECT_EQ(stats.unhandled, 1u);

    // The line can be requested again, enabled.
    ASSERT_TRUE(m_irqs.request(m_irq, action()).has_value());
    m_irqs.raise(m_irq);
    EXPECT_EQ(m_calls.load(), 1);
}

// free with another dev_id is NotFound and keeps the action installed.
TEST_F(IrqControllerTest, Free_WrongDevIdNotFound)
{
    ASSERT_TRUE(m_irqs.request(m_irq, action()).has_value());
    int other = 0;
    auto freed = m_irqs.free(m_irq, &other);
    ASSERT_FALSE(freed.has_value());
    EXPECT_EQ(freed.error().code(), ErrorCode::NotFound);
    m_irqs.raise(m_irq);
    EXPECT_EQ(m_calls.load(), 1);

    // Nothing to free on an empty line either.
    ASSERT_TRUE(m_irqs.free(m_irq, &m_dev_id).has_value());
    EXPECT_EQ(m_irqs.free(m_irq, &m_dev_id).error().code(), ErrorCode::NotFound);
}

// Outside any crossing, raise runs the handler on the calling thread before returning.
TEST_F(IrqControllerTest, Raise_OutsideCrossingDeliversSynchronously)
{
    uint32_t seen_irq = 0;
    std::thread::id seen_thread;
    ASSERT_TRUE(m_irqs.request(m_irq, action([&](uint32_t irq) {
        seen_irq = irq;
        seen_thread = std::this_thread::get_id();
        return NK_IRQ_HANDLED;
    })).has_value());
    m_irqs.raise(m_irq);
    EXPECT_EQ(m_calls.load(), 1);
    EXPECT_EQ(seen_irq, m_irq);
    EXPECT_EQ(seen_thread, std::this_thread::get_id());
}

// Inside a crossing, delivery waits until the outermost crossing returns.
TEST_F(IrqControllerTest, Raise_InsideCrossingDeferredUntilExit)
{
    ASSERT_TRUE(m_irqs.request(m_irq, action()).has_value());
    {
        CrossingScope outer(m_modules.module(), CrossingScope::Kind::Process);
        {
            CrossingScope inner(m_modules.module(), CrossingScope::Kind::Atomic);
            m_irqs.raise(m_irq);
            EXPECT_EQ(m_calls.load(), 0);
        }
        EXPECT_EQ(m_calls.load(), 0);
        EXPECT_EQ(line_stats(m_irq).raised, 1u);
    }
    EXPECT_EQ(m_calls.load(), 1);
    EXPECT_EQ(line_stats(m_irq).handled, 1u);
}

// A raise on a disabled line stays pending and enable delivers it once.
TEST_F(IrqControllerTest, Disable_KeepsRaisePendingUntilEnable)
{
    ASSERT_TRUE(m_irqs.request(m_irq, action()).has_value());
    ASSERT_TRUE(m_irqs.disable(m_irq, true).has_value());
    EXPECT_EQ(line_stats(m_irq).disable_depth, 1u);
    m_irqs.raise(m_irq);
    m_irqs.raise(m_irq);
    EXPECT_EQ(m_calls.load(), 0);
    EXPECT_EQ(line_stats(m_irq).raised, 2u);

    ASSERT_TRUE(m_irqs.enable(m_irq).has_value());
    EXPECT_EQ(m_calls.load(), 1);
    EXPECT_EQ(line_stats(m_irq).disable_depth, 0u);

    // Enabled again: raises go straight through.
    m_irqs.raise(m_irq);
    EXPECT_EQ(m_calls.load(), 2);
}

// Enabling a line with nothing pending delivers nothing.
TEST_F(IrqControllerTest, Enable_NothingPendingDeliversNothing)
{
    ASSERT_TRUE(m_irqs.request(m_irq, action()).has_value());
    ASSERT_TRUE(m_irqs.disable(m_irq, false).has_value());
    ASSERT_TRUE(m_irqs.enable(m_irq).has_value());
    EXPECT_EQ(m_calls.load(), 0);
}

// Disables nest: only the last enable delivers.
TEST_F(IrqControllerTest, Disable_Nests)
{
    ASSERT_TRUE(m_irqs.request(m_irq, action()).has_value());
    ASSERT_TRUE(m_irqs.disable(m_irq, true).has_value());
    ASSERT_TRUE(m_irqs.disable(m_irq, false).has_value());
    EXPECT_EQ(line_stats(m_irq).disable_depth, 2u);
    m_irqs.raise(m_irq);

    ASSERT_TRUE(m_irqs.enable(m_irq).has_value());
    EXPECT_EQ(m_calls.load(), 0);
    EXPECT_EQ(line_stats(m_irq).disable_depth, 1u);
    ASSERT_TRUE(m_irqs.enable(m_irq).has_value());
    EXPECT_EQ(m_calls.load(), 1);
}

// Enable without a matching disable is refused and changes nothing.
TEST_F(IrqControllerTest, Enable_UnbalancedIsFailedPrecondition)
{
    ASSERT_TRUE(m_irqs.request(m_irq, action()).has_value());
    auto enabled = m_irqs.enable(m_irq);
    ASSERT_FALSE(enabled.has_value());
    EXPECT_EQ(enabled.error().code(), ErrorCode::FailedPrecondition);
    EXPECT_EQ(line_stats(m_irq).disable_depth, 0u);
    m_irqs.raise(m_irq);
    EXPECT_EQ(m_calls.load(), 1);
}

// An enable inside a crossing delivers the pending raise when the crossing returns.
TEST_F(IrqControllerTest, Enable_InsideCrossingDeliversOnExit)
{
    ASSERT_TRUE(m_irqs.request(m_irq, action()).has_value());
    ASSERT_TRUE(m_irqs.disable(m_irq, true).has_value());
    m_irqs.raise(m_irq);
    {
        CrossingScope scope(m_modules.module(), CrossingScope::Kind::Process);
        ASSERT_TRUE(m_irqs.enable(m_irq).has_value());
        EXPECT_EQ(m_calls.load(), 0);
    }
    EXPECT_EQ(m_calls.load(), 1);
}

// Raises that arrive while the handler runs make it run exactly once more, not nested.
TEST_F(IrqControllerTest, Raise_WhileRunningRunsOnceMore)
{
    int depth = 0;
    int max_depth = 0;
    ASSERT_TRUE(m_irqs.request(m_irq, action([&](uint32_t irq) {
        ++depth;
        max_depth = std::max(max_depth, depth);
        if (m_calls.load() == 1) {
            m_irqs.raise(irq);
            m_irqs.raise(irq);
        }
        --depth;
        return NK_IRQ_HANDLED;
    })).has_value());
    m_irqs.raise(m_irq);
    EXPECT_EQ(m_calls.load(), 2);
    EXPECT_EQ(max_depth, 1);
    auto stats = line_stats(m_irq);
    EXPECT_EQ(stats.raised, 3u);
    EXPECT_EQ(stats.handled, 2u);
}

// A handler that disables its own line without waiting defers the raise it triggers.
TEST_F(IrqControllerTest, Raise_WhileRunningAndDisabledWaitsForEnable)
{
    ASSERT_TRUE(m_irqs.request(m_irq, action([&](uint32_t irq) {
        if (m_calls.load() == 1) {
            EXPECT_TRUE(m_irqs.disable(irq, false).has_value());
            m_irqs.raise(irq);
        }
        return NK_IRQ_HANDLED;
    })).has_value());
    m_irqs.raise(m_irq);
    EXPECT_EQ(m_calls.load(), 1);
    ASSERT_TRUE(m_irqs.enable(m_irq).has_value());
    EXPECT_EQ(m_calls.load(), 2);
}

// Statistics count raises, handled and unhandled calls per line.
TEST_F(IrqControllerTest, Stats_CountOutcomes)
{
    m_irqs.raise(m_irq); // no handler yet
    ASSERT_TRUE(m_irqs.request(m_irq, action([&](uint32_t) {
        return m_calls.load() % 2 == 1 ? NK_IRQ_HANDLED : NK_IRQ_NONE;
    })).has_value());
    for (int i = 0; i < 5; ++i)
        m_irqs.raise(m_irq);
    auto stats = line_stats(m_irq);
    EXPECT_EQ(stats.raised, 6u);
    EXPECT_EQ(stats.handled, 3u);
    EXPECT_EQ(stats.unhandled, 3u); // 1 without handler + 2 NK_IRQ_NONE
    EXPECT_EQ(stats.irq, m_irq);

    auto other = m_irqs.allocate_line("test:1");
    auto all = m_irqs.stats();
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(line_stats(other).raised, 0u);
}

// free waits for a handler running on another thread before returning the action.
TEST_F(IrqControllerTest, Free_WaitsForRunningHandler)
{
    Event entered;
    Event release;
    std::atomic<bool> freed { false };
    std::atomic<bool> freed_while_running { false };
    ASSERT_TRUE(m_irqs.request(m_irq, action([&](uint32_t) {
        entered.set();
        EXPECT_TRUE(release.wait());
        freed_while_running = freed.load();
        return NK_IRQ_HANDLED;
    })).has_value());

    std::thread raiser([&] { m_irqs.raise(m_irq); });
    EXPECT_TRUE(entered.wait());
    std::thread freer([&] {
        EXPECT_TRUE(m_irqs.free(m_irq, &m_dev_id).has_value());
        freed = true;
    });
    // free masks the line before it waits; once the mask shows, it is waiting.
    EXPECT_TRUE(eventually([&] { return line_stats(m_irq).disable_depth == 1; }));
    EXPECT_FALSE(freed.load());

    release.set();
    raiser.join();
    freer.join();
    EXPECT_TRUE(freed.load());
    EXPECT_FALSE(freed_while_running.load());
    EXPECT_EQ(line_stats(m_irq).handler, "");
}

// disable with wait returns only after a running handler finished.
TEST_F(IrqControllerTest, Disable_WaitsForRunningHandler)
{
    Event entered;
    Event release;
    std::atomic<bool> disabled { false };
    std::atomic<bool> disabled_while_running { false };
    ASSERT_TRUE(m_irqs.request(m_irq, action([&](uint32_t) {
        entered.set();
        EXPECT_TRUE(release.wait());
        disabled_while_running = disabled.load();
        return NK_IRQ_HANDLED;
    })).has_value());

    std::thread raiser([&] { m_irqs.raise(m_irq); });
    EXPECT_TRUE(entered.wait());
    std::thread disabler([&] {
        EXPECT_TRUE(m_irqs.disable(m_irq, true).has_value());
        disabled = true;
    });
    EXPECT_TRUE(eventually([&] { return line_stats(m_irq).disable_depth == 1; }));
    EXPECT_FALSE(disabled.load());

    release.set();
    raiser.join();
    disabler.join();
    EXPECT_TRUE(disabled.load());
    EXPECT_FALSE(disabled_while_running.load());
    ASSERT_TRUE(m_irqs.enable(m_irq).has_value());
}

// A handler that waits for a way into its driver until it is withdrawn (an
// isolated driver whose channels are all busy, one of them with the thread
// that frees or disables the line).
class WaitingAction final : public IrqAction {
public:
    WaitingAction(Module& owner, void* dev_id)
        : IrqAction(owner, "waiting", dev_id)
    {
    }
    nk_irqreturn_t handle(uint32_t) override
    {
        std::unique_lock lock(mutex);
        ++calls;
        entered = true;
        changed.notify_all();
        // Bounded: a controller that never withdraws fails the test, not the run.
        bool gave_up = changed.wait_for(lock, test::wait_bound, [&] { return withdrawn > 0; });
        EXPECT_TRUE(gave_up) << "the handler was never withdrawn";
        entered = false;
        return NK_IRQ_NONE;
    }
    void withdraw() override
    {
        std::scoped_lock lock(mutex);
        ++withdrawn;
        changed.notify_all();
    }
    void readmit() override
    {
        std::scoped_lock lock(mutex);
        --withdrawn;
    }
    bool wait_entered()
    {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, test::wait_bound, [&] { return entered; });
    }

    std::mutex mutex;
    std::condition_variable changed;
    int calls { 0 };
    int withdrawn { 0 };
    bool entered { false };
};

// free_irq withdraws a handler still on its way in: it gives up, and free
// returns instead of waiting for it forever.
TEST_F(IrqControllerTest, Free_WithdrawsAHandlerOnItsWayIn)
{
    auto owned = std::make_unique<WaitingAction>(m_modules.module(), &m_dev_id);
    auto* waiting = owned.get();
    ASSERT_TRUE(m_irqs.request(m_irq, std::move(owned)).has_value());
    std::thread raiser([&] { m_irqs.raise(m_irq); });
    ASSERT_TRUE(waiting->wait_entered());
    auto freed = m_irqs.free(m_irq, &m_dev_id);
    raiser.join();
    ASSERT_TRUE(freed.has_value());
    EXPECT_EQ(freed->get(), waiting);
    EXPECT_EQ(waiting->withdrawn, 1);
}

// A waiting disable_irq withdraws it too, and readmits it after; the
// interrupt it gave up on is delivered when the line is enabled again.
TEST_F(IrqControllerTest, Disable_WithdrawsAndKeepsTheInterruptPending)
{
    auto owned = std::make_unique<WaitingAction>(m_modules.module(), &m_dev_id);
    auto* waiting = owned.get();
    ASSERT_TRUE(m_irqs.request(m_irq, std::move(owned)).has_value());
    std::thread raiser([&] { m_irqs.raise(m_irq); });
    ASSERT_TRUE(waiting->wait_entered());
    ASSERT_TRUE(m_irqs.disable(m_irq, true).has_value());
    raiser.join();
    EXPECT_EQ(waiting->withdrawn, 0); // readmitted
    EXPECT_EQ(waiting->calls, 1);
    // Enabled again: the withdrawn interrupt comes once more; let it through.
    {
        std::scoped_lock lock(waiting->mutex);
        waiting->withdrawn = 1;
    }
    ASSERT_TRUE(m_irqs.enable(m_irq).has_value());
    EXPECT_EQ(waiting->calls, 2);
    EXPECT_TRUE(m_irqs.free(m_irq, &m_dev_id).has_value());
}

} // namespace
} // namespace nk
