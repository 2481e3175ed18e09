// SPDX-License-Identifier: MIT
// The kernel-area heap: blocks are aligned, disjoint, freed when they go,
// merged back so the area does not fragment, and harmless after the heap.

#include "nooks/domain/KernelAreaHeap.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace nk {
namespace {

constexpr size_t area_size = 1 << 20;

struct Area {
    alignas(4096) std::byte bytes[area_size];
};

TEST(KernelAreaHeap, BlocksAreAlignedDisjointAndInside)
{
    auto area = std::make_unique<Area>();
    auto heap = KernelAreaHeap::create(area->bytes, area_size);
    std::vector<ReadonlyBlock> blocks;
    for (size_t alignment : { 8, 64, 256, 4096 }) {
        for (size_t size : { 1, 24, 100, 4096, 5000 }) {
            auto block = heap->allocate(size, alignment);
            ASSERT_TRUE(block) << block.error().message();
            auto address = reinterpret_cast<uintptr_t>(block->data());
            EXPECT_EQ(address % alignment, 0u);
            EXPECT_GE(block->data(), static_cast<void*>(area->bytes));
            EXPECT_LE(static_cast<std::byte*>(block->data()) + size, area->bytes + area_size);
            blocks.push_back(std::move(*block));
        }
    }
    for (size_t i = 0; i < blocks.size(); ++i) {
        for (size_t j = i + 1; j < blocks.size(); ++j) {
            auto* a = static_cast<std::byte*>(blocks[i].data());
            auto* b = static_cast<std::byte*>(blocks[j].data());
            EXPECT_TRUE(a + blocks[i].size() <= b || b + blocks[j].size() <= a) << i << " overlaps " << j;
        }
    }
}

// What is freed comes back: a full area, emptied, takes its whole size again
// in one block, and nothing is left fragmented.
TEST(KernelAreaHeap, FreedBlocksMergeBack)
{
    auto area = std::make_unique<Area>();
    auto heap = KernelAreaHeap::create(area->bytes, area_size);
    std::vector<ReadonlyBlock> blocks;
    for (;;) {
        auto block = heap->allocate(3000, 64);
        if (!block) {
            EXPECT_EQ(block.error().code(), ErrorCode::ResourceExhausted);
            break;
        }
        blocks.push_back(std::move(*block));
    }
    EXPECT_GT(blocks.size(), 300u);
    // Free in a scrambled order.
    std::mt19937 random(7);
    std::shuffle(blocks.begin(), blocks.end(), random);
    blocks.clear();
    EXPECT_EQ(heap->bytes_in_use(), 0u);
    EXPECT_EQ(heap->blocks_in_use(), 0u);
    EXPECT_EQ(heap->free_ranges(), 1u);
    auto whole = heap->allocate(area_size, 64);
    EXPECT_TRUE(whole) << whole.error().message();
}

// A steady allocate/free pattern (a ring of buffers) never runs out.
TEST(KernelAreaHeap, SteadyChurnNeverExhausts)
{
    auto area = std::make_unique<Area>();
    auto heap = KernelAreaHeap::create(area->bytes, area_size);
    std::vector<ReadonlyBlock> ring(64);
    std::mt19937 random(3);
    for (int i = 0; i < 20'000; ++i) {
        auto size = 64 + random() % 4000;
        auto block = heap->allocate(size, 64);
        ASSERT_TRUE(block) << "round " << i << ": " << block.error().message();
        ring[i % ring.size()] = std::move(*block);
    }
    ring.clear();
    EXPECT_EQ(heap->free_ranges(), 1u);
}

TEST(KernelAreaHeap, BadRequestsAndLateFrees)
{
    auto area = std::make_unique<Area>();
    auto heap = KernelAreaHeap::create(area->bytes, area_size);
    EXPECT_EQ(heap->allocate(0).error().code(), ErrorCode::InvalidArgument);
    EXPECT_EQ(heap->allocate(8, 3).error().code(), ErrorCode::InvalidArgument);
    EXPECT_EQ(heap->allocate(8, 8192).error().code(), ErrorCode::InvalidArgument);
    EXPECT_EQ(heap->allocate(area_size + 1).error().code(), ErrorCode::ResourceExhausted);
    // A block that outlives its heap (a port that outlives its domain) is inert.
    auto block = heap->allocate(128);
    ASSERT_TRUE(block);
    heap.reset();
    *block = ReadonlyBlock {};
    EXPECT_FALSE(*block);
}

} // namespace
} // namespace nk
