// SPDX-License-Identifier: MIT
#pragma once

// The net class: the registry of net devices and the events frontends follow,
// registered with the kernel as its "net" class, and its watchdog.
//
// The watchdog checks every up device a few times a second:
//   - transmit timeout: the queue has been stopped longer than tx_timeout
//     (the driver took nothing and woke nothing) -> port.tx_timed_out;
//   - receive stall: the NIC took frames for the device off the wire over
//     rx_stall_timeout and the driver delivered none -> port.rx_stalled. The
//     NIC's count comes from a probe the machine installs per device
//     (set_rx_probe); without one there is no such check.
//
// Thread-safety: all methods may be called from any kernel thread. Listeners
// are called without the registry lock held, on the thread that registered
// or unregistered the device.

#include "base/Error.h"
#include "base/Mutex.h"
#include "classes/net/NetDevice.h"
#include "kernel/class/DriverClass.h"

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <thread>
#include <vector>

namespace nk {

class NetLayerListener {
public:
    virtual ~NetLayerListener() = default;
    virtual void device_added(std::shared_ptr<NetDevice> const& device) = 0;
    // The device is already dead (it drops everything) when this is called.
    virtual void device_removed(std::shared_ptr<NetDevice> const& device) = 0;
};

// A shadow driver's hook into registration (see classes/block/BlockTap.h for
// the block class's): it may wrap the port, hand a restarted driver the
// device it kept, and keep a failed driver's device.
class NetTap {
public:
    virtual ~NetTap() = default;
    virtual Result<std::shared_ptr<NetDevice>> register_device(Module& owner, BusDevice* device, NetDeviceConfig const& config,
        std::unique_ptr<NetDriverPort> port, void* private_data) = 0;
    virtual bool keep_device(NetDevice& device, Module& failed_owner) = 0;
};

class NetLayer final : public DriverClass {
public:
    static constexpr char const* class_name = "net";

    struct Options {
        std::chrono::milliseconds tx_timeout { 5000 };      // 0: no transmit timeout
        std::chrono::milliseconds rx_stall_timeout { 3000 }; // 0: no receive stall check
        size_t tx_queue_length { 1000 };                    // frames, as Linux's txqueuelen
    };

    explicit NetLayer(Options options);
    ~NetLayer() override;
    NetLayer(NetLayer const&) = delete;
    NetLayer& operator=(NetLayer const&) = delete;

    // DriverClass
    std::string_view name() const override { return class_name; }
    std::vector<std::string> devices_of(Module const& module) const override;
    void release_module(Module& module) override { unregister_all(module); }
    void begin_shutdown() override { m_shutting_down.store(true, std::memory_order_release); }
    std::vector<std::string> describe_held(Module const& module) const override;

    // Registers a net device for `owner` on bus device `device` (named after
    // it), through the tap if one is installed. InvalidArgument names the bad
    // parameter; AlreadyExists if the bus device has a live net device.
    Result<std::shared_ptr<NetDevice>> register_device(Module& owner, BusDevice* device, nk_netdev_params const& params,
        std::unique_ptr<NetDriverPort> port, void* private_data);
    // The same, never through the tap (the tap's own way to create one).
    Result<std::shared_ptr<NetDevice>> create_device(Module& owner, BusDevice* device, NetDeviceConfig const& config,
        std::unique_ptr<NetDriverPort> port, void* private_data);
    // The driver unregisters: stops the device if it is up, kills and forgets it.
    Result<void> unregister_device(NetDevice& device);
    // A failed driver's device: killed and forgotten (its driver is not
    // called), unless the tap keeps it for the driver's next instance.
    void release_device(NetDevice& device, Module& failed_owner);
    void unregister_all(Module& owner);

    void set_tap(NetTap* tap) { m_tap.store(tap, std::memory_order_release); }

    std::shared_ptr<NetDevice> find(std::string const& name) const;
    std::vector<std::shared_ptr<NetDevice>> devices() const;

    void add_listener(NetLayerListener& listener);
    void remove_listener(NetLayerListener& listener);

    // How many frames for the device `name` the NIC has taken off the wire
    // (delivered or missed), for the receive stall check. Set at boot.
    using RxProbe = std::function<uint64_t()>;
    void set_rx_probe(std::string const& name, RxProbe probe);
    // The hardware's state in one line, logged with a transmit timeout or a receive stall. Set at boot.
    using Describer = std::function<std::string()>;
    void set_describer(std::string const& name, Describer describer);

    Options options() const { return m_options; }
    // Forgets what the receive-stall watch saw of `device`: its next look
    // starts afresh (a shadow's device handed to a restarted driver).
    void restart_rx_watch(NetDevice const& device);

private:
    std::vector<NetLayerListener*> listeners() const;
    void kill_and_forget(NetDevice& device);
    void watchdog();
    void check(NetDevice& device, uint64_t now);

    Options m_options;
    std::atomic<bool> m_shutting_down { false };
    std::atomic<NetTap*> m_tap { nullptr };

    mutable Mutex m_mutex;
    std::vector<std::shared_ptr<NetDevice>> m_devices NK_GUARDED_BY(m_mutex);
    // Killed devices are kept until shutdown: softirqs and late calls may
    // still name them, and they must find a dead device, not freed memory.
    std::vector<std::shared_ptr<NetDevice>> m_graveyard NK_GUARDED_BY(m_mutex);
    std::vector<NetLayerListener*> m_listeners NK_GUARDED_BY(m_mutex);
    std::map<std::string, RxProbe> m_probes NK_GUARDED_BY(m_mutex);
    std::map<std::string, Describer> m_describers NK_GUARDED_BY(m_mutex);
    std::string describe_hardware(std::string const& name) const;
    uint64_t m_next_id NK_GUARDED_BY(m_mutex) { 1 };

    // Per device (by id): the receive progress the watchdog last saw.
    struct RxWatch {
        uint64_t wire { 0 };
        uint64_t delivered { 0 };
        uint64_t since_ns { 0 }; // when frames began waiting with none delivered
        bool reported { false };
    };
    Mutex m_watchdog_mutex;
    ConditionVariable m_watchdog_changed;
    bool m_stopping NK_GUARDED_BY(m_watchdog_mutex) { false };
    std::map<uint64_t, RxWatch> m_rx_watch NK_GUARDED_BY(m_watchdog_mutex);
    std::thread m_watchdog;
};

} // namespace nk
