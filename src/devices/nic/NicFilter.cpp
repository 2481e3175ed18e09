// SPDX-License-Identifier: MIT
#include "devices/nic/NicFilter.h"

#include <algorithm>

namespace nk {

namespace {

bool is_broadcast(std::span<std::byte const, 6> dst)
{
    return std::ranges::all_of(dst, [](std::byte b) { return b == std::byte { 0xff }; });
}

bool is_multicast(std::span<std::byte const, 6> dst) { return (std::to_integer<uint8_t>(dst[0]) & 1u) != 0; }

// An exact-match slot (RAL: bytes 0..3, RAH[15:0]: bytes 4..5) with RAH.AV.
bool matches_slot(NicFilterRegisters const& registers, std::span<std::byte const, 6> dst)
{
    for (size_t slot = 0; slot < NKNIC_NUM_RA; ++slot) {
        auto const high = registers.rah[slot];
        if ((high & NKNIC_RAH_AV) == 0)
            continue;
        auto const low = registers.ral[slot];
        std::array<uint8_t, 6> address { uint8_t(low), uint8_t(low >> 8), uint8_t(low >> 16), uint8_t(low >> 24),
            uint8_t(high), uint8_t(high >> 8) };
        if (std::ranges::equal(address, dst, {}, {}, [](std::byte b) { return std::to_integer<uint8_t>(b); }))
            return true;
    }
    return false;
}

} // namespace

uint32_t nic_mta_hash(std::span<std::byte const, 6> dst, unsigned mo)
{
    static constexpr unsigned shift[] = { 4, 3, 2, 0 };
    auto const bits = (uint32_t(std::to_integer<uint8_t>(dst[5])) << 8) | std::to_integer<uint8_t>(dst[4]);
    return (bits >> shift[mo & 3u]) & 0xfffu;
}

bool nic_filter_accepts(NicFilterRegisters const& registers, std::span<std::byte const, 6> dst)
{
    auto const rctl = registers.rctl;
    if (is_broadcast(dst))
        return (rctl & NKNIC_RCTL_BAM) != 0;
    if (matches_slot(registers, dst))
        return true;
    if (!is_multicast(dst))
        return (rctl & NKNIC_RCTL_UPE) != 0;
    auto const hash = nic_mta_hash(dst, (rctl & NKNIC_RCTL_MO_MASK) >> NKNIC_RCTL_MO_SHIFT);
    if ((registers.mta[hash >> 5] & (1u << (hash & 31u))) != 0)
        return true;
    return (rctl & NKNIC_RCTL_MPE) != 0;
}

size_t nic_rx_buffer_size(uint32_t rctl)
{
    auto const bsize = (rctl & NKNIC_RCTL_BSIZE_MASK) >> NKNIC_RCTL_BSIZE_SHIFT;
    static constexpr size_t plain[] = { 2048, 1024, 512, 256 };
    static constexpr size_t extended[] = { 2048, 16384, 8192, 4096 };
    return (rctl & NKNIC_RCTL_BSEX) != 0 ? extended[bsize] : plain[bsize];
}

size_t nic_rx_max_frame(uint32_t rctl)
{
    size_t const limit = (rctl & NKNIC_RCTL_LPE) != 0 ? NKNIC_MAX_FRAME : NKNIC_MAX_STD_FRAME;
    return std::min(limit, nic_rx_buffer_size(rctl));
}

} // namespace nk
