// SPDX-License-Identifier: MIT
#include "kernel/bus/Bus.h"

#include "base/Log.h"
#include "kernel/module/Module.h"

#include <fmt/ranges.h>

#include <algorithm>

namespace nk {

static auto logger() { return log::get("bus"); }

bool BusDriver::matches(uint16_t vendor, uint16_t device, nk_device_id* matched) const
{
    for (auto const& id : ids) {
        if (id.vendor == vendor && id.device == device) {
            if (matched != nullptr)
                *matched = id;
            return true;
        }
    }
    return false;
}

Bus::~Bus() = default;

bool Bus::may_take(BusDriver const& driver, BusDevice const& device)
{
    return device.reserved_for().empty() || (driver.owner != nullptr && driver.owner->binding() == device.reserved_for());
}

Result<BusDevice*> Bus::plug(std::unique_ptr<HardwareDevice> hardware, std::string reserved_for)
{
    if (!hardware)
        return make_error(ErrorCode::InvalidArgument, "bus plug: no device");
    BusDevice* device = nullptr;
    {
        MutexLocker lock(m_mutex);
        if (std::ranges::any_of(m_devices, [&](auto const& d) { return d->name() == hardware->name(); }))
            return make_error(ErrorCode::AlreadyExists, "bus plug: a device named {} is already plugged in", hardware->name());
        device = m_devices.emplace_back(std::make_unique<BusDevice>(std::move(hardware), m_irqs, m_events, std::move(reserved_for))).get();
    }
    logger()->info("plugged {} ({:04x}:{:04x}, irqs {})", device->name(), device->hardware().vendor_id(),
        device->hardware().device_id(), fmt::join(device->irqs(), ","));
    std::vector<BusDriver*> drivers;
    {
        MutexLocker lock(m_mutex);
        for (auto& driver : m_drivers)
            drivers.push_back(driver.get());
    }
    for (auto* driver : drivers)
        probe_unbound(*driver);
    return device;
}

Result<void> Bus::register_driver(std::unique_ptr<BusDriver> driver)
{
    BusDriver* registered = nullptr;
    {
        MutexLocker lock(m_mutex);
        if (std::ranges::any_of(m_drivers, [&](auto const& d) { return d->key == driver->key && d->owner == driver->owner; }))
            return make_error(ErrorCode::AlreadyExists, "bus_register_driver: {} is already registered", driver->name);
        registered = m_drivers.emplace_back(std::move(driver)).get();
    }
    logger()->info("driver {} registered by module {}", registered->name, registered->owner->name());
    probe_unbound(*registered);
    return {};
}

void Bus::probe_unbound(BusDriver& driver)
{
    std::vector<BusDevice*> candidates;
    {
        MutexLocker lock(m_mutex);
        for (auto& device : m_devices) {
            if (device->driver() == nullptr && may_take(driver, *device)
                && driver.matches(device->hardware().vendor_id(), device->hardware().device_id(), nullptr))
                candidates.push_back(device.get());
        }
    }
    for (auto* device : candidates) {
        nk_device_id id {};
        driver.matches(device->hardware().vendor_id(), device->hardware().device_id(), &id);
        {
            MutexLocker lock(m_mutex);
            if (device->driver() != nullptr)
                continue;
            device->set_driver(&driver); // bound while probing, so nobody else probes it
        }
        auto result = driver.port->probe(*device, id);
        if (result && *result == 0) {
            logger()->info("{} bound to {}", device->name(), driver.name);
            continue;
        }
        if (result)
            logger()->warn("{}: probe of {} failed: error {}", driver.name, device->name(), *result);
        else
            logger()->warn("{}: probe of {} failed: {}", driver.name, device->name(), result.error());
        MutexLocker lock(m_mutex);
        device->set_driver(nullptr);
        device->set_drvdata(nullptr);
    }
}

Result<void> Bus::unregister_driver(Module& owner, uintptr_t key)
{
    std::unique_ptr<BusDriver> driver;
    std::vector<BusDevice*> bound;
    {
        MutexLocker lock(m_mutex);
        auto it = std::ranges::find_if(m_drivers, [&](auto const& d) { return d->key == key && d->owner == &owner; });
        if (it == m_drivers.end())
            return make_error(ErrorCode::NotFound, "bus_unregister_driver: driver not registered by {}", owner.name());
        driver = std::move(*it);
        m_drivers.erase(it);
        for (auto& device : m_devices) {
            if (device->driver() == driver.get())
                bound.push_back(device.get());
        }
    }
    for (auto* device : bound) {
        driver->port->remove(*device);
        MutexLocker lock(m_mutex);
        device->set_driver(nullptr);
        device->set_drvdata(nullptr);
        logger()->info("{} unbound from {}", device->name(), driver->name);
    }
    return {};
}

void Bus::unregister_all(Module& owner)
{
    for (;;) {
        uintptr_t key = 0;
        {
            MutexLocker lock(m_mutex);
            auto it = std::ranges::find_if(m_drivers, [&](auto const& d) { return d->owner == &owner; });
            if (it == m_drivers.end())
                return;
            key = (*it)->key;
        }
        (void)unregister_driver(owner, key);
    }
}

void Bus::forget_all(Module& owner)
{
    MutexLocker lock(m_mutex);
    for (auto& device : m_devices) {
        if (device->driver() != nullptr && device->driver()->owner == &owner) {
            device->set_driver(nullptr);
            device->set_drvdata(nullptr);
        }
    }
    std::erase_if(m_drivers, [&](auto const& d) { return d->owner == &owner; });
}

std::vector<BusDevice*> Bus::devices() const
{
    MutexLocker lock(m_mutex);
    std::vector<BusDevice*> result;
    for (auto const& device : m_devices)
        result.push_back(device.get());
    return result;
}

BusDevice* Bus::find_device(std::string const& name) const
{
    MutexLocker lock(m_mutex);
    for (auto const& device : m_devices) {
        if (device->name() == name)
            return device.get();
    }
    return nullptr;
}

std::string Bus::bound_owner_name(BusDevice const& device) const
{
    MutexLocker lock(m_mutex);
    auto const* driver = device.driver();
    return driver != nullptr && driver->owner != nullptr ? driver->owner->name() : std::string();
}

} // namespace nk
