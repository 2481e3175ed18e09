// SPDX-License-Identifier: MIT
#pragma once

// The net class's port into an isolated driver, and its NAPI poller.
//
// Transmit: a batch of n frames costs one crossing. The frames are copied into
// one block of the domain's kernel area (the driver may read it, not write
// it) and handed over as n-1 deferred start_xmit calls and a synchronous last
// one, which the domain runs in order; the block is freed when the call has
// returned (a frame is lent for the call only). Once one start_xmit of a
// batch answered BUSY the domain answers BUSY for the rest without calling
// the driver, so frames are never reordered.
//
// Registration: the device is live from its registration on, but the driver
// learns its handle only from the registration's reply. Until the domain says
// it has it (mark_ready, from nk_netdev_register's deferred netdev_ready),
// open, set_mac_address and change_mtu wait for it (up to ready_timeout, then
// Unavailable), and set_rx_mode is skipped (open programs the filter).
//
// Control entries: open, stop, set_mac_address and change_mtu run with the
// device's control lock held (NetDevice); while one runs, the thread it runs
// on knows it (control_entry_running), so a wrapper can refuse a call from
// inside it that would wait for that lock.
//
// A transmit timeout or a receive stall fails the driver (it is recovered);
// every answer is checked (Tainted).

#include "abi/net/Calls.h"
#include "base/Mutex.h"
#include "classes/net/Napi.h"
#include "classes/net/NetDriverPort.h"

#include <atomic>
#include <chrono>

namespace nk {

class IsolatedModule;

class IsolatedNetPort final : public NetDriverPort {
public:
    static constexpr std::chrono::milliseconds ready_timeout { 2000 };

    IsolatedNetPort(IsolatedModule& module, abi::NetOps functions)
        : m_module(module)
        , m_functions(functions)
    {
    }

    void set_handle(uint64_t handle) { m_handle.store(handle, std::memory_order_release); }
    void mark_ready();

    // The name of `device`'s control entry this thread is inside ("open"...), or null.
    static char const* control_entry_running(NetDevice const& device);

    Result<int> open(NetDevice& device) override;
    Result<int> stop(NetDevice& device) override;
    Result<size_t> start_xmit_batch(NetDevice& device, std::span<Frame const* const> frames, std::span<int> answers) override;
    Result<void> set_rx_mode(NetDevice& device, nk_net_rx_mode const& mode) override;
    Result<int> set_mac_address(NetDevice& device, EthernetAddress const& mac) override;
    Result<int> change_mtu(NetDevice& device, uint32_t mtu) override;
    void tx_timed_out(NetDevice& device, uint64_t stalled_ns) override;
    void rx_stalled(NetDevice& device, uint64_t silent_ns, uint64_t frames_waiting) override;

private:
    // The handle once the driver knows it; waits for that if `wait`.
    Result<uint64_t> ready_handle(char const* operation, bool wait);

    IsolatedModule& m_module;
    abi::NetOps const m_functions;
    std::atomic<uint64_t> m_handle { 0 };
    Mutex m_ready_mutex;
    ConditionVariable m_ready_changed;
    bool m_ready NK_GUARDED_BY(m_ready_mutex) { false };
    std::atomic<bool> m_ready_fast { false };
};

class IsolatedNapiPoller final : public NapiPoller {
public:
    IsolatedNapiPoller(IsolatedModule& module, abi::FunctionHandle poll)
        : m_module(module)
        , m_poll(poll)
    {
    }
    // Set when the context is tracked, before the driver can enable it.
    void set_handle(uint64_t handle) { m_handle.store(handle, std::memory_order_release); }
    Result<int> poll(Napi& napi, int budget) override;

private:
    IsolatedModule& m_module;
    abi::FunctionHandle const m_poll;
    std::atomic<uint64_t> m_handle { 0 };
};

} // namespace nk
