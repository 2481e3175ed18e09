// SPDX-License-Identifier: MIT
// The kernel API (net class), native mode.

#include "classes/net/api/NativeApi.h"

#include "base/Log.h"
#include "classes/net/NativeNetPort.h"
#include "classes/net/NetLayer.h"
#include "kernel/Kernel.h"
#include "kernel/api/DriverMisuse.h"
#include "kernel/api/NativeApi.h"
#include "kernel/bus/BusDevice.h"

#include <nooks/net.h>

using namespace nk;
using nk::native_api::caller;
using nk::native_api::caller_kernel;
using nk::native_api::might_sleep;

namespace {

NetLayer* net_layer(char const* function)
{
    auto* kernel = caller_kernel(function);
    return kernel != nullptr ? kernel->driver_class<NetLayer>() : nullptr;
}

} // namespace

extern "C" {

int nk_netdev_register(nk_device* dev, nk_netdev_params const* params, nk_net_ops const* ops, void* private_data, nk_netdev** out)
{
    might_sleep(__func__);
    auto* net = net_layer(__func__);
    if (net == nullptr)
        return -ENODEV; // a kernel with no net class
    if (dev == nullptr || params == nullptr || ops == nullptr || out == nullptr || ops->open == nullptr || ops->stop == nullptr
        || ops->start_xmit == nullptr || ops->set_rx_mode == nullptr)
        return -EINVAL;
    auto device = net->register_device(*caller(), &BusDevice::from_handle(dev), *params,
        std::make_unique<NativeNetPort>(*caller(), *ops), private_data);
    if (!device) {
        log::get(caller()->name())->error("{}", device.error());
        return -device.error().to_errno();
    }
    *out = (*device)->handle();
    return 0;
}

void nk_netdev_unregister(nk_netdev* dev)
{
    might_sleep(__func__);
    auto* net = net_layer(__func__);
    if (net != nullptr && dev != nullptr)
        (void)net->unregister_device(NetDevice::from_handle(dev));
}

void* nk_netdev_priv(nk_netdev* dev) { return NetDevice::from_handle(dev).private_data(); }

void nk_netif_rx(nk_netdev* dev, void const* frame, uint32_t len)
{
    if (frame == nullptr)
        return report_driver_misuse(__func__, "frame is NULL");
    NetDevice::from_handle(dev).netif_rx({ static_cast<std::byte const*>(frame), len });
}

void nk_netif_start_queue(nk_netdev* dev) { NetDevice::from_handle(dev).start_queue(); }
void nk_netif_stop_queue(nk_netdev* dev) { NetDevice::from_handle(dev).stop_queue(); }
void nk_netif_wake_queue(nk_netdev* dev) { NetDevice::from_handle(dev).wake_queue(); }
bool nk_netif_queue_stopped(nk_netdev* dev) { return NetDevice::from_handle(dev).queue_stopped(); }
void nk_netif_carrier_on(nk_netdev* dev) { NetDevice::from_handle(dev).carrier_on(); }
void nk_netif_carrier_off(nk_netdev* dev) { NetDevice::from_handle(dev).carrier_off(); }
bool nk_netif_carrier_ok(nk_netdev* dev) { return NetDevice::from_handle(dev).carrier(); }

void nk_netdev_update_stats(nk_netdev* dev, nk_net_hw_stats const* stats)
{
    if (stats == nullptr)
        return report_driver_misuse(__func__, "stats is NULL");
    NetDevice::from_handle(dev).update_hw_stats(*stats);
}

int nk_napi_add(nk_netdev* dev, nk_napi_poll_fn poll, int weight, nk_napi** out)
{
    might_sleep(__func__);
    if (dev == nullptr || poll == nullptr || out == nullptr || weight <= 0 || weight > 1024)
        return -EINVAL;
    auto& napi = NetDevice::from_handle(dev).add_napi(std::make_unique<NativeNapiPoller>(*caller(), poll), weight);
    *out = napi.handle();
    return 0;
}

void nk_napi_del(nk_napi* napi)
{
    might_sleep(__func__);
    auto& context = Napi::from_handle(napi);
    context.device().del_napi(context);
}

void nk_napi_enable(nk_napi* napi) { Napi::from_handle(napi).enable(); }

void nk_napi_disable(nk_napi* napi)
{
    might_sleep(__func__);
    Napi::from_handle(napi).disable();
}

void nk_napi_schedule(nk_napi* napi) { Napi::from_handle(napi).schedule(); }
bool nk_napi_complete_done(nk_napi* napi, int work_done) { return Napi::from_handle(napi).complete_done(work_done); }
nk_netdev* nk_napi_dev(nk_napi* napi) { return Napi::from_handle(napi).device().handle(); }

} // extern "C"

namespace nk {

// `used`: kept with its relocations even though only its size is read.
[[gnu::used]] static void const* const net_symbols[] = {
    reinterpret_cast<void const*>(&nk_napi_add),
    reinterpret_cast<void const*>(&nk_napi_complete_done),
    reinterpret_cast<void const*>(&nk_napi_del),
    reinterpret_cast<void const*>(&nk_napi_dev),
    reinterpret_cast<void const*>(&nk_napi_disable),
    reinterpret_cast<void const*>(&nk_napi_enable),
    reinterpret_cast<void const*>(&nk_napi_schedule),
    reinterpret_cast<void const*>(&nk_netdev_priv),
    reinterpret_cast<void const*>(&nk_netdev_register),
    reinterpret_cast<void const*>(&nk_netdev_unregister),
    reinterpret_cast<void const*>(&nk_netdev_update_stats),
    reinterpret_cast<void const*>(&nk_netif_carrier_off),
    reinterpret_cast<void const*>(&nk_netif_carrier_ok),
    reinterpret_cast<void const*>(&nk_netif_carrier_on),
    reinterpret_cast<void const*>(&nk_netif_queue_stopped),
    reinterpret_cast<void const*>(&nk_netif_rx),
    reinterpret_cast<void const*>(&nk_netif_start_queue),
    reinterpret_cast<void const*>(&nk_netif_stop_queue),
    reinterpret_cast<void const*>(&nk_netif_wake_queue),
};

size_t net_api_symbol_count()
{
    size_t count = 0;
    for (auto const* symbol : net_symbols)
        count += symbol != nullptr ? 1 : 0;
    return count;
}

} // namespace nk
