// SPDX-License-Identifier: MIT
#include "shadow/net/ShadowNetPort.h"

namespace nk {

std::shared_ptr<NetDriverPort> ShadowNetPort::usable_driver() const
{
    if (m_active.load(std::memory_order_acquire))
        return nullptr;
    auto state = m_owner.load(std::memory_order_acquire)->state();
    if (state == ModuleState::Failed || state == ModuleState::Stopped)
        return nullptr; // failed, and the shadow has not heard yet
    return m_driver.load(std::memory_order_acquire);
}

Result<int> ShadowNetPort::open(NetDevice& device)
{
    if (auto driver = usable_driver())
        return driver->open(device);
    return 0; // the device is up for the stack; the driver's next instance is opened at replay
}

Result<int> ShadowNetPort::stop(NetDevice& device)
{
    if (auto driver = usable_driver())
        return driver->stop(device);
    return 0;
}

Result<size_t> ShadowNetPort::start_xmit_batch(NetDevice& device, std::span<Frame const* const> frames, std::span<int> answers)
{
    auto driver = usable_driver();
    if (!driver) {
        // Held in the device's queue for the driver's next instance.
        m_held_batches.fetch_add(1, std::memory_order_relaxed);
        return 0;
    }
    auto sent = driver->start_xmit_batch(device, frames, answers);
    // The driver failed with the batch: nothing more reaches it. (An error
    // that did not fail the driver, such as no room to lend the frames, is
    // the layer's to handle.)
    if (!sent && m_owner.load(std::memory_order_acquire)->state() == ModuleState::Failed)
        go_active();
    return sent;
}

Result<void> ShadowNetPort::set_rx_mode(NetDevice& device, nk_net_rx_mode const& mode)
{
    if (auto driver = usable_driver())
        return driver->set_rx_mode(device, mode);
    return {}; // recorded by the device, replayed
}

Result<int> ShadowNetPort::set_mac_address(NetDevice& device, EthernetAddress const& mac)
{
    if (auto driver = usable_driver())
        return driver->set_mac_address(device, mac);
    return 0;
}

Result<int> ShadowNetPort::change_mtu(NetDevice& device, uint32_t mtu)
{
    if (auto driver = usable_driver())
        return driver->change_mtu(device, mtu);
    return 0;
}

void ShadowNetPort::tx_timed_out(NetDevice& device, uint64_t stalled_ns)
{
    if (auto driver = usable_driver())
        driver->tx_timed_out(device, stalled_ns);
}

void ShadowNetPort::rx_stalled(NetDevice& device, uint64_t silent_ns, uint64_t frames_waiting)
{
    if (auto driver = usable_driver())
        driver->rx_stalled(device, silent_ns, frames_waiting);
}

void ShadowNetPort::attach(std::unique_ptr<NetDriverPort> driver, Module& owner, NetDeviceConfig const& registered)
{
    m_registered = registered;
    m_driver.store(std::shared_ptr<NetDriverPort>(std::move(driver)), std::memory_order_release);
    m_owner.store(&owner, std::memory_order_release);
}

Result<void> ShadowNetPort::replay(NetDevice& device)
{
    auto driver = m_driver.load(std::memory_order_acquire);
    auto wanted = device.config();
    auto refused = [](char const* what, int answer) -> Result<void> {
        if (answer == 0)
            return {};
        return std::unexpected(Error::from_errno(-answer, fmt::format("replaying {}: the driver refused", what)));
    };
    // The order a driver expects: the address and MTU of a device that is
    // down, then open, then the receive filter of an up device.
    if (wanted.mac != m_registered.mac)
        TRY(refused("the MAC address", TRY(driver->set_mac_address(device, wanted.mac))));
    if (wanted.mtu != m_registered.mtu)
        TRY(refused("the MTU", TRY(driver->change_mtu(device, wanted.mtu))));
    if (device.up()) {
        TRY(refused("open", TRY(driver->open(device))));
        TRY(driver->set_rx_mode(device, device.rx_mode()));
    }
    return {};
}

} // namespace nk
