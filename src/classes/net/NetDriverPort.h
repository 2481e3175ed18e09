// SPDX-License-Identifier: MIT
#pragma once

// How the net layer reaches a net driver's entry points (struct nk_net_ops):
// directly in native mode, across a protection domain under isolation, and
// through the shadow driver's taps in shadow mode. The net layer is written
// once against this interface.
//
// An error Result means the driver could not run (it failed), not that it
// refused: a refusal is the driver's answer (a negative errno, TX_BUSY).
// Threads and serialization are those of <nooks/net.h>: open, stop,
// set_mac_address and change_mtu in process context, one at a time per
// device; start_xmit_batch one at a time per device (atomic context);
// set_rx_mode one at a time per device (atomic context).

#include "base/Error.h"

#include <nooks/net.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace nk {

class NetDevice;

// A frame the stack sends: the layer's own bytes, lent to the driver for the call.
using Frame = std::vector<std::byte>;
using EthernetAddress = std::array<uint8_t, NK_ETH_ALEN>;

class NetDriverPort {
public:
    virtual ~NetDriverPort() = default;

    virtual Result<int> open(NetDevice& device) = 0;
    virtual Result<int> stop(NetDevice& device) = 0;

    // Hands `frames` to the driver in order (start_xmit, more=false on the
    // last one) and returns how many start_xmit was called for; answers[i]
    // holds its answer (enum nk_netdev_tx). A port may stop after the first
    // NK_NETDEV_TX_BUSY or hand over the whole batch at once; frames answered
    // BUSY, and those not attempted, stay the layer's.
    virtual Result<size_t> start_xmit_batch(NetDevice& device, std::span<Frame const* const> frames, std::span<int> answers) = 0;

    virtual Result<void> set_rx_mode(NetDevice& device, nk_net_rx_mode const& mode) = 0;
    virtual Result<int> set_mac_address(NetDevice& device, EthernetAddress const& mac) = 0;
    virtual Result<int> change_mtu(NetDevice& device, uint32_t mtu) = 0;

    // The transmit queue has been stopped for `stalled_ns` with nothing sent.
    // Called by the net layer's watchdog thread. Native ports call the
    // driver's tx_timeout (if any); isolated ports fail the driver.
    virtual void tx_timed_out(NetDevice& device, uint64_t stalled_ns) = 0;
    // The NIC has taken frames for this device off the wire for `silent_ns`
    // and the driver delivered none: its receive path is dead (an end-to-end
    // check). Called by the watchdog thread. The default logs it; isolated
    // ports fail the driver.
    virtual void rx_stalled(NetDevice& device, uint64_t silent_ns, uint64_t frames_waiting);

    // A frame the driver received, before the stack sees it (for taps).
    virtual void received(NetDevice& device, std::span<std::byte const> frame) { }
};

} // namespace nk
