// SPDX-License-Identifier: MIT
#include "nooks/runtime/Heap.h"

#include <cstring>

namespace nk::runtime {

static constexpr uint32_t live_magic = 0x4b4d414c;  // "LAMK"
static constexpr uint32_t freed_magic = 0x45455246; // "FREE"
static constexpr size_t page = abi::page_size;

Heap::Heap(std::byte* base, size_t size, abi::HeapStats& stats)
    : m_base(base)
    , m_size(size)
    , m_stats(stats)
{
    m_free_extents.emplace(reinterpret_cast<uint64_t>(base), size);
}

bool Heap::contains(void const* pointer) const
{
    auto address = reinterpret_cast<std::byte const*>(pointer);
    return address >= m_base && address < m_base + m_size;
}

size_t Heap::class_of(size_t total)
{
    size_t size_class = 0;
    while (class_bytes(size_class) < total)
        ++size_class;
    return size_class;
}

void Heap::account(int64_t bytes, int64_t allocations)
{
    auto in_use = m_stats.bytes_in_use.fetch_add(static_cast<uint64_t>(bytes), std::memory_order_relaxed) + static_cast<uint64_t>(bytes);
    m_stats.allocations.fetch_add(static_cast<uint64_t>(allocations), std::memory_order_relaxed);
    if (in_use > m_stats.peak_bytes.load(std::memory_order_relaxed))
        m_stats.peak_bytes.store(in_use, std::memory_order_relaxed);
}

void* Heap::allocate_extent(size_t bytes)
{
    for (auto it = m_free_extents.begin(); it != m_free_extents.end(); ++it) {
        if (it->second < bytes)
            continue;
        auto start = it->first;
        auto length = it->second;
        m_free_extents.erase(it);
        if (length > bytes)
            m_free_extents.emplace(start + bytes, length - bytes);
        return reinterpret_cast<void*>(start);
    }
    return nullptr;
}

void Heap::release_extent(std::byte* start, size_t bytes)
{
    auto address = reinterpret_cast<uint64_t>(start);
    auto [it, inserted] = m_free_extents.emplace(address, bytes);
    // Coalesce with the neighbours so large blocks stay available.
    if (auto next = std::next(it); next != m_free_extents.end() && it->first + it->second == next->first) {
        it->second += next->second;
        m_free_extents.erase(next);
    }
    if (it != m_free_extents.begin()) {
        auto previous = std::prev(it);
        if (previous->first + previous->second == it->first) {
            previous->second += it->second;
            m_free_extents.erase(it);
        }
    }
}

void* Heap::allocate(size_t size, bool zero)
{
    if (size == 0 || size > m_size)
        return nullptr;
    if (size + header_size > class_bytes(class_count - 1)) {
        auto* block = allocate_pages(size);
        return block;
    }
    auto size_class = class_of(size + header_size);
    std::byte* block = nullptr;
    {
        MutexLocker lock(m_mutex);
        if (m_free[size_class] == nullptr) {
            auto* chunk = static_cast<std::byte*>(allocate_extent(chunk_size));
            if (chunk == nullptr) {
                m_stats.failures.fetch_add(1, std::memory_order_relaxed);
                return nullptr;
            }
            auto bytes = class_bytes(size_class);
            for (size_t offset = chunk_size; offset >= bytes; offset -= bytes) {
                auto* fresh = chunk + offset - bytes;
                auto* header = reinterpret_cast<Header*>(fresh);
                header->magic = freed_magic;
                header->size_class = static_cast<uint32_t>(size_class);
                header->size = reinterpret_cast<uint64_t>(m_free[size_class]);
                m_free[size_class] = fresh;
            }
        }
        block = m_free[size_class];
        m_free[size_class] = reinterpret_cast<std::byte*>(reinterpret_cast<Header*>(block)->size);
    }
    auto* header = reinterpret_cast<Header*>(block);
    header->magic = live_magic;
    header->size_class = static_cast<uint32_t>(size_class);
    header->size = size;
    account(static_cast<int64_t>(size), 1);
    if (zero)
        std::memset(block + header_size, 0, size);
    return block + header_size;
}

void* Heap::allocate_pages(size_t size)
{
    if (size == 0 || size > m_size)
        return nullptr;
    auto bytes = (size + page - 1) & ~(page - 1);
    void* block = nullptr;
    {
        MutexLocker lock(m_mutex);
        block = allocate_extent(bytes);
        if (block == nullptr) {
            m_stats.failures.fetch_add(1, std::memory_order_relaxed);
            return nullptr;
        }
        m_page_blocks.emplace(reinterpret_cast<uint64_t>(block), bytes);
    }
    std::memset(block, 0, bytes);
    account(static_cast<int64_t>(bytes), 1);
    return block;
}

char const* Heap::free(void const* pointer)
{
    if (pointer == nullptr)
        return nullptr;
    if (!contains(pointer))
        return "free of a pointer outside the driver's heap";
    auto address = reinterpret_cast<uint64_t>(pointer);
    if (address % page == 0) {
        MutexLocker lock(m_mutex);
        if (auto it = m_page_blocks.find(address); it != m_page_blocks.end()) {
            auto bytes = it->second;
            m_page_blocks.erase(it);
            release_extent(reinterpret_cast<std::byte*>(address), bytes);
            account(-static_cast<int64_t>(bytes), -1);
            return nullptr;
        }
    }
    if (address % 16 != 0 || address < reinterpret_cast<uint64_t>(m_base) + header_size)
        return "free of a pointer that no allocation returned";
    auto* block = reinterpret_cast<std::byte*>(address - header_size);
    auto* header = reinterpret_cast<Header*>(block);
    uint64_t size = 0;
    {
        MutexLocker lock(m_mutex);
        if (header->magic == freed_magic)
            return "double free";
        if (header->magic != live_magic || header->size_class >= class_count
            || header->size + header_size > class_bytes(header->size_class))
            return "heap corruption (the block's header was overwritten) or a free of a pointer no allocation returned";
        auto size_class = header->size_class;
        size = header->size;
        // Poison the block; the header keeps the freed mark for double-free detection.
        std::memset(block + header_size, 0x6b, class_bytes(size_class) - header_size);
        header->magic = freed_magic;
        header->size = reinterpret_cast<uint64_t>(m_free[size_class]);
        m_free[size_class] = block;
    }
    account(-static_cast<int64_t>(size), -1);
    return nullptr;
}

} // namespace nk::runtime
