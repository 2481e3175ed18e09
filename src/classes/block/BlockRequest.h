// SPDX-License-Identifier: MIT
#pragma once

// A block request as the kernel sees it, and the completion a submitter waits on.
//
// Ownership: the submitter (a frontend) owns the BlockRequest and its data
// buffer and must keep both alive until the request's completion fires. The
// request queue owns the fields below "queue state" while the request is in it.

#include <nooks/block.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace nk {

enum class BlockOp : uint8_t {
    Read = NK_BLK_READ,
    Write = NK_BLK_WRITE,
    Flush = NK_BLK_FLUSH,
};

char const* block_op_name(BlockOp op);

// Counts down the requests of one submission; the submitter waits for zero.
class BlockCompletion {
public:
    explicit BlockCompletion(uint32_t count)
        : m_remaining(count)
    {
    }
    // Called by the queue once per finished request, from any thread.
    void done()
    {
        if (m_remaining.fetch_sub(1, std::memory_order_acq_rel) == 1)
            m_remaining.notify_all();
    }
    void wait()
    {
        for (auto value = m_remaining.load(std::memory_order_acquire); value != 0;
            value = m_remaining.load(std::memory_order_acquire))
            m_remaining.wait(value, std::memory_order_acquire);
    }
    bool finished() const { return m_remaining.load(std::memory_order_acquire) == 0; }

private:
    std::atomic<uint32_t> m_remaining;
};

struct BlockRequest {
    BlockOp op { BlockOp::Read };
    bool fua { false };
    uint64_t sector { 0 };
    uint32_t nr_sectors { 0 };
    std::byte* buffer { nullptr }; // nr_sectors * 512 bytes; unused for Flush
    BlockCompletion* completion { nullptr };

    // Result, valid once the completion fired: enum nk_blk_status.
    int status { NK_BLK_STS_OK };

    // Queue state.
    uint32_t tag { 0 };
    uint32_t attempts { 0 }; // times it was in flight when its driver failed
    uint64_t dma_addr { 0 };
    uint64_t submit_ns { 0 };   // when it entered the queue
    uint64_t dispatch_ns { 0 }; // when it was last handed to a driver (timeouts count from here)

    uint64_t bytes() const { return uint64_t(nr_sectors) * NK_BLK_SECTOR_SIZE; }
    bool writes() const { return op == BlockOp::Write; }
    // True if the two requests touch a common sector and one of them writes.
    bool conflicts_with(BlockRequest const& other) const
    {
        if (op == BlockOp::Flush || other.op == BlockOp::Flush)
            return false;
        if (!writes() && !other.writes())
            return false;
        return sector < other.sector + other.nr_sectors && other.sector < sector + nr_sectors;
    }
};

} // namespace nk
