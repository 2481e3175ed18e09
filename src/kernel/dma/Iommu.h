// SPDX-License-Identifier: MIT
#pragma once

// The IOMMU of one device: the only way emulated hardware reaches memory.
//
// The kernel maps CPU memory for a device (coherent buffers a driver allocates,
// request buffers the block layer hands down) and gets a device address
// ("IOVA") back. The device translates and pins a range before each transfer;
// anything it was not given (a wild address, a freed buffer, the wrong
// direction) is refused and becomes an error status on the device, never a
// stray access in the kernel process.
//
// Thread-safety: every method may be called from any thread. unmap() waits for
// transfers that pinned the mapping, like an IOMMU unmap waits for DMA to drain.

#include "base/Error.h"
#include "base/Mutex.h"
#include "base/ThreadAnnotations.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>

namespace nk {

enum class DmaDirection : unsigned char {
    ToDevice = 1,      // The device reads this memory.
    FromDevice = 2,    // The device writes this memory.
    Bidirectional = 3,
};

class DmaPin;

class Iommu {
public:
    Iommu() = default;
    Iommu(Iommu const&) = delete;
    Iommu& operator=(Iommu const&) = delete;
    ~Iommu();

    // Maps [cpu, cpu+length) for the device. The caller keeps the memory alive until unmap().
    Result<uint64_t> map(void* cpu, size_t length, DmaDirection direction);
    // Removes the mapping that starts at `iova`, after in-flight transfers end.
    Result<void> unmap(uint64_t iova);
    // Device side: pins [iova, iova+length) for an access in `access` direction.
    Result<DmaPin> pin(uint64_t iova, size_t length, DmaDirection access);

    size_t mapping_count() const;

private:
    friend class DmaPin;
    struct Mapping {
        uint64_t iova;
        size_t length;
        std::byte* cpu;
        DmaDirection direction;
        std::atomic<uint32_t> pins { 0 };
    };

    // Shared: DMA pins from many device engines; exclusive: map and unmap.
    mutable SharedMutex m_mutex;
    std::map<uint64_t, std::unique_ptr<Mapping>> m_mappings NK_GUARDED_BY(m_mutex);
    // IOVAs are never reused, so a stale device address can never reach a new buffer.
    uint64_t m_next_iova NK_GUARDED_BY(m_mutex) { 0x10'0000'0000ull };
};

// A pinned device view of a mapped range. Movable; unpins on destruction.
class DmaPin {
public:
    DmaPin() = default;
    DmaPin(DmaPin&& other) noexcept;
    DmaPin& operator=(DmaPin&& other) noexcept;
    DmaPin(DmaPin const&) = delete;
    DmaPin& operator=(DmaPin const&) = delete;
    ~DmaPin();

    std::span<std::byte> bytes() const { return m_bytes; }

private:
    friend class Iommu;
    DmaPin(std::atomic<uint32_t>* pins, std::span<std::byte> bytes)
        : m_pins(pins)
        , m_bytes(bytes)
    {
    }
    void release();

    std::atomic<uint32_t>* m_pins { nullptr };
    std::span<std::byte> m_bytes;
};

char const* dma_direction_name(DmaDirection direction);

} // namespace nk
