// SPDX-License-Identifier: MIT
// The object tracker: handles that cannot be used as pointers, stale and
// mistyped handles told apart, release newest first.

#include "nooks/tracker/ObjectTracker.h"

#include <gtest/gtest.h>

namespace nk {
namespace {

// A handle is a non-canonical address: dereferencing it would fault.
TEST(ObjectTracker, Handle_NotACanonicalAddress)
{
    ObjectTracker tracker;
    auto handle = tracker.add({ .type = ObjectType::Timer, .lifetime = Lifetime::Explicit, .object = nullptr, .key = 0, .description = "t" }, nullptr);
    auto top = handle >> 47;
    EXPECT_NE(top, 0u);
    EXPECT_NE(top, 0x1ffffu);
}

// Lookup with the right type finds the object.
TEST(ObjectTracker, Lookup_RightType)
{
    ObjectTracker tracker;
    int object = 0;
    auto handle = tracker.add({ .type = ObjectType::Work, .lifetime = Lifetime::Explicit, .object = &object, .key = 9, .description = "w" }, nullptr);
    auto ref = tracker.lookup(handle, ObjectType::Work, "nk_work_queue", "work");
    ASSERT_TRUE(ref);
    EXPECT_EQ(ref->object, &object);
    EXPECT_EQ(ref->key, 9u);
}

// A handle of another type is rejected with both types named.
TEST(ObjectTracker, Lookup_WrongTypeRejected)
{
    ObjectTracker tracker;
    auto handle = tracker.add({ .type = ObjectType::Work, .lifetime = Lifetime::Explicit, .object = nullptr, .key = 0, .description = "w" }, nullptr);
    auto ref = tracker.lookup(handle, ObjectType::Timer, "nk_timer_mod", "timer");
    ASSERT_FALSE(ref);
    EXPECT_NE(ref.error().message().find("nk_timer_mod: timer"), std::string::npos);
    EXPECT_NE(ref.error().message().find("is a work, not a timer"), std::string::npos);
}

// After removal, the old handle is stale even when the slot is reused.
TEST(ObjectTracker, StaleHandle_RejectedAfterReuse)
{
    ObjectTracker tracker;
    auto old = tracker.add({ .type = ObjectType::Timer, .lifetime = Lifetime::Explicit, .object = nullptr, .key = 0, .description = "a" }, nullptr);
    ASSERT_TRUE(tracker.remove(old));
    auto reused = tracker.add({ .type = ObjectType::Timer, .lifetime = Lifetime::Explicit, .object = nullptr, .key = 0, .description = "b" }, nullptr);
    EXPECT_NE(reused, old);
    auto ref = tracker.lookup(old, ObjectType::Timer, "f", "p");
    ASSERT_FALSE(ref);
    EXPECT_NE(ref.error().message().find("already released"), std::string::npos);
    EXPECT_TRUE(tracker.lookup(reused, ObjectType::Timer, "f", "p"));
}

// Garbage is not a handle.
TEST(ObjectTracker, Garbage_Rejected)
{
    ObjectTracker tracker;
    for (uint64_t value : { 0ull, 1ull, 0x7fff'1234'5678ull, ~0ull })
        EXPECT_FALSE(tracker.lookup(value, ObjectType::Irq, "f", "p"));
}

// Release runs newest first and leaves nothing tracked.
TEST(ObjectTracker, ReleaseAll_NewestFirst)
{
    ObjectTracker tracker;
    std::vector<int> order;
    for (int i = 0; i < 5; ++i)
        tracker.add({ .type = ObjectType::Irq, .lifetime = Lifetime::Explicit, .object = nullptr, .key = uint64_t(i), .description = "i" }, [&order, i] { order.push_back(i); });
    tracker.release_all();
    EXPECT_EQ(order, (std::vector<int> { 4, 3, 2, 1, 0 }));
    EXPECT_EQ(tracker.count(), 0u);
}

} // namespace
} // namespace nk
