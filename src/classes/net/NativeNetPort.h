// SPDX-License-Identifier: MIT
#pragma once

// Native-mode net port and NAPI poller: call the driver's functions directly,
// each inside a CrossingScope (a transmit batch in one, so the doorbell's
// device work runs once, after the batch).

#include "classes/net/Napi.h"
#include "classes/net/NetDriverPort.h"

#include <nooks/net.h>

namespace nk {

class Module;

class NativeNetPort final : public NetDriverPort {
public:
    NativeNetPort(Module& owner, nk_net_ops const& ops)
        : m_owner(owner)
        , m_ops(ops)
    {
    }

    Result<int> open(NetDevice& device) override;
    Result<int> stop(NetDevice& device) override;
    Result<size_t> start_xmit_batch(NetDevice& device, std::span<Frame const* const> frames, std::span<int> answers) override;
    Result<void> set_rx_mode(NetDevice& device, nk_net_rx_mode const& mode) override;
    Result<int> set_mac_address(NetDevice& device, EthernetAddress const& mac) override;
    Result<int> change_mtu(NetDevice& device, uint32_t mtu) override;
    void tx_timed_out(NetDevice& device, uint64_t stalled_ns) override;

private:
    Module& m_owner;
    nk_net_ops const& m_ops;
};

class NativeNapiPoller final : public NapiPoller {
public:
    NativeNapiPoller(Module& owner, nk_napi_poll_fn poll)
        : m_owner(owner)
        , m_poll(poll)
    {
    }
    Result<int> poll(Napi& napi, int budget) override;

private:
    Module& m_owner;
    nk_napi_poll_fn m_poll;
};

} // namespace nk
