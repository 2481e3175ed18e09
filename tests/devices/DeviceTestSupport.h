// SPDX-License-Identifier: MIT
#pragma once

// What tests of a device driven register by register share: an interrupt
// sink that records the vectors raised, and DMA memory to map into the
// device's IOMMU.

#include "kernel/bus/HardwareDevice.h"
#include "kernel/dma/Iommu.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

namespace nk::test {

// Records every vector the device raises.
class RecordingSink final : public InterruptSink {
public:
    void raise(uint32_t vector) override
    {
        std::scoped_lock lock(m_mutex);
        m_vectors.push_back(vector);
    }
    size_t count(uint32_t vector) const
    {
        std::scoped_lock lock(m_mutex);
        size_t n = 0;
        for (auto v : m_vectors)
            n += v == vector ? 1 : 0;
        return n;
    }
    size_t total() const
    {
        std::scoped_lock lock(m_mutex);
        return m_vectors.size();
    }
    void clear()
    {
        std::scoped_lock lock(m_mutex);
        m_vectors.clear();
    }

private:
    mutable std::mutex m_mutex;
    std::vector<uint32_t> m_vectors;
};

// Zeroed, page-aligned memory.
class DmaBuffer {
public:
    explicit DmaBuffer(size_t size)
        : m_size(size)
        , m_data(static_cast<std::byte*>(std::aligned_alloc(4096, (size + 4095) / 4096 * 4096)))
    {
        std::memset(m_data, 0, (size + 4095) / 4096 * 4096);
    }
    ~DmaBuffer() { std::free(m_data); }
    DmaBuffer(DmaBuffer const&) = delete;
    DmaBuffer& operator=(DmaBuffer const&) = delete;

    std::byte* data() const { return m_data; }
    size_t size() const { return m_size; }
    std::span<std::byte> bytes() const { return { m_data, m_size }; }

private:
    size_t m_size;
    std::byte* m_data;
};

// A buffer and the device address it is mapped at.
struct MappedBuffer {
    std::unique_ptr<DmaBuffer> buffer;
    uint64_t iova { 0 };
};

} // namespace nk::test
