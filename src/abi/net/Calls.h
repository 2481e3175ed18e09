// SPDX-License-Identifier: MIT
#pragma once

// The net class's crossings (<nooks/net.h>). Same conventions as
// src/abi/core/Calls.h; the kernel's bodies are src/nooks/wrappers/net, the
// domain's stubs and thunks src/nooks/runtime/net.
//
// Frames cross by reference, never through a channel: a frame the kernel
// sends lies in the domain's kernel area (the kernel writes it, the driver
// may only read it) for the length of the call; a frame the driver receives
// lies in the driver's own memory (its DMA buffer) and the kernel copies it
// when it runs the deferred nk_netif_rx, which is before any later call of
// the driver's (a register write handing the buffer back to the NIC).
//
// Queue and carrier state the driver asks about (nk_netif_queue_stopped,
// nk_netif_carrier_ok) is answered in the domain from what the driver did
// and what its start_xmit returned, without crossing.

#include "abi/core/Calls.h"

#include <nooks/net.h>

namespace nk::abi {

// --- driver -> kernel ------------------------------------------------------------

struct NetdevParams {
    uint8_t mac[NK_ETH_ALEN];
    uint16_t reserved;
    uint32_t mtu;
    uint32_t min_mtu;
    uint32_t max_mtu;
    uint32_t features;
};
// struct nk_net_ops, as the domain named its functions (0: none).
struct NetOps {
    FunctionHandle open;
    FunctionHandle stop;
    FunctionHandle start_xmit;
    FunctionHandle set_rx_mode;
    FunctionHandle set_mac_address;
    FunctionHandle change_mtu;
    FunctionHandle tx_timeout;
};
struct NetdevRegisterArgs {
    ObjectHandle dev; // the bus device
    NetdevParams params;
    NetOps ops;
};
struct NetdevArgs {
    ObjectHandle netdev;
};
struct NetifRxArgs {
    ObjectHandle netdev;
    DomainAddress frame;
    uint32_t len;
    uint32_t reserved;
};
enum class NetQueueOp : uint32_t { start = 0, stop = 1, wake = 2, carrier_on = 3, carrier_off = 4 };
// Queue and carrier changes are numbered per device and per kind (queue,
// carrier) in the order the driver made them: deferred calls made on
// different channels (start_xmit stopping the queue, a poll waking it) may
// reach the kernel in another order, and the kernel drops a change older
// than one it has applied.
struct NetifStateArgs {
    ObjectHandle netdev;
    uint32_t op; // NetQueueOp
    uint32_t sequence;
};
struct NetdevStatsArgs {
    ObjectHandle netdev;
    uint64_t rx_missed;
    uint64_t rx_errors;
    uint64_t tx_errors;
    uint64_t hw_errors;
};
struct NapiAddArgs {
    ObjectHandle netdev;
    FunctionHandle poll;
    int32_t weight;
    uint32_t reserved;
};
struct NapiArgs {
    ObjectHandle napi;
};
struct NapiCompleteArgs {
    ObjectHandle napi;
    int32_t work_done;
    uint32_t reserved;
};

// --- kernel -> driver ------------------------------------------------------------

struct NetOpArgs {
    FunctionHandle fn;
    ObjectHandle netdev;
};
// `frame`: `len` bytes in the kernel area, read-only here, valid for the call.
struct NetStartXmitArgs {
    FunctionHandle fn;
    ObjectHandle netdev;
    DomainAddress frame;
    uint32_t len;
    uint32_t more;
};
// `mode`: a struct nk_net_rx_mode in the kernel area, read-only here.
struct NetSetRxModeArgs {
    FunctionHandle fn;
    ObjectHandle netdev;
    DomainAddress mode;
};
struct NetSetMacArgs {
    FunctionHandle fn;
    ObjectHandle netdev;
    uint8_t mac[NK_ETH_ALEN];
    uint16_t reserved;
};
struct NetChangeMtuArgs {
    FunctionHandle fn;
    ObjectHandle netdev;
    uint32_t mtu;
    uint32_t reserved;
};
struct NapiPollArgs {
    FunctionHandle fn;
    ObjectHandle napi;
    int32_t budget;
    uint32_t reserved;
};

#define NOOKS_NET_KERNEL_CALLS(X)                                                     \
    X(net, netdev_register, Sync, NetdevRegisterArgs)                                  \
    X(net, netdev_unregister, Sync, NetdevArgs)                                        \
    /* sent by nk_netdev_register before it returns: the driver knows the handle */   \
    X(net, netdev_ready, Deferred, NetdevArgs)                                         \
    X(net, netif_rx, Deferred, NetifRxArgs)                                            \
    X(net, netif_state, Deferred, NetifStateArgs)                                      \
    X(net, netdev_update_stats, Deferred, NetdevStatsArgs)                             \
    X(net, napi_add, Sync, NapiAddArgs)                                                \
    X(net, napi_del, Sync, NapiArgs)                                                   \
    X(net, napi_enable, Sync, NapiArgs)                                                \
    X(net, napi_disable, Sync, NapiArgs)                                               \
    X(net, napi_schedule, Deferred, NapiArgs)                                          \
    X(net, napi_complete_done, Deferred, NapiCompleteArgs)

#define NOOKS_NET_DRIVER_ENTRIES(X)                    \
    X(net, net_open, NetOpArgs)                        \
    X(net, net_stop, NetOpArgs)                        \
    X(net, net_start_xmit, NetStartXmitArgs)           \
    X(net, net_set_rx_mode, NetSetRxModeArgs)          \
    X(net, net_set_mac_address, NetSetMacArgs)         \
    X(net, net_change_mtu, NetChangeMtuArgs)           \
    X(net, napi_poll, NapiPollArgs)

} // namespace nk::abi
