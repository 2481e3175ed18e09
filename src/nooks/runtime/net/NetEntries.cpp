// SPDX-License-Identifier: MIT
// Entry thunks of the net class (src/abi/net/Calls.h).

#include "nooks/runtime/Entries.h"
#include "nooks/runtime/Runtime.h"
#include "nooks/runtime/net/NetLocal.h"

#include <nooks/net.h>

namespace nk::runtime {

namespace {

nk_netdev* netdev(uint64_t handle) { return reinterpret_cast<nk_netdev*>(handle); }

void* private_of(uint64_t netdev_handle)
{
    auto* local = LocalNetdev::of(netdev_handle);
    return local != nullptr ? local->private_data : nullptr;
}

int start_xmit(abi::NetStartXmitArgs const& a)
{
    AtomicSection atomic;
    auto* local = LocalNetdev::of(a.netdev);
    if (local == nullptr)
        Runtime::the().die(abi::FaultKind::RuntimeError, "start_xmit for a net device the domain does not know");
    int answer = NK_NETDEV_TX_BUSY;
    if (!local->batch_busy) {
        // The frame is the kernel's copy in the kernel area: read-only here.
        answer = resolve<int (*)(nk_netdev*, void const*, uint32_t, bool)>(a.fn, "bad start_xmit handle")(netdev(a.netdev),
            reinterpret_cast<void const*>(a.frame), a.len, a.more != 0);
        if (answer == NK_NETDEV_TX_BUSY) {
            local->batch_busy = true; // the rest of the batch stays the kernel's, in order
            (void)local->queue_stopped.set(true);
        }
    }
    if (a.more == 0)
        local->batch_busy = false;
    return answer;
}

} // namespace

EntryView view_net_entry(abi::DriverEntry entry, void const* args)
{
    if (entry == abi::DriverEntry::napi_poll) {
        return { private_of(napi_device(args_as<abi::NapiPollArgs>(args).napi)), {} };
    }
    if (entry == abi::DriverEntry::net_start_xmit) {
        // The net class's injection target: the frame's length.
        auto const& a = args_as<abi::NetStartXmitArgs>(args);
        return { private_of(a.netdev), uint64_t { a.len } };
    }
    // Every other entry's arguments begin with { fn, netdev }.
    return { private_of(args_as<abi::NetOpArgs>(args).netdev), {} };
}

int64_t run_net_entry(abi::DriverEntry entry, void const* args)
{
    switch (entry) {
    case abi::DriverEntry::net_open: {
        auto const& a = args_as<abi::NetOpArgs>(args);
        // The kernel's queue is stopped until the driver starts it.
        if (auto* local = LocalNetdev::of(a.netdev))
            (void)local->queue_stopped.set(true);
        return resolve<int (*)(nk_netdev*)>(a.fn, "bad open handle")(netdev(a.netdev));
    }
    case abi::DriverEntry::net_stop: {
        auto const& a = args_as<abi::NetOpArgs>(args);
        return resolve<int (*)(nk_netdev*)>(a.fn, "bad stop handle")(netdev(a.netdev));
    }
    case abi::DriverEntry::net_start_xmit: return start_xmit(args_as<abi::NetStartXmitArgs>(args));
    case abi::DriverEntry::net_set_rx_mode: {
        auto const& a = args_as<abi::NetSetRxModeArgs>(args);
        AtomicSection atomic;
        resolve<void (*)(nk_netdev*, nk_net_rx_mode const*)>(a.fn, "bad set_rx_mode handle")(netdev(a.netdev),
            reinterpret_cast<nk_net_rx_mode const*>(a.mode));
        return 0;
    }
    case abi::DriverEntry::net_set_mac_address: {
        auto const& a = args_as<abi::NetSetMacArgs>(args);
        return resolve<int (*)(nk_netdev*, uint8_t const*)>(a.fn, "bad set_mac_address handle")(netdev(a.netdev), a.mac);
    }
    case abi::DriverEntry::net_change_mtu: {
        auto const& a = args_as<abi::NetChangeMtuArgs>(args);
        return resolve<int (*)(nk_netdev*, uint32_t)>(a.fn, "bad change_mtu handle")(netdev(a.netdev), a.mtu);
    }
    case abi::DriverEntry::napi_poll: {
        auto const& a = args_as<abi::NapiPollArgs>(args);
        AtomicSection atomic;
        return resolve<int (*)(nk_napi*, int)>(a.fn, "bad poll handle")(reinterpret_cast<nk_napi*>(a.napi), a.budget);
    }
    default:
        break;
    }
    Runtime::the().die(abi::FaultKind::RuntimeError, "not a net entry point");
}

} // namespace nk::runtime
