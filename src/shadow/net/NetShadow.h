// SPDX-License-Identifier: MIT
#pragma once

// The shadow driver of the net class: makes a net driver's failure and
// recovery invisible to applications (shadow mode).
//
//   passive  every net device's port is a ShadowNetPort tap: calls go to the
//            driver; the device itself keeps what the stack configured (up,
//            MAC, MTU, promiscuous and all-multicast, the multicast list).
//   active   (from the moment the driver fails) the tap answers for the
//            driver; the failed driver's device is kept, not unregistered,
//            so its TAP interface stays (same name and ifindex, addresses,
//            routes, open sockets, packet sockets in promiscuous mode) and
//            its carrier stays on for the stack. Frames the stack sends wait
//            in the device's queue; the NIC's counters are carried over.
//   restart  when the driver's next instance registers a net device on the
//            same bus device, the shadow plays the kernel's part: it hands
//            back the same device, replays the configuration (MAC, MTU,
//            open, receive mode), lets the carrier go back to the driver's
//            once its link is up (or after carrier_hold), sends what waited,
//            and goes passive.
//
// Deterministic faults: the frames of a batch the driver failed on go back
// to the queue, are handed to the next instance one at a time, and a frame
// in flight at `max_attempts` failures is dropped alone (NetDevice's
// transmit retries); the device's other traffic goes on.
//
// Thread-safety: register_device/keep_device come from kernel threads doing
// (un)registration; the driver_* calls from the recovering driver's
// recovery thread (several drivers may recover at once).

#include "base/Mutex.h"
#include "classes/net/NetLayer.h"
#include "nooks/recovery/RecoveryObserver.h"
#include "shadow/ClassShadow.h"
#include "shadow/net/ShadowNetPort.h"

#include <chrono>
#include <map>

namespace nk {

class NetShadow final : public ClassShadow, public NetTap, public RecoveryObserver {
public:
    struct Options {
        uint32_t max_attempts { 3 };
        // How long after a restart the stack keeps seeing the carrier on while
        // the new instance's link negotiates.
        std::chrono::milliseconds carrier_hold { 5000 };
    };

    NetShadow(NetLayer& net, Options options);

    // NetTap
    Result<std::shared_ptr<NetDevice>> register_device(Module& owner, BusDevice* device, NetDeviceConfig const& config,
        std::unique_ptr<NetDriverPort> port, void* private_data) override;
    bool keep_device(NetDevice& device, Module& failed_owner) override;

    // RecoveryObserver. The driver's next instance is up (re-initialized).
    void driver_restarted(IsolatedModule& fresh) override;
    // Recovery gave up on `failed`: the devices its driver had kept go (their
    // interfaces with them); other drivers' devices are untouched.
    void driver_given_up(IsolatedModule& failed) override;

    struct DeviceStatus {
        std::string name;
        bool active { false };
        uint32_t failures { 0 };         // driver failures the device lived through
        uint64_t held_batches { 0 };     // transmit batches held back while the driver was down
        uint64_t retried { 0 };          // frames handed again after a failure
        uint64_t failed_alone { 0 };     // frames dropped alone as deterministic faults
        uint64_t longest_stall_ns { 0 }; // longest time from the failure to the replayed restart
        uint64_t last_stall_ns { 0 };
        uint64_t last_link_wait_ns { 0 }; // after the last replay, until the stack had the driver's carrier (its link up)
    };
    std::vector<DeviceStatus> devices() const;
    // ClassShadow: the devices' status as JSON.
    nlohmann::json status() const override;

private:
    struct Shadowed {
        std::weak_ptr<NetDevice> device;
        ShadowNetPort* port { nullptr }; // owned by the device
        // While active: the instance that failed last (compared, never
        // dereferenced: it may be gone), and the driver it was an instance
        // of, which only its next instance may take the device from.
        Module const* failed_owner { nullptr };
        std::string failed_driver; // Module::driver_identity() of the failed instance
        std::string failed_name;   // its name, for messages
        uint64_t active_since { 0 };
        uint64_t replayed_at { 0 }; // when the last restart's replay was done
        DeviceStatus stats;
    };

    NetLayer& m_net;
    Options m_options;
    mutable Mutex m_mutex;
    std::map<std::string, Shadowed> m_devices NK_GUARDED_BY(m_mutex); // by device name
};

} // namespace nk
