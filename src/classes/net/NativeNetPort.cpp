// SPDX-License-Identifier: MIT
#include "classes/net/NativeNetPort.h"

#include "base/Log.h"
#include "classes/net/NetDevice.h"
#include "kernel/exec/Context.h"
#include "kernel/module/Module.h"
#include "kernel/native/NativeModule.h"

namespace nk {

Result<int> NativeNetPort::open(NetDevice& device)
{
    CrossingScope crossing(m_owner, CrossingScope::Kind::Process);
    if (native_inject(m_owner, abi::DriverEntry::net_open, device.private_data()))
        return 0;
    return m_ops.open(device.handle());
}

Result<int> NativeNetPort::stop(NetDevice& device)
{
    CrossingScope crossing(m_owner, CrossingScope::Kind::Process);
    if (native_inject(m_owner, abi::DriverEntry::net_stop, device.private_data()))
        return 0;
    return m_ops.stop(device.handle());
}

Result<size_t> NativeNetPort::start_xmit_batch(NetDevice& device, std::span<Frame const* const> frames, std::span<int> answers)
{
    // start_xmit may not sleep: run it as atomic so a sleeping call is caught.
    CrossingScope crossing(m_owner, CrossingScope::Kind::Atomic);
    for (size_t i = 0; i < frames.size(); ++i) {
        auto const& frame = *frames[i];
        bool more = i + 1 < frames.size();
        if (native_inject(m_owner, abi::DriverEntry::net_start_xmit, device.private_data(), uint64_t { frame.size() })) {
            answers[i] = NK_NETDEV_TX_OK; // "taken", never sent: what a skipped start_xmit means
            continue;
        }
        answers[i] = m_ops.start_xmit(device.handle(), frame.data(), static_cast<uint32_t>(frame.size()), more);
        if (answers[i] == NK_NETDEV_TX_BUSY)
            return i + 1;
    }
    return frames.size();
}

Result<void> NativeNetPort::set_rx_mode(NetDevice& device, nk_net_rx_mode const& mode)
{
    CrossingScope crossing(m_owner, CrossingScope::Kind::Atomic);
    if (native_inject(m_owner, abi::DriverEntry::net_set_rx_mode, device.private_data()))
        return {};
    m_ops.set_rx_mode(device.handle(), &mode);
    return {};
}

Result<int> NativeNetPort::set_mac_address(NetDevice& device, EthernetAddress const& mac)
{
    if (m_ops.set_mac_address == nullptr)
        return -EOPNOTSUPP;
    CrossingScope crossing(m_owner, CrossingScope::Kind::Process);
    return m_ops.set_mac_address(device.handle(), mac.data());
}

Result<int> NativeNetPort::change_mtu(NetDevice& device, uint32_t mtu)
{
    if (m_ops.change_mtu == nullptr)
        return -EOPNOTSUPP;
    CrossingScope crossing(m_owner, CrossingScope::Kind::Process);
    return m_ops.change_mtu(device.handle(), mtu);
}

void NativeNetPort::tx_timed_out(NetDevice& device, uint64_t stalled_ns)
{
    if (m_ops.tx_timeout == nullptr) {
        log::get("net")->error("{}: transmit timeout after {} ms; the driver has no tx_timeout", device.name(), stalled_ns / 1'000'000);
        return;
    }
    CrossingScope crossing(m_owner, CrossingScope::Kind::Process);
    m_ops.tx_timeout(device.handle());
}

Result<int> NativeNapiPoller::poll(Napi& napi, int budget)
{
    CrossingScope crossing(m_owner, CrossingScope::Kind::Atomic);
    if (native_inject(m_owner, abi::DriverEntry::napi_poll, napi.device().private_data()))
        return 0;
    return m_poll(napi.handle(), budget);
}

} // namespace nk
