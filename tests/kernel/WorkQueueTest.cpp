// SPDX-License-Identifier: MIT
#include "kernel/work/WorkQueue.h"

#include "KernelTestSupport.h"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <thread>

namespace nk {
namespace {

using test::Counter;
using test::Event;

// A work callback that counts its runs and runs an optional body first.
class TestWork final : public WorkCallback {
public:
    explicit TestWork(Counter& runs, std::function<void()> body = {})
        : m_runs(runs)
        , m_body(std::move(body))
    {
    }
    void run() override
    {
        if (m_body)
            m_body();
        m_runs.increment();
    }

private:
    Counter& m_runs;
    std::function<void()> m_body;
};

class WorkQueueTest : public ::testing::Test {
protected:
    Module& module() { return m_modules.module(); }
    test::ModuleHolder m_modules;
};

// A queued item runs once; flush waits for it.
TEST_F(WorkQueueTest, Queue_RunsOnce)
{
    Counter runs;
    std::thread::id ran_on;
    WorkQueue queue(2);
    auto* work = queue.create(module(), std::make_unique<TestWork>(runs, [&] { ran_on = std::this_thread::get_id(); }));
    EXPECT_EQ(queue.work_count(), 1u);
    EXPECT_TRUE(queue.queue(*work));
    queue.flush(*work);
    EXPECT_EQ(runs.value(), 1);
    // It ran on a worker, not on the caller.
    EXPECT_NE(ran_on, std::this_thread::get_id());

    // Once done, it can be queued again.
    EXPECT_TRUE(queue.queue(*work));
    queue.flush(*work);
    EXPECT_EQ(runs.value(), 2);
}

// Flushing an item that is neither queued nor running returns at once.
TEST_F(WorkQueueTest, Flush_IdleReturns)
{
    Counter runs;
    WorkQueue queue(1);
    auto* work = queue.create(module(), std::make_unique<TestWork>(runs));
    queue.flush(*work);
    EXPECT_EQ(runs.value(), 0);
}

// An item already queued is not queued twice: it runs once.
TEST_F(WorkQueueTest, Queue_AlreadyQueuedReturnsFalse)
{
    Event blocker_entered;
    Event release;
    Counter blocker_runs;
    Counter runs;
    WorkQueue queue(1);
    // Occupy the only worker so the item stays queued.
    auto* blocker = queue.create(module(), std::make_unique<TestWork>(blocker_runs, [&] {
        blocker_entered.set();
        EXPECT_TRUE(release.wait());
    }));
    auto* work = queue.create(module(), std::make_unique<TestWork>(runs));
    ASSERT_TRUE(queue.queue(*blocker));
    EXPECT_TRUE(blocker_entered.wait());

    EXPECT_TRUE(queue.queue(*work));
    EXPECT_FALSE(queue.queue(*work));
    EXPECT_FALSE(queue.queue(*work));
    release.set();
    queue.flush(*work);
    queue.flush(*blocker);
    EXPECT_EQ(runs.value(), 1);
    EXPECT_EQ(blocker_runs.value(), 1);
}

// An item may be queued again while it runs; it then runs once more.
TEST_F(WorkQueueTest, Queue_WhileRunningRunsAgain)
{
    Event entered;
    Event release;
    Counter runs;
    WorkQueue queue(1);
    auto* work = queue.create(module(), std::make_unique<TestWork>(runs, [&] {
        if (!entered.is_set()) {
            entered.set();
            EXPECT_TRUE(release.wait());
        }
    }));
    ASSERT_TRUE(queue.queue(*work));
    ASSERT_TRUE(entered.wait());
    EXPECT_TRUE(queue.queue(*work));
    EXPECT_FALSE(queue.queue(*work));
    release.set();
    queue.flush(*work);
    EXPECT_EQ(runs.value(), 2);
}

// flush waits until a running item has finished.
TEST_F(WorkQueueTest, Flush_WaitsForRunningItem)
{
    Event entered;
    Event release;
    Counter runs;
    std::atomic<bool> flushed { false };
    std::atomic<bool> flushed_while_running { false };
    WorkQueue queue(2);
    auto* work = queue.create(module(), std::make_unique<TestWork>(runs, [&] {
        entered.set();
        EXPECT_TRUE(release.wait());
        flushed_while_running = flushed.load();
    }));
    ASSERT_TRUE(queue.queue(*work));
    ASSERT_TRUE(entered.wait());
    std::thread flusher([&] {
        queue.flush(*work);
        flushed = true;
    });
    // Give flush a chance to block; the checks below hold however long this takes.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_FALSE(flushed.load());
    release.set();
    flusher.join();
    EXPECT_TRUE(flushed.load());
    EXPECT_FALSE(flushed_while_running.load());
    EXPECT_EQ(runs.value(), 1);
}

// destroy cancels a queued run and frees the item.
TEST_F(WorkQueueTest, Destroy_CancelsQueuedRun)
{
    Event blocker_entered;
    Event release;
    Counter blocker_runs;
    Counter victim_runs;
    Counter sentinel_runs;
    WorkQueue queue(1);
    auto* blocker = queue.create(module(), std::make_unique<TestWork>(blocker_runs, [&] {
        blocker_entered.set();
        EXPECT_TRUE(release.wait());
    }));
    auto* victim = queue.create(module(), std::make_unique<TestWork>(victim_runs));
    auto* sentinel = queue.create(module(), std::make_unique<TestWork>(sentinel_runs));
    ASSERT_TRUE(queue.queue(*blocker));
    ASSERT_TRUE(blocker_entered.wait());
    ASSERT_TRUE(queue.queue(*victim));
    ASSERT_TRUE(queue.queue(*sentinel));
    EXPECT_EQ(queue.work_count(), 3u);

    queue.destroy(*victim);
    EXPECT_EQ(queue.work_count(), 2u);
    release.set();
    // The single worker runs in queue order: the sentinel ran after the victim's slot.
    queue.flush(*sentinel);
    EXPECT_EQ(sentinel_runs.value(), 1);
    EXPECT_EQ(victim_runs.value(), 0);
}

// destroy waits for a running item before freeing it.
TEST_F(WorkQueueTest, Destroy_WaitsForRunningItem)
{
    Event entered;
    Event release;
    Counter runs;
    std::atomic<bool> destroyed { false };
    std::atomic<bool> destroyed_while_running { false };
    WorkQueue queue(2);
    auto* work = queue.create(module(), std::make_unique<TestWork>(runs, [&] {
        entered.set();
        EXPECT_TRUE(release.wait());
        destroyed_while_running = destroyed.load();
    }));
    ASSERT_TRUE(queue.queue(*work));
    ASSERT_TRUE(entered.wait());
    std::thread destroyer([&] {
        queue.destroy(*work);
        destroyed = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_FALSE(destroyed.load());
    release.set();
    destroyer.join();
    EXPECT_TRUE(destroyed.load());
    EXPECT_FALSE(destroyed_while_running.load());
    EXPECT_EQ(runs.value(), 1);
    EXPECT_EQ(queue.work_count(), 0u);
}

// Items run concurrently on several workers.
TEST_F(WorkQueueTest, Workers_RunItemsConcurrently)
{
    Event first_entered;
    Event second_entered;
    Counter runs;
    WorkQueue queue(2);
    // Each waits for the other: only two workers running at once can finish both.
    auto* first = queue.create(module(), std::make_unique<TestWork>(runs, [&] {
        first_entered.set();
        EXPECT_TRUE(second_entered.wait());
    }));
    auto* second = queue.create(module(), std::make_unique<TestWork>(runs, [&] {
        second_entered.set();
        EXPECT_TRUE(first_entered.wait());
    }));
    ASSERT_TRUE(queue.queue(*first));
    ASSERT_TRUE(queue.queue(*second));
    EXPECT_TRUE(runs.wait_for_at_least(2));
    queue.flush(*first);
    queue.flush(*second);
}

} // namespace
} // namespace nk
