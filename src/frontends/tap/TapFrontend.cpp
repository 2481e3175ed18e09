// SPDX-License-Identifier: MIT
#include "frontends/tap/TapFrontend.h"

#include "base/Log.h"
#include "kernel/events/EventLoop.h"

namespace nk {

namespace {

auto logger() { return log::get("tap"); }

} // namespace

Result<std::unique_ptr<TapFrontend>> TapFrontend::create(NetLayer& layer, Options options)
{
    std::unique_ptr<TapFrontend> frontend(new TapFrontend(layer, std::move(options)));
    if (auto started = frontend->start(); !started) {
        frontend->stop();
        return std::unexpected(std::move(started).error());
    }
    return frontend;
}

TapFrontend::TapFrontend(NetLayer& layer, Options options)
    : m_layer(layer)
    , m_options(std::move(options))
{
}

TapFrontend::~TapFrontend() { stop(); }

Result<void> TapFrontend::start()
{
    for (auto const& spec : m_options.interfaces) {
        if (m_namespaces.contains(spec.net_namespace))
            continue;
        auto ns = NetNamespace::create(spec.net_namespace);
        if (!ns)
            return make_error(ns.error().code(), "the applications' network namespace: {}", ns.error().message());
        // Programs there talk to themselves over loopback too (a server on 127.0.0.1).
        if (auto requests = Rtnetlink::open(*ns); requests)
            TRY(requests->set_up("lo", true));
        m_namespaces.emplace(spec.net_namespace, std::move(*ns));
    }
    m_loop = TRY(EventLoop::create());
    for (auto const& [name, ns] : m_namespaces) {
        auto monitor = std::make_unique<Rtnetlink>(TRY(Rtnetlink::monitor(ns)));
        auto* monitor_raw = monitor.get();
        auto const* ns_raw = &ns;
        auto source = TRY(m_loop->watch_fd(fmt::format("links of {}", name), monitor->fd(),
            [this, ns_raw, monitor_raw] { on_link_events(*ns_raw, *monitor_raw); }));
        TRY(source->start());
        m_monitors.push_back(std::move(monitor));
        m_monitor_sources.push_back(std::move(source));
    }
    m_control = std::thread([this] { control_loop(); });
    m_layer.add_listener(*this);
    m_listening = true;
    for (auto const& device : m_layer.devices())
        device_added(device);
    return {};
}

void TapFrontend::stop()
{
    if (m_listening) {
        m_layer.remove_listener(*this);
        m_listening = false;
    }
    {
        MutexLocker lock(m_mutex);
        m_stopping = true;
    }
    m_changed.notify_all();
    if (m_control.joinable())
        m_control.join();
    m_monitor_sources.clear();
    m_monitors.clear();
    std::map<std::string, std::unique_ptr<TapInterface>> interfaces;
    {
        MutexLocker lock(m_mutex);
        interfaces.swap(m_interfaces);
    }
    interfaces.clear(); // TAPs go before their namespaces
    m_loop.reset();
    m_namespaces.clear();
}

std::vector<std::pair<std::string, std::string>> TapFrontend::endpoints() const
{
    std::vector<std::pair<std::string, std::string>> result;
    MutexLocker lock(m_mutex);
    for (auto const& [device, interface] : m_interfaces)
        result.emplace_back(device, fmt::format("{}/{}", interface->spec().net_namespace, interface->spec().interface));
    return result;
}

std::optional<TapInterface::Stats> TapFrontend::stats(std::string const& device) const
{
    MutexLocker lock(m_mutex);
    auto it = m_interfaces.find(device);
    if (it == m_interfaces.end())
        return std::nullopt;
    return it->second->stats();
}

void TapFrontend::device_added(std::shared_ptr<NetDevice> const& device)
{
    post([this, device] { attach(device); });
}

void TapFrontend::device_removed(std::shared_ptr<NetDevice> const& device)
{
    post([this, device] { detach(device); });
}

void TapFrontend::post(std::function<void()> task)
{
    {
        MutexLocker lock(m_mutex);
        if (m_stopping)
            return;
        m_tasks.push_back(std::move(task));
    }
    m_changed.notify_all();
}

void TapFrontend::control_loop()
{
    auto next_refresh = std::chrono::steady_clock::now() + m_options.refresh;
    for (;;) {
        std::function<void()> task;
        {
            MutexLocker lock(m_mutex);
            m_changed.wait_until(lock, next_refresh, [this]() NK_REQUIRES(m_mutex) { return m_stopping || !m_tasks.empty(); });
            if (m_stopping)
                return;
            if (!m_tasks.empty()) {
                task = std::move(m_tasks.front());
                m_tasks.pop_front();
            }
        }
        if (task) {
            task();
            continue;
        }
        next_refresh = std::chrono::steady_clock::now() + m_options.refresh;
        std::vector<TapInterface*> interfaces;
        {
            MutexLocker lock(m_mutex);
            for (auto const& [name, interface] : m_interfaces)
                interfaces.push_back(interface.get());
        }
        // Interfaces are destroyed only on this thread: the pointers stay good.
        for (auto* interface : interfaces)
            interface->refresh();
    }
}

void TapFrontend::attach(std::shared_ptr<NetDevice> const& device)
{
    if (!device->alive())
        return;
    auto spec = std::find_if(m_options.interfaces.begin(), m_options.interfaces.end(),
        [&](TapSpec const& candidate) { return candidate.device == device->name(); });
    if (spec == m_options.interfaces.end()) {
        logger()->info("{}: no interface is configured for it; applications cannot reach it", device->name());
        return;
    }
    {
        // A previous device of that name (a failed driver's) and its interface go first.
        std::unique_ptr<TapInterface> previous;
        MutexLocker lock(m_mutex);
        if (auto it = m_interfaces.find(device->name()); it != m_interfaces.end()) {
            previous = std::move(it->second);
            m_interfaces.erase(it);
        }
    }
    auto interface = TapInterface::create(device, m_namespaces.at(spec->net_namespace), *spec, *m_loop);
    if (!interface) {
        logger()->error("{}: {}", device->name(), interface.error());
        return;
    }
    logger()->info("{}: interface {} in namespace {}{}", device->name(), spec->interface, spec->net_namespace,
        spec->address ? fmt::format(", address {}", *spec->address) : std::string());
    MutexLocker lock(m_mutex);
    m_interfaces[device->name()] = std::move(*interface);
}

void TapFrontend::detach(std::shared_ptr<NetDevice> const& device)
{
    std::unique_ptr<TapInterface> gone;
    {
        MutexLocker lock(m_mutex);
        auto it = m_interfaces.find(device->name());
        // Only the interface of this very device (a later device of the name has its own).
        if (it == m_interfaces.end() || &it->second->device() != device.get())
            return;
        gone = std::move(it->second);
        m_interfaces.erase(it);
    }
    logger()->info("{}: interface {} removed", device->name(), gone->spec().interface);
}

void TapFrontend::on_link_events(NetNamespace const& ns, Rtnetlink& monitor)
{
    auto events = monitor.read_events();
    if (!events) {
        logger()->error("link events of namespace {}: {}", ns.name(), events.error());
        return;
    }
    for (auto const& event : *events) {
        if (event.kind != LinkEvent::Kind::Changed)
            continue;
        auto link = event.link;
        post([this, ns_name = ns.name(), link] {
            TapInterface* target = nullptr;
            {
                MutexLocker lock(m_mutex);
                for (auto const& [name, interface] : m_interfaces) {
                    if (interface->spec().net_namespace == ns_name && interface->ifindex() == link.ifindex)
                        target = interface.get();
                }
            }
            if (target != nullptr)
                target->link_changed(link);
        });
    }
}

} // namespace nk
