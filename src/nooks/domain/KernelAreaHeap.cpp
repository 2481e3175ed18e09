// SPDX-License-Identifier: MIT
#include "nooks/domain/KernelAreaHeap.h"

#include <bit>

namespace nk {

ReadonlyBlock::ReadonlyBlock(ReadonlyBlock&& other) noexcept
    : m_heap(std::move(other.m_heap))
    , m_data(std::exchange(other.m_data, nullptr))
    , m_size(std::exchange(other.m_size, 0))
{
}

ReadonlyBlock& ReadonlyBlock::operator=(ReadonlyBlock&& other) noexcept
{
    if (this != &other) {
        release();
        m_heap = std::move(other.m_heap);
        m_data = std::exchange(other.m_data, nullptr);
        m_size = std::exchange(other.m_size, 0);
    }
    return *this;
}

ReadonlyBlock::~ReadonlyBlock() { release(); }

void ReadonlyBlock::release()
{
    if (m_data == nullptr)
        return;
    if (auto heap = m_heap.lock())
        heap->free(m_data);
    m_data = nullptr;
    m_size = 0;
}

std::shared_ptr<KernelAreaHeap> KernelAreaHeap::create(std::byte* base, size_t size)
{
    return std::shared_ptr<KernelAreaHeap>(new KernelAreaHeap(base, size));
}

KernelAreaHeap::KernelAreaHeap(std::byte* base, size_t size)
    : m_base(base)
    , m_size(size)
{
    if (size > 0)
        m_free.emplace(0, size);
}

Result<ReadonlyBlock> KernelAreaHeap::allocate(size_t size, size_t alignment)
{
    if (size == 0)
        return make_error(ErrorCode::InvalidArgument, "kernel area: a block of 0 bytes");
    if (!std::has_single_bit(alignment) || alignment > 4096)
        return make_error(ErrorCode::InvalidArgument, "kernel area: alignment {} is not a power of two up to 4096", alignment);
    MutexLocker lock(m_mutex);
    auto const base = reinterpret_cast<uintptr_t>(m_base);
    for (auto it = m_free.begin(); it != m_free.end(); ++it) {
        auto [offset, length] = *it;
        auto aligned = ((base + offset + alignment - 1) & ~(alignment - 1)) - base;
        auto slack = aligned - offset;
        if (slack > length || size > length - slack)
            continue;
        // Take [offset, aligned + size): the slack stays with the block, so a
        // free gives back exactly the range it took.
        auto taken = slack + size;
        m_free.erase(it);
        if (taken < length)
            m_free.emplace(offset + taken, length - taken);
        m_allocated.emplace(offset, taken);
        m_starts.emplace(aligned, offset);
        m_in_use += size;
        return ReadonlyBlock(weak_from_this(), m_base + aligned, size);
    }
    return make_error(ErrorCode::ResourceExhausted, "kernel area: no free range of {} bytes ({} of {} bytes in use)", size, m_in_use,
        m_size);
}

void KernelAreaHeap::free(void* data)
{
    MutexLocker lock(m_mutex);
    auto start = static_cast<size_t>(static_cast<std::byte*>(data) - m_base);
    auto found = m_starts.find(start);
    if (found == m_starts.end())
        return; // not a block of this heap: ReadonlyBlock never makes one
    auto offset = found->second;
    m_starts.erase(found);
    auto node = m_allocated.extract(offset);
    auto length = node.mapped();
    m_in_use -= length - (start - offset);
    // Merge with the free neighbours on both sides.
    auto next = m_free.lower_bound(offset);
    if (next != m_free.end() && next->first == offset + length) {
        length += next->second;
        next = m_free.erase(next);
    }
    if (next != m_free.begin()) {
        auto previous = std::prev(next);
        if (previous->first + previous->second == offset) {
            previous->second += length;
            return;
        }
    }
    m_free.emplace(offset, length);
}

size_t KernelAreaHeap::bytes_in_use() const
{
    MutexLocker lock(m_mutex);
    return m_in_use;
}

size_t KernelAreaHeap::blocks_in_use() const
{
    MutexLocker lock(m_mutex);
    return m_allocated.size();
}

size_t KernelAreaHeap::free_ranges() const
{
    MutexLocker lock(m_mutex);
    return m_free.size();
}

} // namespace nk
