// SPDX-License-Identifier: MIT
#include "shadow/net/NetShadow.h"

#include "base/Clock.h"
#include "base/Log.h"
#include "base/Units.h"
#include "kernel/bus/BusDevice.h"
#include "kernel/module/Module.h"
#include "nooks/module/IsolatedModule.h"

namespace nk {

static auto logger() { return log::get("shadow"); }


NetShadow::NetShadow(NetLayer& net, Options options)
    : m_net(net)
    , m_options(options)
{
}

Result<std::shared_ptr<NetDevice>> NetShadow::register_device(Module& owner, BusDevice* device, NetDeviceConfig const& config,
    std::unique_ptr<NetDriverPort> port, void* private_data)
{
    MutexLocker lock(m_mutex);
    auto name = device->name();
    auto it = m_devices.find(name);
    if (it != m_devices.end() && it->second.failed_owner != nullptr) {
        // The restarted driver asks for its device: the same one, with its interface.
        auto& shadowed = it->second;
        auto kept = shadowed.device.lock();
        if (!kept || !kept->alive()) {
            // Gone meanwhile (unregistered at shutdown, say): a new device, as without a shadow.
            m_devices.erase(it);
        } else {
            // Only the failed driver's next instance gets the live device; anyone
            // else asking meanwhile is refused as if it were registered.
            if (owner.driver_identity() != shadowed.failed_driver || kept->device() != device)
                return make_error(ErrorCode::AlreadyExists, "netdev_register: {} is kept for {}'s next instance; {} may not take it", name,
                    shadowed.failed_name, owner.name());
            if (private_data != kept->private_data())
                return make_error(ErrorCode::InvalidArgument,
                    "netdev_register: {} comes back with other private data; the shadow cannot hand it the old device", name);
            auto old = kept->config();
            if (old.mtu < config.min_mtu || old.mtu > config.max_mtu)
                return make_error(ErrorCode::InvalidArgument,
                    "netdev_register: {} comes back unable to take its MTU {} ({} .. {}); the shadow cannot hand it the old device", name,
                    old.mtu, config.min_mtu, config.max_mtu);
            shadowed.port->attach(std::move(port), owner, config);
            kept->set_owner(owner);
            logger()->info("{}: reattached to {}'s new instance", name, owner.name());
            return kept;
        }
    }
    lock.unlock();
    // A new device: shadowed from now on.
    auto tap = std::make_unique<ShadowNetPort>(std::move(port), owner);
    auto* tap_raw = tap.get();
    auto created = TRY(m_net.create_device(owner, device, config, std::move(tap), private_data));
    created->set_tx_retry_limit(m_options.max_attempts);
    lock.lock();
    auto& shadowed = m_devices[name];
    shadowed = Shadowed {};
    shadowed.device = created;
    shadowed.port = tap_raw;
    shadowed.stats.name = name;
    return created;
}

bool NetShadow::keep_device(NetDevice& device, Module& failed_owner)
{
    MutexLocker lock(m_mutex);
    auto it = m_devices.find(device.name());
    if (it == m_devices.end() || it->second.device.lock().get() != &device)
        return false; // not ours
    auto& shadowed = it->second;
    // Kept already, for this driver: an instance that took it and failed (or
    // stopped) before its restart was done leaves it kept for the next one.
    bool kept_for_this_driver = shadowed.failed_owner != nullptr && shadowed.failed_driver == failed_owner.driver_identity();
    if (failed_owner.state() != ModuleState::Failed && !kept_for_this_driver)
        return false; // a driver unloading normally: really unregister
    if (shadowed.failed_owner == &failed_owner)
        return true; // released twice (tracker, then the class): one failure
    bool was_active = shadowed.failed_owner != nullptr;
    shadowed.port->go_active();
    shadowed.failed_owner = &failed_owner;
    shadowed.failed_driver = failed_owner.driver_identity();
    shadowed.failed_name = failed_owner.name();
    shadowed.stats.failures++;
    if (was_active)
        return true; // the outage goes on: its clock, hold and saved counters stand
    // The stack keeps its link; the queue waits for the next instance to
    // start it (as it would for a device just opened); the NIC's counters
    // start again from zero with the reset.
    device.hold_carrier();
    device.carrier_off(); // the driver's carrier: the next instance starts without one, as a new device does
    device.stop_queue();
    device.carry_hw_stats();
    shadowed.active_since = monotonic_ns();
    logger()->info("{}: driver {} failed; the shadow answers for it ({} frames wait)", device.name(), failed_owner.name(),
        device.queued());
    return true;
}

void NetShadow::driver_restarted(IsolatedModule& fresh)
{
    std::vector<std::pair<std::shared_ptr<NetDevice>, Shadowed*>> ready;
    {
        MutexLocker lock(m_mutex);
        for (auto& [name, shadowed] : m_devices) {
            auto device = shadowed.device.lock();
            if (device && shadowed.failed_owner != nullptr && &device->owner() == &fresh)
                ready.emplace_back(std::move(device), &shadowed);
        }
    }
    for (auto& [device, shadowed] : ready) {
        bool passive = false;
        uint64_t stall = 0;
        // The replay and the switch back are one step for the stack's
        // configuration calls: what it changes meanwhile waits and then goes
        // to the driver.
        device->with_configuration_held([&] {
            auto replayed = shadowed->port->replay(*device);
            if (!replayed && !fresh.failure()) {
                // A healthy instance that refused part of the configuration: the
                // device serves with what it took rather than not at all.
                logger()->warn("{}: {}; the device goes on without it", device->name(), replayed.error());
            }
            MutexLocker lock(m_mutex);
            if (fresh.failure()) {
                // The new instance failed already (in the replay, or just after):
                // the device stays active for the instance after it.
                logger()->warn("{}: {} failed while it was being given the device back", device->name(), fresh.name());
                return;
            }
            stall = monotonic_ns() - shadowed->active_since;
            shadowed->failed_owner = nullptr;
            shadowed->replayed_at = monotonic_ns();
            shadowed->stats.last_stall_ns = stall;
            shadowed->stats.longest_stall_ns = std::max(shadowed->stats.longest_stall_ns, stall);
            // The link negotiates again after the NIC's reset: the stack sees the
            // driver's carrier once it is up (or, if it never comes, after the hold).
            device->release_carrier_at(monotonic_ns() + static_cast<uint64_t>(m_options.carrier_hold.count()) * 1'000'000ull);
            // The watchdog counts from now, not from the failure: a stopped
            // queue, and frames for us the driver has not delivered.
            device->restart_stall_clock(device->stalled_since_ns());
            m_net.restart_rx_watch(*device);
            shadowed->port->go_passive();
            passive = true;
        });
        if (!passive)
            continue;
        auto suspects = device->suspects_queued();
        // What waited goes now if the driver has started its queue already;
        // otherwise its wake (at link up) sends it.
        device->run_queue();
        logger()->info("{}: back with {}: configuration replayed, {} frames waiting{}; applications waited {}", device->name(),
            fresh.name(), device->queued(), suspects > 0 ? fmt::format(" ({} sent one at a time: they were in flight when it failed)", suspects) : "",
            format_duration_ns(stall));
    }
}

void NetShadow::driver_given_up(IsolatedModule& failed)
{
    std::vector<std::shared_ptr<NetDevice>> doomed;
    {
        MutexLocker lock(m_mutex);
        for (auto it = m_devices.begin(); it != m_devices.end();) {
            auto device = it->second.device.lock();
            if (device && it->second.failed_owner != nullptr && it->second.failed_driver == failed.driver_identity()) {
                doomed.push_back(std::move(device));
                it = m_devices.erase(it);
            } else {
                ++it;
            }
        }
    }
    for (auto const& device : doomed) {
        logger()->warn("{}: its driver is not coming back; the device and its interface go", device->name());
        device->release_carrier();
        (void)m_net.unregister_device(*device);
    }
}

std::vector<NetShadow::DeviceStatus> NetShadow::devices() const
{
    MutexLocker lock(m_mutex);
    std::vector<DeviceStatus> result;
    for (auto const& [name, shadowed] : m_devices) {
        auto status = shadowed.stats;
        status.active = shadowed.port->active();
        status.held_batches = shadowed.port->held_batches();
        if (auto device = shadowed.device.lock()) {
            auto stats = device->stats();
            status.retried = stats.tx_retried;
            status.failed_alone = stats.tx_failed_alone;
            auto released = device->carrier_released_ns();
            if (shadowed.replayed_at != 0 && released >= shadowed.replayed_at && !device->carrier_held())
                status.last_link_wait_ns = released - shadowed.replayed_at;
        }
        result.push_back(status);
    }
    return result;
}

nlohmann::json NetShadow::status() const
{
    nlohmann::json list = nlohmann::json::array();
    for (auto const& device : devices()) {
        list.push_back({ { "name", device.name }, { "active", device.active }, { "failures", device.failures },
            { "held_batches", device.held_batches }, { "retried", device.retried }, { "failed_alone", device.failed_alone },
            { "longest_stall_us", device.longest_stall_ns / 1000 }, { "last_stall_us", device.last_stall_ns / 1000 },
            { "last_link_wait_us", device.last_link_wait_ns / 1000 } });
    }
    return { { "net_devices", list } };
}

} // namespace nk
