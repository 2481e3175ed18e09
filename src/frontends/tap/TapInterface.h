// SPDX-License-Identifier: MIT
#pragma once

// One net device as applications see it: a TAP interface in their network
// namespace, with the device's MAC and MTU and its configured address. The
// namespace's real Linux stack is the network stack above our driver:
//
//   frames the stack sends on the TAP   -> the device's queue -> start_xmit
//   nk_netif_rx                         -> written to the TAP -> the stack
//   carrier                             -> the TAP's carrier (TUNSETCARRIER)
//   up/down, MTU, MAC, promiscuity,     -> open/stop, change_mtu,
//   all-multicast, the multicast list      set_mac_address, set_rx_mode
//
// What the stack asks of the interface (`ip link set nic0 mtu 9000`,
// tcpdump's promiscuous mode, an IGMP join) is passed to the device by
// link_changed(); what the driver refuses is undone on the interface, so it
// always shows what the device does.
//
// Threads: on_readable() runs on the frontend's event loop; link_changed(),
// refresh() and the destructor on the frontend's control thread; the
// NetUpper callbacks on the driver's threads (each is one system call or a
// source start). When the device's queue is full the reader stops until the
// driver wakes the queue (or the next refresh()), so the stack's own queue
// holds the backlog, as a real NIC's would.

#include "base/Error.h"
#include "base/net/Ipv4Prefix.h"
#include "base/net/NetNamespace.h"
#include "base/net/Rtnetlink.h"
#include "base/net/Tap.h"
#include "classes/net/NetDevice.h"

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nk {

class EventLoop;
class EventSource;

struct TapSpec {
    std::string device;        // the net device ("nic0")
    std::string net_namespace; // where applications run ("nooks")
    std::string interface;     // the TAP's name there
    std::optional<Ipv4Prefix> address;
};

class TapInterface final : public NetUpper {
public:
    struct Stats {
        uint64_t frames_from_stack { 0 }; // read from the TAP
        uint64_t frames_to_stack { 0 };   // written to the TAP
        uint64_t dropped_to_stack { 0 };  // the TAP's queue was full or it was down
        uint64_t pauses { 0 };            // the reader stopped for a full device queue
    };

    // Makes the TAP, gives it the device's MAC, MTU and the address, brings
    // it up, attaches to the device and opens it. Errors name the interface.
    static Result<std::unique_ptr<TapInterface>> create(std::shared_ptr<NetDevice> device, NetNamespace const& ns, TapSpec spec,
        EventLoop& loop);
    // Detaches from the device (it stays as it is) and removes the TAP.
    ~TapInterface() override;
    TapInterface(TapInterface const&) = delete;
    TapInterface& operator=(TapInterface const&) = delete;

    NetDevice& device() const { return *m_device; }
    TapSpec const& spec() const { return m_spec; }
    int ifindex() const { return m_tap.ifindex(); }
    Stats stats() const;

    // The interface changed (an RTM_NEWLINK for it).
    void link_changed(LinkInfo const& link);
    // Reads the multicast list again (Linux sends no event for it) and
    // restarts a reader paused with no wake to come.
    void refresh();

    // NetUpper (driver threads).
    void frame_received(std::span<std::byte const> frame) override;
    void carrier_changed(bool on) override;
    void queue_woken() override;

private:
    TapInterface(std::shared_ptr<NetDevice> device, NetNamespace const& ns, TapSpec spec, Tap tap, Rtnetlink requests);
    void on_readable();
    void apply_rx_mode(LinkInfo const& link);

    std::shared_ptr<NetDevice> m_device;
    NetNamespace const& m_namespace;
    TapSpec const m_spec;
    Tap m_tap;
    Rtnetlink m_requests; // control thread only
    std::unique_ptr<EventSource> m_reader;
    std::vector<std::byte> m_buffer; // loop thread only
    std::atomic<bool> m_paused { false };
    // What was last asked of the device (control thread only).
    std::optional<LinkInfo> m_last_link;
    std::optional<nk_net_rx_mode> m_last_mode;

    std::atomic<uint64_t> m_from_stack { 0 };
    std::atomic<uint64_t> m_to_stack { 0 };
    std::atomic<uint64_t> m_dropped { 0 };
    std::atomic<uint64_t> m_pauses { 0 };
};

} // namespace nk
