// SPDX-License-Identifier: MIT
#pragma once

// The driver's heap inside a protection domain (kmalloc, DMA buffers), carved
// from the domain area so the kernel can read it, and DMA can reach it.
//
// Small blocks (up to 2 KiB) come from per-size free lists and carry a 16-byte
// header; large blocks are whole pages. Freed small blocks are poisoned (0x6b,
// as Linux's slab does) so a use after free reads garbage, and a free of a
// block whose header is not intact is reported as heap corruption or a double
// free: the driver has failed.
//
// Thread-safety: all methods may be called from any domain thread.

#include "base/Mutex.h"
#include "nooks/domain/Layout.h"

#include <cstddef>
#include <cstdint>
#include <map>

namespace nk::runtime {

class Heap {
public:
    Heap(std::byte* base, size_t size, abi::HeapStats& stats);
    Heap(Heap const&) = delete;
    Heap& operator=(Heap const&) = delete;

    // 16-byte aligned; null when the heap is exhausted.
    void* allocate(size_t size, bool zero);
    // Page-aligned and zeroed (DMA buffers).
    void* allocate_pages(size_t size);
    // Frees what allocate/allocate_pages returned. Returns a description of the
    // problem (double free, corruption, foreign pointer) or null if all is well.
    char const* free(void const* pointer);

    bool contains(void const* pointer) const;

private:
    static constexpr size_t header_size = 16;
    static constexpr size_t class_count = 8; // 32, 64, ... 4096 bytes including the header
    static constexpr size_t chunk_size = 64 * 1024;

    struct Header {
        uint32_t magic;
        uint32_t size_class;
        uint64_t size;
    };

    static size_t class_of(size_t total);
    static size_t class_bytes(size_t size_class) { return size_t(32) << size_class; }
    void* allocate_extent(size_t bytes) NK_REQUIRES(m_mutex);
    void release_extent(std::byte* start, size_t bytes) NK_REQUIRES(m_mutex);
    void account(int64_t bytes, int64_t allocations);

    std::byte* m_base;
    size_t m_size;
    abi::HeapStats& m_stats;
    Mutex m_mutex;
    // Free small blocks, linked through their header's size field (the magic
    // stays readable, so a second free of the same block is recognized).
    std::byte* m_free[class_count] NK_GUARDED_BY(m_mutex) {};
    std::map<uint64_t, uint64_t> m_free_extents NK_GUARDED_BY(m_mutex); // start -> length, coalesced
    std::map<uint64_t, uint64_t> m_page_blocks NK_GUARDED_BY(m_mutex);  // live large blocks: start -> length
};

} // namespace nk::runtime
