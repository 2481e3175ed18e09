// SPDX-License-Identifier: MIT
#pragma once

// The net shadow driver's tap on one net device: the port the net class
// talks to, wrapped around the real driver's port.
//
// Passive (the driver is healthy): every call goes to the driver. The
// configuration needs no log of the tap's own: the net device keeps what the
// stack asked for (up, MAC, MTU, the receive mode) whatever the driver does.
// A transmit batch the driver fails on makes the tap active at once, so no
// later call reaches the failed driver.
// Active (the driver failed, recovery is under way): the tap answers for the
// driver. Transmit batches are not attempted: the frames stay in the
// device's queue (up to its length; then the TAP reader pauses and the
// stack's own queue holds the rest) for the driver's next instance; open,
// stop, MAC, MTU and receive mode changes are accepted (the device records
// them; the shadow replays them); the watchdog's timeouts are ignored (the
// queue is held on purpose, and nobody polls).
//
// Thread-safety: called by the net class from any kernel thread; the shadow
// (NetShadow) switches modes from the recovery thread.

#include "classes/net/NetDevice.h"
#include "classes/net/NetDriverPort.h"
#include "kernel/module/Module.h"

#include <atomic>
#include <memory>

namespace nk {

class ShadowNetPort final : public NetDriverPort {
public:
    ShadowNetPort(std::unique_ptr<NetDriverPort> driver, Module& owner)
        : m_driver(std::shared_ptr<NetDriverPort>(std::move(driver)))
        , m_owner(&owner)
    {
    }

    Result<int> open(NetDevice& device) override;
    Result<int> stop(NetDevice& device) override;
    Result<size_t> start_xmit_batch(NetDevice& device, std::span<Frame const* const> frames, std::span<int> answers) override;
    Result<void> set_rx_mode(NetDevice& device, nk_net_rx_mode const& mode) override;
    Result<int> set_mac_address(NetDevice& device, EthernetAddress const& mac) override;
    Result<int> change_mtu(NetDevice& device, uint32_t mtu) override;
    void tx_timed_out(NetDevice& device, uint64_t stalled_ns) override;
    void rx_stalled(NetDevice& device, uint64_t silent_ns, uint64_t frames_waiting) override;

    // Mode changes (the shadow, on the recovery thread).
    void go_active() { m_active.store(true, std::memory_order_release); }
    // The driver's next instance registered the device: its port replaces
    // the failed one's; `registered` is what it registered with.
    void attach(std::unique_ptr<NetDriverPort> driver, Module& owner, NetDeviceConfig const& registered);
    // The kernel's part of the new instance's initialization: what the stack
    // had configured, in the order a driver expects (MAC, MTU, open, receive
    // mode). An error: the new instance failed, or refused a setting (the
    // settings before it were replayed); the shadow decides what follows.
    Result<void> replay(NetDevice& device);
    void go_passive() { m_active.store(false, std::memory_order_release); }

    bool active() const { return m_active.load(std::memory_order_acquire); }
    // Batches the tap held back for the driver's next instance.
    uint64_t held_batches() const { return m_held_batches.load(std::memory_order_relaxed); }

private:
    // The driver's port, or null while it cannot be used (active mode, or an
    // instance not live yet).
    std::shared_ptr<NetDriverPort> usable_driver() const;

    // Swapped atomically: a thread calling the failed driver's port keeps it
    // alive until it returns.
    std::atomic<std::shared_ptr<NetDriverPort>> m_driver;
    std::atomic<Module*> m_owner;
    std::atomic<bool> m_active { false };
    std::atomic<uint64_t> m_held_batches { 0 };
    // Set by attach (the registering thread, under the shadow's lock) before
    // the shadow's driver_restarted reads it in replay (the recovery thread).
    NetDeviceConfig m_registered;
};

} // namespace nk
