// SPDX-License-Identifier: MIT
#include "system/net/NetPackage.h"

#include "classes/net/NetLayer.h"
#include "devices/nic/NicDevice.h"
#include "devices/nic/NicKind.h"
#include "frontends/tap/TapFrontend.h"
#include "kernel/module/Module.h"
#include "nooks/recovery/RecoveryManager.h"
#include "shadow/ClassShadow.h"
#include "shadow/net/NetShadow.h"

namespace nk {

namespace {

class NetPackage final : public ClassPackage {
public:
    std::string_view name() const override { return NetLayer::class_name; }
    DeviceKinds device_kinds() const override { return { &m_nic }; }

    Result<std::unique_ptr<DriverClass>> create_class(Config const& config) const override
    {
        return std::make_unique<NetLayer>(NetLayer::Options { .tx_timeout = std::chrono::milliseconds(config.tx_timeout_ms),
            .rx_stall_timeout = std::chrono::milliseconds(config.rx_stall_ms) });
    }

    Result<std::unique_ptr<ClassShadow>> create_shadow(DriverClass& layer, RecoveryManager& recovery) const override
    {
        auto& net = static_cast<NetLayer&>(layer);
        auto shadow = std::make_unique<NetShadow>(net, NetShadow::Options {});
        // Tapped in before any driver registers a device; both outlive it (see ClassShadow).
        net.set_tap(shadow.get());
        recovery.add_observer(*shadow);
        return shadow;
    }

    Result<void> device_plugged(DriverClass& layer, std::string const& name, HardwareDevice& hardware) const override
    {
        // The watchdog's end-to-end receive check: frames the NIC took for us off the wire.
        if (auto* nic = dynamic_cast<NicDevice*>(&hardware))
        {
            static_cast<NetLayer&>(layer).set_rx_probe(name, [nic] { return nic->frames_for_us(); });
            static_cast<NetLayer&>(layer).set_describer(name, [nic] { return nic->describe(); });
        }
        return {};
    }

    Result<std::unique_ptr<Frontend>> create_frontend(DriverClass& layer, Config const& config) const override
    {
        TapFrontend::Options options;
        for (auto const& device : config.devices) {
            if (device.kind != &m_nic)
                continue;
            auto const& settings = static_cast<NicSettings const&>(*device.settings);
            options.interfaces.push_back({ .device = device.name, .net_namespace = settings.net_namespace,
                .interface = settings.interface, .address = settings.address });
        }
        if (options.interfaces.empty())
            return nullptr;
        return TRY(TapFrontend::create(static_cast<NetLayer&>(layer), std::move(options)));
    }

    nlohmann::json status(DriverClass const& generic) const override
    {
        auto const& layer = static_cast<NetLayer const&>(generic);
        nlohmann::json devices = nlohmann::json::array();
        for (auto const& device : layer.devices()) {
            auto stats = device->stats();
            devices.push_back({ { "name", device->name() }, { "driver", device->owner().name() }, { "up", device->up() },
                { "carrier", device->carrier() }, { "mtu", device->mtu() }, { "rx_packets", stats.rx_packets },
                { "rx_bytes", stats.rx_bytes }, { "tx_packets", stats.tx_packets }, { "tx_bytes", stats.tx_bytes },
                { "tx_dropped", stats.tx_dropped }, { "tx_batches", stats.tx_batches }, { "tx_busy", stats.tx_busy },
                { "tx_retried", stats.tx_retried }, { "tx_failed_alone", stats.tx_failed_alone },
                { "rx_dropped", stats.rx_dropped } });
        }
        return { { "devices", devices } };
    }

private:
    NicKind m_nic;
};

} // namespace

std::shared_ptr<ClassPackage const> make_net_package() { return std::make_shared<NetPackage>(); }

} // namespace nk
