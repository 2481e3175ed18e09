// SPDX-License-Identifier: MIT
// The kernel API inside a protection domain (net class): each stub fills its
// call's arguments struct (src/abi/net/Calls.h) and crosses, or answers from
// the domain's own record of the device.

#include "nooks/runtime/net/NetLocal.h"
#include "nooks/runtime/Runtime.h"

#include <nooks/net.h>

#include <cstring>

using nk::abi::KernelCall;
using nk::abi::NetQueueOp;
using nk::runtime::LocalNetdev;
using nk::runtime::Runtime;

namespace {

uint64_t value(void const* pointer) { return reinterpret_cast<uint64_t>(pointer); }
uint64_t function(void const* pointer) { return Runtime::the().function_handle(pointer); }

// Sets the domain's record and tells the kernel, numbered (see NetifStateArgs).
void state(nk_netdev* dev, NetQueueOp op)
{
    auto* local = LocalNetdev::of(dev);
    if (local == nullptr)
        return Runtime::the().defer<KernelCall::netif_state>({ value(dev), static_cast<uint32_t>(op), 0 }); // the kernel rejects it
    uint32_t sequence = 0;
    switch (op) {
    case NetQueueOp::stop: sequence = local->queue_stopped.set(true); break;
    case NetQueueOp::start:
    case NetQueueOp::wake: sequence = local->queue_stopped.set(false); break;
    case NetQueueOp::carrier_on: sequence = local->carrier.set(true); break;
    case NetQueueOp::carrier_off: sequence = local->carrier.set(false); break;
    }
    Runtime::the().defer<KernelCall::netif_state>({ value(dev), static_cast<uint32_t>(op), sequence });
}

} // namespace

extern "C" {

int nk_netdev_register(nk_device* dev, nk_netdev_params const* params, nk_net_ops const* ops, void* private_data, nk_netdev** out)
{
    auto& runtime = Runtime::the();
    if (params == nullptr || ops == nullptr || out == nullptr)
        return -EINVAL;
    nk::abi::NetdevRegisterArgs args {};
    args.dev = value(dev);
    std::memcpy(args.params.mac, params->mac, sizeof(args.params.mac));
    args.params.mtu = params->mtu;
    args.params.min_mtu = params->min_mtu;
    args.params.max_mtu = params->max_mtu;
    args.params.features = params->features;
    args.ops = { function(reinterpret_cast<void const*>(ops->open)), function(reinterpret_cast<void const*>(ops->stop)),
        function(reinterpret_cast<void const*>(ops->start_xmit)), function(reinterpret_cast<void const*>(ops->set_rx_mode)),
        function(reinterpret_cast<void const*>(ops->set_mac_address)), function(reinterpret_cast<void const*>(ops->change_mtu)),
        function(reinterpret_cast<void const*>(ops->tx_timeout)) };
    auto reply = runtime.call<KernelCall::netdev_register>(args);
    if (reply.result != 0)
        return static_cast<int>(reply.result);
    // The domain's record of the device (private pointer, queue and carrier
    // as the driver made them). The kernel calls none of the device's entry
    // points before netdev_ready, which follows.
    LocalNetdev::add(reply.word, new LocalNetdev { private_data });
    *out = reinterpret_cast<nk_netdev*>(reply.word);
    // The kernel holds the driver's entry points for the device until it
    // hears this (with the driver's next message).
    runtime.defer<KernelCall::netdev_ready>({ reply.word });
    return 0;
}

void nk_netdev_unregister(nk_netdev* dev)
{
    auto& runtime = Runtime::the();
    runtime.call<KernelCall::netdev_unregister>({ value(dev) });
    delete LocalNetdev::remove(value(dev));
}

void* nk_netdev_priv(nk_netdev* dev)
{
    auto* local = LocalNetdev::of(dev);
    return local != nullptr ? local->private_data : nullptr;
}

void nk_netif_rx(nk_netdev* dev, void const* frame, uint32_t len)
{
    Runtime::the().defer<KernelCall::netif_rx>({ value(dev), value(frame), len, 0 });
}

void nk_netif_start_queue(nk_netdev* dev) { state(dev, NetQueueOp::start); }

void nk_netif_stop_queue(nk_netdev* dev) { state(dev, NetQueueOp::stop); }

void nk_netif_wake_queue(nk_netdev* dev) { state(dev, NetQueueOp::wake); }

bool nk_netif_queue_stopped(nk_netdev* dev)
{
    auto* local = LocalNetdev::of(dev);
    return local == nullptr || local->queue_stopped.get();
}

void nk_netif_carrier_on(nk_netdev* dev) { state(dev, NetQueueOp::carrier_on); }

void nk_netif_carrier_off(nk_netdev* dev) { state(dev, NetQueueOp::carrier_off); }

bool nk_netif_carrier_ok(nk_netdev* dev)
{
    auto* local = LocalNetdev::of(dev);
    return local != nullptr && local->carrier.get();
}

void nk_netdev_update_stats(nk_netdev* dev, nk_net_hw_stats const* stats)
{
    if (stats == nullptr)
        return;
    Runtime::the().defer<KernelCall::netdev_update_stats>({ value(dev), stats->rx_missed, stats->rx_errors, stats->tx_errors, stats->hw_errors });
}

int nk_napi_add(nk_netdev* dev, nk_napi_poll_fn poll, int weight, nk_napi** out)
{
    if (out == nullptr)
        return -EINVAL;
    auto& runtime = Runtime::the();
    auto reply = runtime.call<KernelCall::napi_add>({ value(dev), function(reinterpret_cast<void const*>(poll)), weight, 0 });
    if (reply.result != 0)
        return static_cast<int>(reply.result);
    // nk_napi_dev is answered here.
    nk::runtime::add_napi(reply.word, value(dev));
    *out = reinterpret_cast<nk_napi*>(reply.word);
    return 0;
}

void nk_napi_del(nk_napi* napi)
{
    Runtime::the().call<KernelCall::napi_del>({ value(napi) });
    nk::runtime::remove_napi(value(napi));
}

void nk_napi_enable(nk_napi* napi) { Runtime::the().call<KernelCall::napi_enable>({ value(napi) }); }
void nk_napi_disable(nk_napi* napi) { Runtime::the().call<KernelCall::napi_disable>({ value(napi) }); }
void nk_napi_schedule(nk_napi* napi) { Runtime::the().defer<KernelCall::napi_schedule>({ value(napi) }); }

bool nk_napi_complete_done(nk_napi* napi, int work_done)
{
    // The kernel reschedules a poll it missed when it runs this, after the
    // poll returns: the driver may unmask now.
    Runtime::the().defer<KernelCall::napi_complete_done>({ value(napi), work_done, 0 });
    return true;
}

nk_netdev* nk_napi_dev(nk_napi* napi) { return reinterpret_cast<nk_netdev*>(nk::runtime::napi_device(value(napi))); }

} // extern "C"
