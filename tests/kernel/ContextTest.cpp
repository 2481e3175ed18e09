// SPDX-License-Identifier: MIT
#include "kernel/exec/Context.h"

#include "KernelTestSupport.h"

#include <nooks/kernel.h>

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace nk {
namespace {

// What the softirq functions below append to.
struct Log {
    std::vector<std::string> entries;
};

void log_a(void* argument) { static_cast<Log*>(argument)->entries.push_back("a"); }
void log_b(void* argument) { static_cast<Log*>(argument)->entries.push_back("b"); }
void log_c(void* argument) { static_cast<Log*>(argument)->entries.push_back("c"); }

// Logs its start, queues log_b and log_c, logs its end.
void log_chain(void* argument)
{
    auto* log = static_cast<Log*>(argument);
    log->entries.push_back("chain-begin");
    raise_softirq(&log_b, argument);
    raise_softirq(&log_c, argument);
    log->entries.push_back("chain-end");
}

// Records the crossing depth it runs at.
struct DepthProbe {
    std::vector<uint32_t> depths;
};

void record_depth(void* argument) { static_cast<DepthProbe*>(argument)->depths.push_back(current_context().crossing_depth); }

class ContextTest : public ::testing::Test {
protected:
    // Every test starts and must end with this thread outside crossings, with nothing queued.
    void SetUp() override { expect_clean(); }
    void TearDown() override { expect_clean(); }

    static void expect_clean()
    {
        auto const& context = current_context();
        EXPECT_EQ(context.crossing_depth, 0u);
        EXPECT_EQ(context.atomic_depth, 0u);
        EXPECT_EQ(context.module, nullptr);
        EXPECT_FALSE(context.irqs_off);
        EXPECT_FALSE(context.draining);
        EXPECT_TRUE(context.softirqs.empty());
    }

    Module& module() { return m_modules.module(); }

    test::ModuleHolder m_modules;
    Log m_log;
};

using Entries = std::vector<std::string>;

// Outside every crossing a softirq runs before raise_softirq returns.
TEST_F(ContextTest, RaiseSoftirq_AtDepthZeroRunsNow)
{
    raise_softirq(&log_a, &m_log);
    EXPECT_EQ(m_log.entries, Entries { "a" });
    raise_softirq(&log_b, &m_log);
    EXPECT_EQ(m_log.entries, (Entries { "a", "b" }));
}

// Inside a crossing softirqs wait, in order, until the outermost crossing returns.
TEST_F(ContextTest, RaiseSoftirq_InsideCrossingDeferred)
{
    DepthProbe probe;
    {
        CrossingScope outer(module(), CrossingScope::Kind::Process);
        raise_softirq(&log_a, &m_log);
        {
            CrossingScope inner(module(), CrossingScope::Kind::Process);
            raise_softirq(&log_b, &m_log);
            raise_softirq(&record_depth, &probe);
        }
        EXPECT_TRUE(m_log.entries.empty());
        EXPECT_EQ(current_context().softirqs.size(), 3u);
        raise_softirq(&log_c, &m_log);
        EXPECT_TRUE(m_log.entries.empty());
    }
    EXPECT_EQ(m_log.entries, (Entries { "a", "b", "c" }));
    // They run after the crossing is left, not inside it.
    EXPECT_EQ(probe.depths, std::vector<uint32_t> { 0u });
}

// Softirqs queued by a running softirq run in the same drain, after it, not nested.
TEST_F(ContextTest, RunSoftirqs_ItemsQueuedByItemsRunInSameDrain)
{
    raise_softirq(&log_chain, &m_log);
    EXPECT_EQ(m_log.entries, (Entries { "chain-begin", "chain-end", "b", "c" }));
    EXPECT_TRUE(current_context().softirqs.empty());

    m_log.entries.clear();
    {
        CrossingScope scope(module(), CrossingScope::Kind::Process);
        raise_softirq(&log_chain, &m_log);
        raise_softirq(&log_a, &m_log);
    }
    // The first batch (chain, a) completes before what chain queued.
    EXPECT_EQ(m_log.entries, (Entries { "chain-begin", "chain-end", "a", "b", "c" }));
}

// With interrupt delivery off (spin_lock_irqsave), softirqs wait even at depth 0.
TEST_F(ContextTest, RaiseSoftirq_IrqsOffDefers)
{
    auto& context = current_context();
    context.irqs_off = true;
    raise_softirq(&log_a, &m_log);
    EXPECT_TRUE(m_log.entries.empty());
    EXPECT_EQ(context.softirqs.size(), 1u);
    context.irqs_off = false;
    run_softirqs();
    EXPECT_EQ(m_log.entries, Entries { "a" });
}

// nk_spin_unlock_irqrestore delivers what was held back while the lock was held.
TEST_F(ContextTest, SpinUnlockIrqrestore_RunsHeldBackSoftirqs)
{
    nk_spinlock_t outer_lock;
    nk_spinlock_t inner_lock;
    nk_spin_lock_init(&outer_lock);
    nk_spin_lock_init(&inner_lock);

    auto outer_flags = nk_spin_lock_irqsave(&outer_lock);
    EXPECT_TRUE(current_context().irqs_off);
    EXPECT_EQ(current_context().atomic_depth, 1u);
    auto inner_flags = nk_spin_lock_irqsave(&inner_lock);
    raise_softirq(&log_a, &m_log);
    nk_spin_unlock_irqrestore(&inner_lock, inner_flags);
    // The outer lock still has delivery off.
    EXPECT_TRUE(m_log.entries.empty());
    EXPECT_TRUE(current_context().irqs_off);
    nk_spin_unlock_irqrestore(&outer_lock, outer_flags);
    EXPECT_EQ(m_log.entries, Entries { "a" });
    EXPECT_FALSE(current_context().irqs_off);
}

// Leaving the outermost crossing with delivery off keeps softirqs queued.
TEST_F(ContextTest, CrossingScope_ExitWithIrqsOffKeepsQueue)
{
    auto& context = current_context();
    {
        CrossingScope scope(module(), CrossingScope::Kind::Process);
        raise_softirq(&log_a, &m_log);
        context.irqs_off = true;
    }
    EXPECT_TRUE(m_log.entries.empty());
    EXPECT_EQ(context.softirqs.size(), 1u);
    context.irqs_off = false;
    run_softirqs();
    EXPECT_EQ(m_log.entries, Entries { "a" });
}

// A crossing records the module and depth, atomic crossings the atomic depth; both restore.
TEST_F(ContextTest, CrossingScope_TracksModuleAndDepth)
{
    test::TestModule other(m_modules.kernel(), "other");
    auto const& context = current_context();
    {
        CrossingScope outer(module(), CrossingScope::Kind::Process);
        EXPECT_EQ(context.module, &module());
        EXPECT_EQ(context.crossing_depth, 1u);
        EXPECT_EQ(context.atomic_depth, 0u);
        {
            CrossingScope inner(other, CrossingScope::Kind::Atomic);
            EXPECT_EQ(context.module, &other);
            EXPECT_EQ(context.crossing_depth, 2u);
            EXPECT_EQ(context.atomic_depth, 1u);
        }
        EXPECT_EQ(context.module, &module());
        EXPECT_EQ(context.crossing_depth, 1u);
        EXPECT_EQ(context.atomic_depth, 0u);
    }
    EXPECT_EQ(context.module, nullptr);
    EXPECT_EQ(context.crossing_depth, 0u);
}

// Each thread has its own context: another thread's softirq runs there, at once.
TEST_F(ContextTest, Context_IsPerThread)
{
    CrossingScope scope(module(), CrossingScope::Kind::Process);
    raise_softirq(&log_a, &m_log);

    Log other_log;
    uint32_t other_depth = 99;
    bool other_queue_empty = false;
    std::thread other([&] {
        other_depth = current_context().crossing_depth;
        raise_softirq(&log_b, &other_log);
        other_queue_empty = current_context().softirqs.empty();
    });
    other.join();
    EXPECT_EQ(other_depth, 0u);
    EXPECT_EQ(other_log.entries, Entries { "b" });
    EXPECT_TRUE(other_queue_empty);
    // This thread's item is still waiting for its own crossing to end.
    EXPECT_TRUE(m_log.entries.empty());
    EXPECT_EQ(current_context().softirqs.size(), 1u);
}

} // namespace
} // namespace nk
