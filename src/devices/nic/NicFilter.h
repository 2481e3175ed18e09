// SPDX-License-Identifier: MIT
#pragma once

// The NKNIC receive filter and frame sizes (<hw/nknic.h>), as pure functions of
// the filter registers: the device calls them under its lock, with a copy of
// nothing; tests call them directly.

#include <hw/nknic.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace nk {

// The registers the filter reads.
struct NicFilterRegisters {
    uint32_t rctl { 0 };
    std::array<uint32_t, NKNIC_NUM_RA> ral {};
    std::array<uint32_t, NKNIC_NUM_RA> rah {};
    std::array<uint32_t, NKNIC_NUM_MTA> mta {};
};

// The 12-bit multicast table index of destination address `dst` (6 bytes)
// under RCTL.MO = `mo` (0..3), as the 8254x computes it: bits
// [47:36], [46:35], [45:34] or [43:32] of the address. The bit is
// MTA[hash >> 5] bit (hash & 31).
uint32_t nic_mta_hash(std::span<std::byte const, 6> dst, unsigned mo);

// Whether a frame whose destination address is `dst` passes the filter:
// broadcast needs RCTL.BAM; unicast an exact-match slot with RAH.AV, or
// RCTL.UPE; multicast an exact-match slot, its MTA bit, or RCTL.MPE.
bool nic_filter_accepts(NicFilterRegisters const& registers, std::span<std::byte const, 6> dst);

// The receive buffer size RCTL.BSIZE/BSEX select (BSEX with BSIZE 00 is
// reserved: 2048, as without BSEX).
size_t nic_rx_buffer_size(uint32_t rctl);

// The longest frame the receiver takes: NKNIC_MAX_FRAME with RCTL.LPE, else
// NKNIC_MAX_STD_FRAME, and never more than the buffer size.
size_t nic_rx_max_frame(uint32_t rctl);

} // namespace nk
