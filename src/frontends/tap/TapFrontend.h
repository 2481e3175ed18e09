// SPDX-License-Identifier: MIT
#pragma once

// The net class's frontend: every net device the machine describes appears
// as a TAP interface in the applications' network namespace (TapInterface),
// so real programs (ping, curl, ssh, iperf3, tcpdump) run over our drivers:
// `nooks exec -- curl http://10.77.0.2/`.
//
// The frontend owns the namespaces it creates (removed when it stops; one
// left by a nooks that was killed is replaced), a "tap" event loop reading
// the TAPs and the namespaces' link events, and a control thread that makes
// and removes interfaces as devices are registered and unregistered (a
// recovered driver's new device gets a new interface with the same name and
// address) and passes link changes to the devices (which may call the
// driver, so never on the loop or on a driver's thread).
//
// Thread-safety: every method may be called from any thread.

#include "base/Error.h"
#include "base/Mutex.h"
#include "classes/net/NetLayer.h"
#include "frontends/Frontend.h"
#include "frontends/tap/TapInterface.h"

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <thread>

namespace nk {

class TapFrontend final : public Frontend, private NetLayerListener {
public:
    struct Options {
        std::vector<TapSpec> interfaces;
        // How often the multicast lists are read again (they have no events).
        std::chrono::milliseconds refresh { 1000 };
    };

    // Creates the namespaces, starts the threads and makes the interfaces of
    // the devices registered so far. Errors name the namespace or interface.
    static Result<std::unique_ptr<TapFrontend>> create(NetLayer& layer, Options options);
    ~TapFrontend() override;

    void stop() override;
    // (device, "namespace/interface") pairs of the interfaces that exist now.
    std::vector<std::pair<std::string, std::string>> endpoints() const override;
    // Counters of the interface of `device`, if it has one now.
    std::optional<TapInterface::Stats> stats(std::string const& device) const;

private:
    TapFrontend(NetLayer& layer, Options options);
    Result<void> start();

    // NetLayerListener (registering thread): queued for the control thread.
    void device_added(std::shared_ptr<NetDevice> const& device) override;
    void device_removed(std::shared_ptr<NetDevice> const& device) override;

    void post(std::function<void()> task);
    void control_loop();
    void attach(std::shared_ptr<NetDevice> const& device);
    void detach(std::shared_ptr<NetDevice> const& device);
    void on_link_events(NetNamespace const& ns, Rtnetlink& monitor);

    NetLayer& m_layer;
    Options const m_options;
    std::map<std::string, NetNamespace> m_namespaces; // by name; made at start()
    std::unique_ptr<EventLoop> m_loop;
    std::vector<std::unique_ptr<Rtnetlink>> m_monitors;
    std::vector<std::unique_ptr<EventSource>> m_monitor_sources;
    bool m_listening { false };

    mutable Mutex m_mutex;
    ConditionVariable m_changed;
    std::deque<std::function<void()>> m_tasks NK_GUARDED_BY(m_mutex);
    bool m_stopping NK_GUARDED_BY(m_mutex) { false };
    // By device name; made and destroyed on the control thread.
    std::map<std::string, std::unique_ptr<TapInterface>> m_interfaces NK_GUARDED_BY(m_mutex);
    std::thread m_control;
};

} // namespace nk
