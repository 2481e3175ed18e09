// SPDX-License-Identifier: MIT
#include "classes/net/NetLayer.h"

#include "base/Clock.h"
#include "base/Log.h"
#include "classes/net/api/NativeApi.h"
#include "kernel/bus/BusDevice.h"
#include "kernel/module/Module.h"

#include <algorithm>
#include <pthread.h>

namespace nk {

static auto logger() { return log::get("net"); }

namespace {

constexpr uint64_t ns_of(std::chrono::milliseconds duration) { return static_cast<uint64_t>(duration.count()) * 1'000'000ull; }

} // namespace

NetLayer::NetLayer(Options options)
    : m_options(options)
{
    // Every nk_netdev_*/nk_netif_*/nk_napi_* entry point is linked into a kernel that has a net class.
    if (net_api_symbol_count() == 0)
        logger()->critical("the net kernel API is missing");
    m_watchdog = std::thread([this] { watchdog(); });
}

NetLayer::~NetLayer()
{
    {
        MutexLocker lock(m_watchdog_mutex);
        m_stopping = true;
    }
    m_watchdog_changed.notify_all();
    m_watchdog.join();
}

std::vector<std::string> NetLayer::devices_of(Module const& module) const
{
    std::vector<std::string> names;
    MutexLocker lock(m_mutex);
    for (auto const& device : m_devices) {
        if (&device->owner() == &module)
            names.push_back(device->name());
    }
    return names;
}

std::vector<std::string> NetLayer::describe_held(Module const& module) const
{
    std::vector<std::string> lines;
    for (auto const& device : devices()) {
        if (&device->owner() != &module)
            continue;
        auto queued = device->queued();
        lines.push_back(fmt::format("net device {} ({}{}{})", device->name(), device->up() ? "up" : "down",
            queued > 0 ? fmt::format(", {} frames queued", queued) : std::string(), device->queue_stopped() ? ", queue stopped" : ""));
    }
    return lines;
}

Result<std::shared_ptr<NetDevice>> NetLayer::register_device(Module& owner, BusDevice* device, nk_netdev_params const& params,
    std::unique_ptr<NetDriverPort> port, void* private_data)
{
    if (device == nullptr)
        return make_error(ErrorCode::InvalidArgument, "netdev_register: no bus device");
    auto config = TRY(NetDeviceConfig::from_params(params));
    if (auto* tap = m_tap.load(std::memory_order_acquire))
        return tap->register_device(owner, device, config, std::move(port), private_data);
    return create_device(owner, device, config, std::move(port), private_data);
}

Result<std::shared_ptr<NetDevice>> NetLayer::create_device(Module& owner, BusDevice* device, NetDeviceConfig const& config,
    std::unique_ptr<NetDriverPort> port, void* private_data)
{
    std::shared_ptr<NetDevice> created;
    {
        MutexLocker lock(m_mutex);
        auto const& name = device->name();
        if (std::ranges::any_of(m_devices, [&](auto const& d) { return d->name() == name; }))
            return make_error(ErrorCode::AlreadyExists, "netdev_register: {} has a net device already", name);
        created = std::make_shared<NetDevice>(m_next_id++, name, config, owner, device, std::move(port), private_data,
            m_options.tx_queue_length);
        m_devices.push_back(created);
    }
    logger()->info("net device {} registered by {}: {}, mtu {} ({} .. {})", created->name(), owner.name(),
        format_ethernet_address(config.mac), config.mtu, config.min_mtu, config.max_mtu);
    for (auto* listener : listeners())
        listener->device_added(created);
    return created;
}

void NetLayer::kill_and_forget(NetDevice& device)
{
    std::shared_ptr<NetDevice> removed;
    {
        MutexLocker lock(m_mutex);
        auto it = std::ranges::find_if(m_devices, [&](auto const& d) { return d.get() == &device; });
        if (it == m_devices.end())
            return;
        removed = *it;
        m_devices.erase(it);
        m_graveyard.push_back(removed);
    }
    removed->kill();
    logger()->info("net device {} unregistered", removed->name());
    for (auto* listener : listeners())
        listener->device_removed(removed);
}

Result<void> NetLayer::unregister_device(NetDevice& device)
{
    {
        MutexLocker lock(m_mutex);
        if (std::ranges::none_of(m_devices, [&](auto const& d) { return d.get() == &device; }))
            return make_error(ErrorCode::NotFound, "netdev_unregister: the device is not registered");
    }
    // As Linux's unregister_netdev: an up device is brought down first (its driver's stop runs).
    if (auto stopped = device.stop(); !stopped)
        logger()->warn("{}: stop at unregister: {}", device.name(), stopped.error());
    kill_and_forget(device);
    return {};
}

void NetLayer::release_device(NetDevice& device, Module& failed_owner)
{
    auto* tap = m_tap.load(std::memory_order_acquire);
    if (tap != nullptr && !m_shutting_down.load(std::memory_order_acquire) && tap->keep_device(device, failed_owner))
        return;
    kill_and_forget(device);
}

void NetLayer::unregister_all(Module& owner)
{
    for (auto const& device : devices()) {
        if (&device->owner() == &owner)
            release_device(*device, owner);
    }
}

std::shared_ptr<NetDevice> NetLayer::find(std::string const& name) const
{
    MutexLocker lock(m_mutex);
    for (auto const& device : m_devices) {
        if (device->name() == name)
            return device;
    }
    return nullptr;
}

std::vector<std::shared_ptr<NetDevice>> NetLayer::devices() const
{
    MutexLocker lock(m_mutex);
    return m_devices;
}

void NetLayer::add_listener(NetLayerListener& listener)
{
    MutexLocker lock(m_mutex);
    m_listeners.push_back(&listener);
}

void NetLayer::remove_listener(NetLayerListener& listener)
{
    MutexLocker lock(m_mutex);
    std::erase(m_listeners, &listener);
}

std::vector<NetLayerListener*> NetLayer::listeners() const
{
    MutexLocker lock(m_mutex);
    return m_listeners;
}

void NetLayer::set_rx_probe(std::string const& name, RxProbe probe)
{
    MutexLocker lock(m_mutex);
    m_probes[name] = std::move(probe);
}

void NetLayer::set_describer(std::string const& name, Describer describer)
{
    MutexLocker lock(m_mutex);
    m_describers[name] = std::move(describer);
}

std::string NetLayer::describe_hardware(std::string const& name) const
{
    Describer describer;
    {
        MutexLocker lock(m_mutex);
        if (auto it = m_describers.find(name); it != m_describers.end())
            describer = it->second;
    }
    return describer ? describer() : std::string("no hardware state");
}

// ---- The watchdog ----

void NetLayer::restart_rx_watch(NetDevice const& device)
{
    MutexLocker lock(m_watchdog_mutex);
    m_rx_watch.erase(device.id());
}

void NetLayer::watchdog()
{
    pthread_setname_np(pthread_self(), "nk-net-watchdog");
    auto shortest = std::min(m_options.tx_timeout.count() > 0 ? m_options.tx_timeout : std::chrono::milliseconds(1000),
        m_options.rx_stall_timeout.count() > 0 ? m_options.rx_stall_timeout : std::chrono::milliseconds(1000));
    auto period = std::clamp(shortest / 4, std::chrono::milliseconds(10), std::chrono::milliseconds(250));
    MutexLocker lock(m_watchdog_mutex);
    while (!m_stopping) {
        m_watchdog_changed.wait_for(lock, period, [this]() NK_REQUIRES(m_watchdog_mutex) { return m_stopping; });
        if (m_stopping)
            break;
        lock.unlock();
        auto now = monotonic_ns();
        for (auto const& device : devices()) {
            if (!device->alive())
                continue;
            device->expire_carrier_hold(now); // a shadow's hold after a restart whose link never came
            if (device->up())
                check(*device, now);
        }
        lock.lock();
    }
}

void NetLayer::check(NetDevice& device, uint64_t now)
{
    if (m_options.tx_timeout.count() > 0) {
        auto since = device.stalled_since_ns();
        if (since != 0 && now > since && now - since > ns_of(m_options.tx_timeout)) {
            logger()->warn("{}: transmit queue stopped for {} ms with nothing sent ({} frames queued; {}; {})", device.name(),
                (now - since) / 1'000'000, device.queued(), device.describe_napis(), describe_hardware(device.name()));
            device.port().tx_timed_out(device, now - since);
            device.restart_stall_clock(since);
        }
    }
    if (m_options.rx_stall_timeout.count() == 0)
        return;
    RxProbe probe;
    {
        MutexLocker lock(m_mutex);
        if (auto it = m_probes.find(device.name()); it != m_probes.end())
            probe = it->second;
    }
    if (!probe)
        return;
    auto wire = probe();
    auto stats = device.stats();
    auto delivered = stats.rx_packets + stats.rx_dropped;
    bool report = false;
    uint64_t waiting = 0;
    uint64_t silent = 0;
    {
        MutexLocker lock(m_watchdog_mutex);
        auto [entry, first_look] = m_rx_watch.try_emplace(device.id());
        auto& watch = entry->second;
        if (first_look || delivered != watch.delivered || wire < watch.wire) {
            // The driver delivered (or the NIC was reset), or this is the
            // device's first look: frames the NIC took before it existed (a
            // failed driver's device, in nooks mode) are not its to deliver.
            watch = { wire, delivered, 0, false };
        } else if (wire > watch.wire) {
            if (watch.since_ns == 0)
                watch.since_ns = now;
            silent = now - watch.since_ns;
            waiting = wire - watch.wire;
            report = !watch.reported && silent > ns_of(m_options.rx_stall_timeout);
            watch.reported = watch.reported || report;
        }
    }
    if (report) {
        logger()->warn("{}: the NIC took {} frames for it off the wire in {} ms and the driver delivered none", device.name(),
            waiting, silent / 1'000'000);
        device.port().rx_stalled(device, silent, waiting);
    }
}

} // namespace nk
