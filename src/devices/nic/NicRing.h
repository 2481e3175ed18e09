// SPDX-License-Identifier: MIT
#pragma once

// One NKNIC descriptor ring (<hw/nknic.h>): its five registers (base low and
// high, length, head, tail; the receive and transmit blocks have the same
// layout) and whether a misprogramming stopped it. Plain data: the device
// holds its rings under its lock and calls these from there.

#include "base/Error.h"
#include "kernel/dma/Iommu.h"

#include <cstdint>
#include <optional>

namespace nk {

struct NicRing {
    // The ring's register block: RDBAL/TDBAL + [0, block_size).
    static constexpr uint32_t block_size = 0x20;
    static constexpr uint32_t descriptor_size = 16;
    static constexpr uint32_t max_length = 65536;

    uint32_t base_low { 0 };
    uint32_t base_high { 0 };
    uint32_t length { 0 }; // bytes
    uint32_t head { 0 };
    uint32_t tail { 0 };
    bool stopped { false }; // misprogrammed: dead until the device is reset

    // A register of the block at `relative` (from the base register), or
    // nullopt for a hole in the block.
    std::optional<uint32_t> read(uint32_t relative) const;
    // Writes one; false for a hole (nothing changes).
    bool write(uint32_t relative, uint32_t value);

    uint64_t base() const { return (uint64_t(base_high) << 32) | base_low; }
    uint32_t size() const { return length / descriptor_size; } // descriptors
    uint32_t next(uint32_t index) const { return index + 1 == size() ? 0 : index + 1; }
    // Descriptors the device owns: from head up to, not including, tail.
    uint32_t owned() const { return (tail + size() - head) % size(); }

    enum class Fault : unsigned char {
        None,
        Ring,    // base not 16-aligned, length 0, not a multiple of 128 or over 65536, or not mapped both ways
        Pointer, // head or tail past the end
    };
    // Checks the programming before the device uses the ring.
    Fault check(Iommu& iommu) const;

    // Pins descriptor `index` (< size()) for the device to read and write.
    Result<DmaPin> descriptor(Iommu& iommu, uint32_t index) const;
};

} // namespace nk
