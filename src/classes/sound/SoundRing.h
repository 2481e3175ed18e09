// SPDX-License-Identifier: MIT
#pragma once

// A stream's ring: page-aligned kernel memory mapped through the card's
// IOMMU for the card to reach by DMA (the driver gets the device address in
// hw_params and never touches a sample). The layer copies the
// applications' samples in and out, wrapping at the end.
//
// Lifetime: owned by its PcmSubstream; unmapped (which waits for DMA
// transfers in flight) before the memory is freed.
// Thread-safety: none of its own; the substream serializes it.

#include "base/Error.h"
#include "kernel/dma/Iommu.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace nk {

class SoundRing {
public:
    // `bytes` of zeroed memory mapped for `iommu` in `direction`.
    static Result<std::unique_ptr<SoundRing>> create(Iommu& iommu, uint32_t bytes, DmaDirection direction);
    ~SoundRing();
    SoundRing(SoundRing const&) = delete;
    SoundRing& operator=(SoundRing const&) = delete;

    uint32_t bytes() const { return m_bytes; }
    uint64_t dma_address() const { return m_iova; }

    // Copies `data` into the ring at `offset` (wrapping); data.size() <= bytes().
    void write(uint32_t offset, std::span<std::byte const> data);
    // Copies out of the ring at `offset` (wrapping); out.size() <= bytes().
    void read(uint32_t offset, std::span<std::byte> out) const;
    // Fills `length` bytes at `offset` (wrapping) with `value` (silence).
    void fill(uint32_t offset, uint32_t length, std::byte value);

private:
    SoundRing(Iommu& iommu, std::byte* memory, uint32_t bytes, uint64_t iova)
        : m_iommu(iommu)
        , m_memory(memory)
        , m_bytes(bytes)
        , m_iova(iova)
    {
    }

    Iommu& m_iommu;
    std::byte* m_memory;
    uint32_t m_bytes;
    uint64_t m_iova;
};

} // namespace nk
