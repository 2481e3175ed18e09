// SPDX-License-Identifier: MIT
#include "kernel/time/TimerService.h"

#include "KernelTestSupport.h"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <thread>

namespace nk {
namespace {

using test::Counter;
using test::Event;

// A timer callback that counts its firings and runs an optional body.
class TestCallback final : public TimerCallback {
public:
    explicit TestCallback(Counter& fired, std::function<void()> body = {})
        : m_fired(fired)
        , m_body(std::move(body))
    {
    }
    void fire() override
    {
        if (m_body)
            m_body();
        m_fired.increment();
    }

private:
    Counter& m_fired;
    std::function<void()> m_body;
};

class TimerServiceTest : public ::testing::Test {
protected:
    Module& module() { return m_modules.module(); }
    test::ModuleHolder m_modules;
};

// A timer armed once fires once, and is not pending afterwards.
TEST_F(TimerServiceTest, Mod_FiresOnce)
{
    Counter fired;
    Counter later_fired;
    TimerService timers;
    auto* timer = timers.create(module(), std::make_unique<TestCallback>(fired));
    auto* later = timers.create(module(), std::make_unique<TestCallback>(later_fired));
    EXPECT_EQ(timers.timer_count(), 2u);
    EXPECT_FALSE(timers.is_pending(*timer));

    EXPECT_FALSE(timers.mod(*timer, 1));
    EXPECT_TRUE(fired.wait_for_at_least(1));
    // Timers fire in expiry order: once a later one has fired, the first had every chance to repeat.
    timers.mod(*later, 20);
    EXPECT_TRUE(later_fired.wait_for_at_least(1));
    EXPECT_EQ(fired.value(), 1);
    EXPECT_FALSE(timers.is_pending(*timer));
    EXPECT_FALSE(timers.is_pending(*later));
}

// mod reports whether the timer was pending, and del_sync disarms it.
TEST_F(TimerServiceTest, Mod_ReturnsWasPending)
{
    Counter fired;
    TimerService timers;
    auto* timer = timers.create(module(), std::make_unique<TestCallback>(fired));
    EXPECT_FALSE(timers.mod(*timer, 60'000));
    EXPECT_TRUE(timers.is_pending(*timer));
    EXPECT_TRUE(timers.mod(*timer, 60'000));
    EXPECT_TRUE(timers.mod(*timer, 30'000));
    EXPECT_TRUE(timers.del_sync(*timer));
    EXPECT_FALSE(timers.is_pending(*timer));
    EXPECT_FALSE(timers.del_sync(*timer));
    EXPECT_EQ(fired.value(), 0);
}

// Re-arming a pending timer replaces its expiry (here: much earlier).
TEST_F(TimerServiceTest, Mod_RearmsPendingTimer)
{
    Counter fired;
    TimerService timers;
    auto* timer = timers.create(module(), std::make_unique<TestCallback>(fired));
    timers.mod(*timer, 600'000);
    EXPECT_TRUE(timers.mod(*timer, 1));
    EXPECT_TRUE(fired.wait_for_at_least(1));
    EXPECT_FALSE(timers.is_pending(*timer));

    // A timer that fired can be armed again.
    EXPECT_FALSE(timers.mod(*timer, 1));
    EXPECT_TRUE(fired.wait_for_at_least(2));
}

// A timer deleted before it expires never fires.
TEST_F(TimerServiceTest, DelSync_PreventsFiring)
{
    Counter victim_fired;
    Counter sentinel_fired;
    TimerService timers;
    auto* victim = timers.create(module(), std::make_unique<TestCallback>(victim_fired));
    auto* sentinel = timers.create(module(), std::make_unique<TestCallback>(sentinel_fired));
    timers.mod(*victim, 500);
    timers.mod(*sentinel, 600);
    EXPECT_TRUE(timers.del_sync(*victim));
    // The sentinel expires after the victim would have.
    EXPECT_TRUE(sentinel_fired.wait_for_at_least(1));
    EXPECT_EQ(victim_fired.value(), 0);
}

// del_sync waits for a callback that is running on the timer thread.
TEST_F(TimerServiceTest, DelSync_WaitsForRunningCallback)
{
    Event entered;
    Event release;
    Counter fired;
    std::atomic<bool> deleted { false };
    std::atomic<bool> deleted_while_running { false };
    TimerService timers;
    auto* timer = timers.create(module(), std::make_unique<TestCallback>(fired, [&] {
        entered.set();
        EXPECT_TRUE(release.wait());
        deleted_while_running = deleted.load();
    }));
    timers.mod(*timer, 0);
    ASSERT_TRUE(entered.wait());

    std::thread deleter([&] {
        EXPECT_FALSE(timers.del_sync(*timer)); // no longer pending: it is running
        deleted = true;
    });
    // Give del_sync a chance to block; the checks below hold however long this takes.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_FALSE(deleted.load());
    release.set();
    deleter.join();
    EXPECT_TRUE(deleted.load());
    EXPECT_FALSE(deleted_while_running.load());
    EXPECT_EQ(fired.value(), 1);
}

// del_sync leaves the timer disarmed even if the callback it waited for re-armed it
// (a self re-arming callback must not leave a pending timer for destroy() to free).
TEST_F(TimerServiceTest, DelSync_DisarmsTimerRearmedByRunningCallback)
{
    Event entered;
    Event release;
    Counter fired;
    Timer* self = nullptr;
    std::atomic<bool> deleted { false };
    TimerService timers;
    self = timers.create(module(), std::make_unique<TestCallback>(fired, [&] {
        if (fired.value() == 0) {
            entered.set();
            EXPECT_TRUE(release.wait());
            timers.mod(*self, 60'000); // a periodic timer re-arms itself
        }
    }));
    timers.mod(*self, 0);
    ASSERT_TRUE(entered.wait());
    std::thread deleter([&] {
        timers.del_sync(*self);
        deleted = true;
    });
    // Give del_sync a chance to block on the running callback.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_FALSE(deleted.load());
    release.set();
    deleter.join();
    EXPECT_FALSE(timers.is_pending(*self));
    EXPECT_EQ(fired.value(), 1);
}

// A callback may re-arm its own timer (periodic timers) and del_sync it without deadlock.
TEST_F(TimerServiceTest, Callback_MayModAndDelSyncItsOwnTimer)
{
    Counter fired;
    Timer* self = nullptr;
    std::atomic<bool> rearm_was_pending { true };
    std::atomic<bool> del_was_pending { true };
    TimerService timers;
    self = timers.create(module(), std::make_unique<TestCallback>(fired, [&] {
        if (fired.value() == 0) {
            rearm_was_pending = timers.mod(*self, 1);
        } else {
            del_was_pending = timers.del_sync(*self);
        }
    }));
    timers.mod(*self, 1);
    EXPECT_TRUE(fired.wait_for_at_least(2));
    EXPECT_FALSE(rearm_was_pending.load());
    EXPECT_FALSE(del_was_pending.load());
    EXPECT_FALSE(timers.is_pending(*self));
}

// destroy disarms and frees: a destroyed pending timer never fires.
TEST_F(TimerServiceTest, Destroy_DisarmsAndFrees)
{
    Counter victim_fired;
    Counter sentinel_fired;
    TimerService timers;
    auto* victim = timers.create(module(), std::make_unique<TestCallback>(victim_fired));
    auto* sentinel = timers.create(module(), std::make_unique<TestCallback>(sentinel_fired));
    EXPECT_EQ(timers.timer_count(), 2u);
    timers.mod(*victim, 500);
    timers.mod(*sentinel, 600);
    timers.destroy(*victim);
    EXPECT_EQ(timers.timer_count(), 1u);
    EXPECT_TRUE(sentinel_fired.wait_for_at_least(1));
    EXPECT_EQ(victim_fired.value(), 0);
    timers.destroy(*sentinel);
    EXPECT_EQ(timers.timer_count(), 0u);
}

// destroy waits for the running callback before freeing it.
TEST_F(TimerServiceTest, Destroy_WaitsForRunningCallback)
{
    Event entered;
    Event release;
    Counter fired;
    std::atomic<bool> destroyed { false };
    std::atomic<bool> destroyed_while_running { false };
    TimerService timers;
    auto* timer = timers.create(module(), std::make_unique<TestCallback>(fired, [&] {
        entered.set();
        EXPECT_TRUE(release.wait());
        destroyed_while_running = destroyed.load();
    }));
    timers.mod(*timer, 0);
    ASSERT_TRUE(entered.wait());
    std::thread destroyer([&] {
        timers.destroy(*timer);
        destroyed = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_FALSE(destroyed.load());
    release.set();
    destroyer.join();
    EXPECT_FALSE(destroyed_while_running.load());
    EXPECT_EQ(timers.timer_count(), 0u);
}

// Timers fire in expiry order, not in the order they were armed.
TEST_F(TimerServiceTest, Fire_InExpiryOrder)
{
    std::mutex mutex;
    std::vector<int> order;
    Counter fired;
    TimerService timers;
    auto make = [&](int id) {
        return timers.create(module(), std::make_unique<TestCallback>(fired, [&, id] {
            std::scoped_lock lock(mutex);
            order.push_back(id);
        }));
    };
    auto* slow = make(3);
    auto* medium = make(2);
    auto* fast = make(1);
    // Far enough apart that the time between these calls cannot reorder them.
    timers.mod(*slow, 600);
    timers.mod(*medium, 350);
    timers.mod(*fast, 100);
    EXPECT_TRUE(fired.wait_for_at_least(3));
    std::scoped_lock lock(mutex);
    EXPECT_EQ(order, (std::vector<int> { 1, 2, 3 }));
}

} // namespace
} // namespace nk
