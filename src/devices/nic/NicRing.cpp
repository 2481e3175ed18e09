// SPDX-License-Identifier: MIT
#include "devices/nic/NicRing.h"

#include <hw/nknic.h>

namespace nk {

static_assert(sizeof(nknic_rx_desc) == NicRing::descriptor_size);
static_assert(sizeof(nknic_tx_desc) == NicRing::descriptor_size);
static_assert(NKNIC_REG_RDT - NKNIC_REG_RDBAL == NKNIC_REG_TDT - NKNIC_REG_TDBAL);

namespace {

// Offsets within the block (RDBAL..RDT and TDBAL..TDT alike).
constexpr uint32_t base_low_offset = NKNIC_REG_RDBAL - NKNIC_REG_RDBAL;
constexpr uint32_t base_high_offset = NKNIC_REG_RDBAH - NKNIC_REG_RDBAL;
constexpr uint32_t length_offset = NKNIC_REG_RDLEN - NKNIC_REG_RDBAL;
constexpr uint32_t head_offset = NKNIC_REG_RDH - NKNIC_REG_RDBAL;
constexpr uint32_t tail_offset = NKNIC_REG_RDT - NKNIC_REG_RDBAL;

} // namespace

std::optional<uint32_t> NicRing::read(uint32_t relative) const
{
    switch (relative) {
    case base_low_offset: return base_low;
    case base_high_offset: return base_high;
    case length_offset: return length;
    case head_offset: return head;
    case tail_offset: return tail;
    default: return std::nullopt;
    }
}

bool NicRing::write(uint32_t relative, uint32_t value)
{
    switch (relative) {
    case base_low_offset: base_low = value; return true;
    case base_high_offset: base_high = value; return true;
    case length_offset: length = value; return true;
    case head_offset: head = value; return true;
    case tail_offset: tail = value; return true;
    default: return false;
    }
}

NicRing::Fault NicRing::check(Iommu& iommu) const
{
    if (length == 0 || length % 128 != 0 || length > max_length || base() % descriptor_size != 0)
        return Fault::Ring;
    // The device reads descriptors and writes their status back.
    if (!iommu.pin(base(), length, DmaDirection::Bidirectional))
        return Fault::Ring;
    if (head >= size() || tail >= size())
        return Fault::Pointer;
    return Fault::None;
}

Result<DmaPin> NicRing::descriptor(Iommu& iommu, uint32_t index) const
{
    return iommu.pin(base() + uint64_t(index) * descriptor_size, descriptor_size, DmaDirection::Bidirectional);
}

} // namespace nk
