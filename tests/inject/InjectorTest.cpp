// SPDX-License-Identifier: MIT
// The fault injector: which call an armed fault fires on, once or from the Nth
// on, with entry and target filters, and counts that hold under contention.

#include "inject/Injector.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace nk {
namespace {

using abi::DriverEntry;
using inject::Fault;

// Fires on the Nth matching call, once.
TEST(Injector, FiresOnceOnTheNthCall)
{
    inject::Injector injector;
    injector.arm(inject::arm_spec(Fault::Panic, DriverEntry::irq_handler, 3, std::nullopt, false));
    EXPECT_FALSE(injector.check(DriverEntry::irq_handler));
    EXPECT_FALSE(injector.check(DriverEntry::irq_handler));
    EXPECT_EQ(injector.check(DriverEntry::irq_handler), Fault::Panic);
    EXPECT_FALSE(injector.armed());
    EXPECT_FALSE(injector.check(DriverEntry::irq_handler));
}

// Other entries, and the kernel's own housekeeping crossings, do not count.
TEST(Injector, OnlyMatchingCallsCount)
{
    inject::Injector injector;
    injector.arm(inject::arm_spec(Fault::NullDeref, DriverEntry::blk_queue_rq, 1, std::nullopt, false));
    EXPECT_FALSE(injector.check(DriverEntry::irq_handler));
    EXPECT_FALSE(injector.check(DriverEntry::timer_fn));
    EXPECT_TRUE(injector.armed());
    EXPECT_EQ(injector.check(DriverEntry::blk_queue_rq), Fault::NullDeref);

    injector.arm(inject::arm_spec(Fault::NullDeref, std::nullopt, 1, std::nullopt, false));
    for (auto housekeeping : { DriverEntry::null, DriverEntry::flush, DriverEntry::inject })
        EXPECT_FALSE(injector.check(housekeeping));
    EXPECT_EQ(injector.check(DriverEntry::work_fn), Fault::NullDeref);
}

// A target narrows it to the calls about that target (block: a request's sector).
TEST(Injector, TargetFilter)
{
    inject::Injector injector;
    injector.arm(inject::arm_spec(Fault::Hang, DriverEntry::blk_queue_rq, 1, 4096, false));
    EXPECT_FALSE(injector.check(DriverEntry::blk_queue_rq, 8));
    EXPECT_FALSE(injector.check(DriverEntry::blk_queue_rq));
    EXPECT_EQ(injector.check(DriverEntry::blk_queue_rq, 4096), Fault::Hang);
}

// Repeat: every matching call from the Nth on.
TEST(Injector, RepeatFiresFromTheNthOn)
{
    inject::Injector injector;
    injector.arm(inject::arm_spec(Fault::WildWriteOwn, DriverEntry::irq_handler, 2, std::nullopt, true));
    EXPECT_FALSE(injector.check(DriverEntry::irq_handler));
    for (int i = 0; i < 5; ++i)
        EXPECT_EQ(injector.check(DriverEntry::irq_handler), Fault::WildWriteOwn);
    EXPECT_TRUE(injector.armed());
    injector.arm(inject::disarm_spec());
    EXPECT_FALSE(injector.armed());
    EXPECT_FALSE(injector.check(DriverEntry::irq_handler));
}

// Many threads call at once: in repeat mode exactly the first N-1 matching
// calls pass and every later one fires (no count is lost to a race); once
// armed, exactly one call fires.
TEST(Injector, CountsHoldUnderContention)
{
    constexpr int threads = 8;
    constexpr int calls = 5000;
    constexpr uint32_t after = 10'000;
    for (bool repeat : { true, false }) {
        SCOPED_TRACE(repeat ? "repeat" : "once");
        inject::Injector injector;
        injector.arm(inject::arm_spec(Fault::Panic, DriverEntry::irq_handler, after, std::nullopt, repeat));
        std::atomic<int> fired { 0 };
        std::atomic<bool> go { false };
        std::vector<std::thread> workers;
        for (int t = 0; t < threads; ++t) {
            workers.emplace_back([&] {
                while (!go.load())
                    std::this_thread::yield();
                for (int i = 0; i < calls; ++i) {
                    if (injector.check(DriverEntry::irq_handler))
                        fired.fetch_add(1);
                }
            });
        }
        go = true;
        for (auto& worker : workers)
            worker.join();
        EXPECT_EQ(fired.load(), repeat ? threads * calls - int(after - 1) : 1);
    }
}

// Specs from elsewhere are checked field by field; names parse both ways.
TEST(Injector, ValidateAndParse)
{
    EXPECT_TRUE(inject::validate(inject::disarm_spec()));
    auto spec = inject::arm_spec(Fault::Leak, DriverEntry::module_init, 1, std::nullopt, false);
    EXPECT_TRUE(inject::validate(spec));
    EXPECT_TRUE(inject::aims_at_initialization(spec));
    auto bad = spec;
    bad.fault = 200;
    EXPECT_FALSE(inject::validate(bad));
    bad = spec;
    bad.entry = 9999;
    EXPECT_FALSE(inject::validate(bad));
    bad = spec;
    bad.after = 0;
    EXPECT_FALSE(inject::validate(bad));
    bad = spec;
    bad.repeat = 7;
    EXPECT_FALSE(inject::validate(bad));

    EXPECT_EQ(inject::parse_fault("stack-corrupt"), Fault::StackCorrupt);
    auto unknown = inject::parse_fault("explode");
    ASSERT_FALSE(unknown);
    EXPECT_NE(unknown.error().message().find("null-deref"), std::string::npos);
    EXPECT_EQ(inject::parse_entry("blk_queue_rq").value(), DriverEntry::blk_queue_rq);
    EXPECT_EQ(inject::parse_entry("any").value(), std::nullopt);
    EXPECT_FALSE(inject::parse_entry("no_such_entry"));
    EXPECT_EQ(inject::describe(inject::arm_spec(Fault::Panic, DriverEntry::irq_handler, 2, 7, true)),
        "panic at every call from 2 of irq_handler on target 7");
}

} // namespace
} // namespace nk
