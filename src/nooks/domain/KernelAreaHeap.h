// SPDX-License-Identifier: MIT
#pragma once

// The heap of a domain's kernel area: memory the kernel writes and the driver
// may only read (objects the kernel lends a driver for longer than one call,
// such as buffers a device reads). First fit over a free list ordered by
// address; a freed block merges with free neighbours, so the area does not
// fragment away under a steady allocate/free pattern.
//
// Blocks are handed out as ReadonlyBlock: freed when the block is destroyed,
// and harmless if the heap (the domain) went first. Allocation never touches
// the memory, so untouched pages of the sparse area cost nothing.
//
// Thread-safety: every method may be called from any kernel thread.

#include "base/Error.h"
#include "base/Mutex.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>

namespace nk {

class KernelAreaHeap;

// One block of a KernelAreaHeap; move-only, freed on destruction.
class ReadonlyBlock {
public:
    ReadonlyBlock() = default;
    ReadonlyBlock(ReadonlyBlock&& other) noexcept;
    ReadonlyBlock& operator=(ReadonlyBlock&& other) noexcept;
    ~ReadonlyBlock();

    void* data() const { return m_data; }
    size_t size() const { return m_size; }
    explicit operator bool() const { return m_data != nullptr; }

private:
    friend class KernelAreaHeap;
    ReadonlyBlock(std::weak_ptr<KernelAreaHeap> heap, void* data, size_t size)
        : m_heap(std::move(heap))
        , m_data(data)
        , m_size(size)
    {
    }
    void release();

    std::weak_ptr<KernelAreaHeap> m_heap;
    void* m_data { nullptr };
    size_t m_size { 0 };
};

class KernelAreaHeap : public std::enable_shared_from_this<KernelAreaHeap> {
public:
    // Manages [base, base + size): addresses only, the heap never touches them.
    static std::shared_ptr<KernelAreaHeap> create(std::byte* base, size_t size);

    // A block of `size` bytes aligned to `alignment` (a power of two, at most
    // one page). InvalidArgument for a zero size or a bad alignment,
    // ResourceExhausted when no free range fits.
    Result<ReadonlyBlock> allocate(size_t size, size_t alignment = 64);

    size_t capacity() const { return m_size; }
    size_t bytes_in_use() const;
    size_t blocks_in_use() const;
    // Free ranges (1 when nothing is allocated: merging works).
    size_t free_ranges() const;

private:
    KernelAreaHeap(std::byte* base, size_t size);
    friend class ReadonlyBlock;
    void free(void* data);

    std::byte* m_base;
    size_t m_size;
    mutable Mutex m_mutex;
    std::map<size_t, size_t> m_free NK_GUARDED_BY(m_mutex);      // offset -> length, disjoint, not adjacent
    std::map<size_t, size_t> m_allocated NK_GUARDED_BY(m_mutex); // offset -> length of the range taken (with alignment slack)
    std::map<size_t, size_t> m_starts NK_GUARDED_BY(m_mutex);    // block offset -> offset of its range
    size_t m_in_use NK_GUARDED_BY(m_mutex) { 0 };
};

} // namespace nk
