// SPDX-License-Identifier: MIT
#pragma once

// A registered net device (nk_netdev): its addresses and MTU, the driver's
// entry points (a port), its transmit queue (the layer's "qdisc": frames the
// stack sent that the driver has not taken yet), its NAPI contexts, its
// carrier and counters, and the stack above it (the frontend).
//
// Transmit: the upper layer enqueues frames and runs the queue; the queue
// hands them to the driver in batches (one crossing per batch when
// isolated) until it is empty or the driver stops it; nk_netif_wake_queue
// runs it again (as a softirq of the waking thread).
//
// Receive: nk_netif_rx copies a frame to the upper layer at once, on the
// driver's thread (its poll).
//
// Lifetime: created by nk_netdev_register, killed by nk_netdev_unregister (or
// when its driver is torn down). A killed device drops every frame and
// refuses every request; the object lives as long as anyone holds a
// shared_ptr (the net layer keeps it until it is destroyed), so a stale
// handle is an error, never a dangling pointer.
//
// Thread-safety: every method may be called from any kernel thread.

#include "base/Clock.h"
#include "base/Error.h"
#include "base/Mutex.h"
#include "classes/net/Napi.h"
#include "classes/net/NetDriverPort.h"

#include <nooks/net.h>

#include <array>
#include <atomic>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace nk {

class BusDevice;
class Module;

std::string format_ethernet_address(EthernetAddress const& address);

struct NetDeviceConfig {
    EthernetAddress mac {};
    uint32_t mtu { NK_ETH_DATA_LEN };
    uint32_t min_mtu { NK_ETH_MIN_MTU };
    uint32_t max_mtu { NK_ETH_DATA_LEN };
    uint32_t features { 0 };

    // Checks what a driver declared; the error names the bad field.
    static Result<NetDeviceConfig> from_params(nk_netdev_params const& params);
};

// What the stack above a device receives from it (the frontend). Called on
// the driver's threads; must not block for long and must not call back into
// the device's transmit path synchronously (queue_woken: schedule it).
class NetUpper {
public:
    virtual ~NetUpper() = default;
    virtual void frame_received(std::span<std::byte const> frame) = 0;
    virtual void carrier_changed(bool on) = 0;
    // The transmit queue has room again (frames the upper held back may come).
    virtual void queue_woken() = 0;
};

struct NetDeviceStats {
    uint64_t rx_packets { 0 };
    uint64_t rx_bytes { 0 };
    uint64_t rx_dropped { 0 };  // received with nobody above, or a bad length
    uint64_t tx_packets { 0 };  // taken by the driver
    uint64_t tx_bytes { 0 };
    uint64_t tx_dropped { 0 };  // refused by the queue (full or down)
    uint64_t tx_busy { 0 };     // answers NK_NETDEV_TX_BUSY
    uint64_t tx_batches { 0 };  // start_xmit batches handed to the driver
    uint64_t tx_retried { 0 };  // frames of a batch the driver failed on, handed to it again
    uint64_t tx_failed_alone { 0 }; // frames dropped alone: the driver failed on each of them every time
    uint64_t carrier_changes { 0 };
    nk_net_hw_stats hw {};
};

class NetDevice {
public:
    NetDevice(uint64_t id, std::string name, NetDeviceConfig config, Module& owner, BusDevice* device,
        std::unique_ptr<NetDriverPort> port, void* private_data, size_t tx_queue_length);
    ~NetDevice();
    NetDevice(NetDevice const&) = delete;
    NetDevice& operator=(NetDevice const&) = delete;

    uint64_t id() const { return m_id; }
    // The bus device's name ("nic0"): the frontend maps it to an interface.
    std::string const& name() const { return m_name; }
    Module& owner() const { return *m_owner.load(std::memory_order_acquire); }
    void set_owner(Module& owner) { m_owner.store(&owner, std::memory_order_release); }
    BusDevice* device() const { return m_device; }
    void* private_data() const { return m_private_data; }
    NetDriverPort& port() { return *m_port; }
    bool alive() const { return m_alive.load(std::memory_order_acquire); }

    EthernetAddress mac() const;
    uint32_t mtu() const;
    NetDeviceConfig config() const;
    nk_net_rx_mode rx_mode() const;
    bool up() const { return m_up.load(std::memory_order_acquire); }
    bool carrier() const { return m_carrier.load(std::memory_order_acquire); }
    bool queue_stopped() const { return m_queue_stopped.load(std::memory_order_acquire); }
    NetDeviceStats stats() const;

    // The stack side (the frontend, the net layer). Process context.
    Result<void> open();
    Result<void> stop();
    Result<void> set_mac_address(EthernetAddress const& mac);
    Result<void> change_mtu(uint32_t mtu);
    // Stores the wish and, if the device is up, tells the driver.
    Result<void> set_rx_mode(nk_net_rx_mode const& mode);

    // Transmit. enqueue() takes a copy of `frame` (false: dropped, the queue
    // is full or the device down or dead); run_queue() hands queued frames
    // to the driver. Any thread; the batch runs on the caller's thread.
    bool enqueue(std::span<std::byte const> frame);
    void run_queue();
    size_t queued() const;
    size_t tx_queue_length() const { return m_tx_queue_length; }
    // The upper found the queue full and holds frames back: its queue_woken()
    // is called once the queue is under half full (or the driver wakes it).
    void notify_when_room() { m_upper_waiting.store(true, std::memory_order_release); }
    // Its NAPI contexts' states, for logs ("napi enabled scheduled, ...").
    std::string describe_napis() const;

    // What a shadow driver changes so applications do not see the driver's
    // failure (src/shadow/net); none of it is used otherwise.
    //
    // Transmit retries: with a limit (0, the default, is none), the frames of
    // a batch the driver failed on go back to the front of the queue instead
    // of being dropped; each is then handed to the driver alone, and one that
    // was in flight at `limit` failures is dropped alone (tx_failed_alone),
    // so a frame that kills the driver every time cannot make a crash loop.
    void set_tx_retry_limit(uint32_t limit) { m_tx_retry_limit.store(limit, std::memory_order_release); }
    // Frames waiting that failed with the driver at least once.
    size_t suspects_queued() const;
    // The carrier the upper sees is held while the driver restarts: the
    // driver's carrier changes are recorded (carrier()) but not passed on
    // until release_carrier(), which passes the driver's carrier on if it
    // differs from what the upper last saw. release_carrier_at(deadline):
    // released at the driver's next carrier_on, or by expire_carrier_hold()
    // (the watchdog) once `deadline_ns` (monotonic) has passed.
    void hold_carrier();
    void release_carrier();
    void release_carrier_at(uint64_t deadline_ns);
    void expire_carrier_hold(uint64_t now_ns);
    bool carrier_held() const { return m_carrier_held.load(std::memory_order_acquire); }
    // When the last hold was released (monotonic ns; 0: never).
    uint64_t carrier_released_ns() const { return m_carrier_released_ns.load(std::memory_order_acquire); }
    // The driver's counters restart from zero with the NIC it resets: from
    // now on they are added to the totals it had reported.
    void carry_hw_stats();
    // Runs `body` with the stack's configuration calls (open, stop, MAC, MTU,
    // receive mode) held off: a shadow's replay and its switch back to the
    // driver happen as one step, so a change the stack makes meanwhile is
    // neither answered by the shadow and lost nor replayed twice.
    template<typename Body>
    void with_configuration_held(Body&& body)
    {
        MutexLocker control(m_control_mutex);
        body();
    }

    void attach_upper(NetUpper* upper);

    // The driver side (its nk_* calls).
    void netif_rx(std::span<std::byte const> frame);
    void start_queue();
    void stop_queue();
    void wake_queue();
    void carrier_on();
    void carrier_off();
    void update_hw_stats(nk_net_hw_stats const& stats);
    Napi& add_napi(std::unique_ptr<NapiPoller> poller, int weight);
    // Disables and forgets the context (it stays allocated: late softirqs may name it).
    void del_napi(Napi& napi);

    // For the watchdog: when the queue was last stopped with frames waiting
    // (0: running), and the driver's receive progress.
    uint64_t stalled_since_ns() const { return m_stalled_since_ns.load(std::memory_order_acquire); }
    // After a timeout was reported: the next report comes a whole timeout later.
    void restart_stall_clock(uint64_t since)
    {
        m_stalled_since_ns.compare_exchange_strong(since, since == 0 ? 0 : monotonic_ns());
    }

    // Unregisters: stops the transmit queue, disables every NAPI context,
    // drops what is queued; the device refuses everything from now on.
    void kill();

    nk_netdev* handle() { return reinterpret_cast<nk_netdev*>(this); }
    static NetDevice& from_handle(nk_netdev* device) { return *reinterpret_cast<NetDevice*>(device); }

private:
    static void run_queue_softirq(void* device);
    // Passes the carrier on to the upper unless it is held or the upper knows it.
    void tell_upper_carrier();
    // Hands one batch to the driver; false when nothing more can go now.
    bool transmit_batch();

    uint64_t m_id;
    std::string m_name;
    std::atomic<Module*> m_owner;
    BusDevice* m_device;
    std::unique_ptr<NetDriverPort> m_port;
    void* m_private_data;
    size_t m_tx_queue_length;
    std::atomic<bool> m_upper_waiting { false };
    std::atomic<bool> m_alive { true };
    std::atomic<bool> m_up { false };
    std::atomic<bool> m_carrier { false };
    std::atomic<bool> m_queue_stopped { true };
    std::atomic<uint64_t> m_stalled_since_ns { 0 };

    // Configuration (what the stack asked for); the control lock serializes
    // open/stop/set_mac/change_mtu (the driver's process-context entries).
    Mutex m_control_mutex;
    mutable Mutex m_config_mutex;
    NetDeviceConfig m_config NK_GUARDED_BY(m_config_mutex);
    nk_net_rx_mode m_rx_mode NK_GUARDED_BY(m_config_mutex) {};

    // The transmit queue. m_tx_running: one thread hands batches to the
    // driver at a time; others only enqueue (the runner sees their frames).
    struct QueuedFrame {
        Frame frame;
        uint32_t failures { 0 }; // driver failures it was in flight at
    };
    mutable Mutex m_queue_mutex;
    std::deque<QueuedFrame> m_queue NK_GUARDED_BY(m_queue_mutex);
    std::atomic<uint32_t> m_tx_retry_limit { 0 };
    bool m_tx_running NK_GUARDED_BY(m_queue_mutex) { false };
    bool m_tx_again NK_GUARDED_BY(m_queue_mutex) { false };
    // BUSY answers in a row with the queue left running (the transmit runner only).
    static constexpr unsigned max_busy_unstopped = 16;
    unsigned m_busy_unstopped { 0 };

    Mutex m_upper_mutex;
    NetUpper* m_upper NK_GUARDED_BY(m_upper_mutex) { nullptr };
    bool m_upper_carrier NK_GUARDED_BY(m_upper_mutex) { false }; // what the upper was told
    std::atomic<bool> m_carrier_held { false };
    std::atomic<uint64_t> m_carrier_hold_deadline_ns { 0 }; // 0: held until release_carrier()
    std::atomic<uint64_t> m_carrier_released_ns { 0 };

    mutable Mutex m_napi_mutex;
    std::vector<std::unique_ptr<Napi>> m_napis NK_GUARDED_BY(m_napi_mutex);

    mutable Mutex m_stats_mutex;
    NetDeviceStats m_stats NK_GUARDED_BY(m_stats_mutex);
    nk_net_hw_stats m_hw_base NK_GUARDED_BY(m_stats_mutex) {}; // carried over from before a reset
};

} // namespace nk
