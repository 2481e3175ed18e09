// SPDX-License-Identifier: MIT
/*
 * nktest's net device: see nktest.h (NKTEST_NET_*, the net kinds of
 * NKTEST_BAD_PARAM) and nktest_net.h. One net device at a time, on the
 * auxiliary device, with one napi context. Its entry points behave unless a
 * NKTEST_BAD_PARAM kind armed a misbehaviour.
 */
#include "nktest_net.h"

#include "nktest.h"

#include <nooks/net.h>

#include <string.h>

enum misbehaviour {
    BEHAVE = 0,
    POLL_OVER_BUDGET,
    POLL_DISABLE,
    POLL_DEL,
    POLL_UNREGISTER,
    XMIT_BAD_ANSWER,
    OPEN_UNREGISTER,
};

static struct {
    nk_netdev *dev;
    nk_napi *napi;
    uint8_t *rx_frame; /* heap memory (shared with the kernel): what the poll delivers */
    bool rx_pending;
    enum misbehaviour misbehave;
    uint32_t seen[NKTEST_SEEN_COUNT];
} net;

/* A frame in the driver's static data: memory the kernel does not share. */
static const uint8_t static_frame[NKTEST_NET_FRAME_LEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static void count(enum nktest_net_seen what) { __atomic_add_fetch(&net.seen[what], 1, __ATOMIC_SEQ_CST); }

/* ---- Entry points ---------------------------------------------------------- */

static int net_open(nk_netdev *dev)
{
    count(NKTEST_SEEN_OPENS);
    if (net.misbehave == OPEN_UNREGISTER) {
        nk_netdev_unregister(dev);
        return 0;
    }
    nk_napi_enable(net.napi);
    nk_netif_start_queue(dev);
    nk_netif_carrier_on(dev);
    return 0;
}

static int net_stop(nk_netdev *dev)
{
    count(NKTEST_SEEN_STOPS);
    nk_netif_stop_queue(dev);
    nk_netif_carrier_off(dev);
    nk_napi_disable(net.napi);
    return 0;
}

static int net_start_xmit(nk_netdev *dev, const void *frame, uint32_t len, bool more)
{
    const uint8_t *bytes = frame;
    uint32_t i;

    if (net.misbehave == XMIT_BAD_ANSWER)
        return 7;
    count(NKTEST_SEEN_XMITS);
    for (i = 0; i < len && bytes[i] == nktest_frame_byte(i); i++)
        ;
    if (i == len)
        count(NKTEST_SEEN_XMITS_INTACT);
    return NK_NETDEV_TX_OK;
}

static void net_set_rx_mode(nk_netdev *dev, const struct nk_net_rx_mode *mode) { count(NKTEST_SEEN_RX_MODES); }

static int net_poll(nk_napi *napi, int budget)
{
    int work = 0;

    count(NKTEST_SEEN_POLLS);
    switch (net.misbehave) {
    case POLL_OVER_BUDGET:
        return budget + 1;
    case POLL_DISABLE:
        nk_napi_disable(napi);
        return 0;
    case POLL_DEL:
        nk_napi_del(napi);
        return 0;
    case POLL_UNREGISTER:
        nk_netdev_unregister(nk_napi_dev(napi));
        return 0;
    default:
        break;
    }
    if (net.rx_pending && budget > 0) {
        net.rx_pending = false;
        nk_netif_rx(nk_napi_dev(napi), net.rx_frame, NKTEST_NET_FRAME_LEN);
        count(NKTEST_SEEN_DELIVERED);
        work = 1;
    }
    if (work < budget)
        nk_napi_complete_done(napi, work);
    return work;
}

static const struct nk_net_ops net_ops = {
    .open = net_open, .stop = net_stop, .start_xmit = net_start_xmit, .set_rx_mode = net_set_rx_mode,
};
static const struct nk_net_ops ops_without_rx_mode = { .open = net_open, .stop = net_stop, .start_xmit = net_start_xmit };

/* ---- Registration ---------------------------------------------------------- */

static void default_params(struct nk_netdev_params *params)
{
    static const uint8_t mac[NK_ETH_ALEN] = NKTEST_NET_MAC;

    memset(params, 0, sizeof(*params));
    memcpy(params->mac, mac, sizeof(mac));
    params->mtu = NK_ETH_DATA_LEN;
    params->min_mtu = NK_ETH_MIN_MTU;
    params->max_mtu = 9000;
}

static int net_register(nk_device *dev, int weight)
{
    struct nk_netdev_params params;
    int err;

    if (net.dev)
        return 0;
    memset(&net, 0, sizeof(net));
    net.rx_frame = nk_kzalloc(NKTEST_NET_FRAME_LEN, NK_GFP_KERNEL);
    if (!net.rx_frame)
        return -ENOMEM;
    default_params(&params);
    err = nk_netdev_register(dev, &params, &net_ops, &net, &net.dev);
    if (!err) {
        err = nk_napi_add(net.dev, net_poll, weight, &net.napi);
        if (err)
            nk_netdev_unregister(net.dev);
    }
    if (err) {
        nk_kfree(net.rx_frame);
        memset(&net, 0, sizeof(net));
    }
    return err;
}

static void net_unregister(void)
{
    if (!net.dev)
        return;
    /* As nknet: unregistering stops an up device (our stop disables the napi context). */
    nk_netdev_unregister(net.dev);
    if (net.napi)
        nk_napi_del(net.napi);
    nk_kfree(net.rx_frame);
    memset(&net, 0, sizeof(net));
}

void nktest_net_release(void) { net_unregister(); }

/* ---- Requests ---------------------------------------------------------------- */

static int net_exercise(nk_device *dev)
{
    static const struct nk_net_hw_stats stats = { .rx_missed = 1, .rx_errors = 2, .tx_errors = 3, .hw_errors = 4 };
    struct nk_netdev_params params;
    nk_netdev *other = NULL;
    uint32_t i;

    if (!net.dev)
        return -ENODEV;
    default_params(&params);
    if (nk_netdev_register(dev, &params, &net_ops, NULL, &other) != -EEXIST)
        return -1;
    if (nk_netdev_priv(net.dev) != &net || nk_napi_dev(net.napi) != net.dev)
        return -2;
    nk_netif_stop_queue(net.dev);
    if (!nk_netif_queue_stopped(net.dev))
        return -3;
    nk_netif_wake_queue(net.dev);
    if (nk_netif_queue_stopped(net.dev))
        return -4;
    nk_netif_carrier_off(net.dev);
    if (nk_netif_carrier_ok(net.dev))
        return -5;
    nk_netif_carrier_on(net.dev);
    if (!nk_netif_carrier_ok(net.dev))
        return -6;
    nk_netdev_update_stats(net.dev, &stats);
    for (i = 0; i < NKTEST_NET_FRAME_LEN; i++)
        net.rx_frame[i] = nktest_frame_byte(i);
    net.rx_pending = true;
    nk_napi_schedule(net.napi);
    return 0;
}

int nktest_net_ioctl(nk_device *dev, uint32_t cmd, uint64_t arg)
{
    if (!dev)
        return -ENODEV;
    switch (cmd) {
    case NKTEST_NET_REGISTER:
        return net_register(dev, NK_NAPI_WEIGHT);
    case NKTEST_NET_EXERCISE:
        return net_exercise(dev);
    case NKTEST_NET_UNREGISTER:
        net_unregister();
        return 0;
    case NKTEST_NET_SEEN:
        return arg < NKTEST_SEEN_COUNT ? (int)__atomic_load_n(&net.seen[arg], __ATOMIC_SEQ_CST) : -EINVAL;
    default:
        return -ENOTTY;
    }
}

/* A registration with one parameter wrong (`kind`); 1 if `kind` is not one. */
static int bad_registration(nk_device *dev, nk_iomem *regs, uint64_t kind)
{
    static const uint8_t multicast[NK_ETH_ALEN] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
    const struct nk_net_ops *ops = &net_ops;
    struct nk_netdev_params params;
    nk_netdev *netdev;

    default_params(&params);
    switch (kind) {
    case NKTEST_BAD_REG_OPS: ops = &ops_without_rx_mode; break;
    case NKTEST_BAD_REG_MTU: params.mtu = 1501; params.max_mtu = 1500; break;
    case NKTEST_BAD_REG_MAX_MTU: params.max_mtu = 9001; break;
    case NKTEST_BAD_REG_MIN_MTU: params.min_mtu = 67; break;
    case NKTEST_BAD_REG_MULTICAST: memcpy(params.mac, multicast, sizeof(multicast)); break;
    case NKTEST_BAD_REG_ZERO_MAC: memset(params.mac, 0, sizeof(params.mac)); break;
    case NKTEST_BAD_REG_FEATURES: params.features = 0x1; break;
    case NKTEST_BAD_REG_DEV: dev = (nk_device *)regs; break;
    default: return 1;
    }
    return nk_netdev_register(dev, &params, ops, &net, &netdev);
}

static int arm(enum misbehaviour misbehave, bool schedule)
{
    net.misbehave = misbehave;
    if (schedule) {
        nk_napi_enable(net.napi);
        nk_napi_schedule(net.napi);
    }
    return 0;
}

int nktest_net_bad_param(nk_device *dev, nk_iomem *regs, uint64_t kind)
{
    nk_netdev *netdev;
    nk_napi *napi;
    int err;

    if (kind < NKTEST_BAD_RX_SHORT || kind > NKTEST_BAD_OPEN_UNREGISTER)
        return -EINVAL;
    if (!dev)
        return -ENODEV;
    err = bad_registration(dev, regs, kind);
    if (err != 1)
        return err;
    err = net_register(dev, kind >= NKTEST_BAD_POLL_BUDGET ? 8 : NK_NAPI_WEIGHT);
    if (err)
        return err;
    switch (kind) {
    case NKTEST_BAD_RX_SHORT:
        nk_netif_rx(net.dev, net.rx_frame, 3);
        return 0;
    case NKTEST_BAD_RX_LONG:
        nk_netif_rx(net.dev, net.rx_frame, NK_NET_MAX_FRAME + 1);
        return 0;
    case NKTEST_BAD_RX_STATIC:
        nk_netif_rx(net.dev, static_frame, sizeof(static_frame));
        return 0;
    case NKTEST_BAD_RX_NULL:
        nk_netif_rx(net.dev, NULL, NKTEST_NET_FRAME_LEN);
        return 0;
    case NKTEST_BAD_NETDEV_HANDLE:
        nk_netif_carrier_on((nk_netdev *)(uintptr_t)0x1234);
        return 0;
    case NKTEST_BAD_NETDEV_TYPE:
        nk_netif_carrier_on((nk_netdev *)regs);
        return 0;
    case NKTEST_BAD_NETDEV_NAPI:
        nk_netif_carrier_on((nk_netdev *)net.napi);
        return 0;
    case NKTEST_BAD_NETDEV_STALE:
        netdev = net.dev;
        net_unregister();
        nk_netif_carrier_on(netdev);
        return 0;
    case NKTEST_BAD_NAPI_TYPE:
        nk_napi_schedule((nk_napi *)net.dev);
        return 0;
    case NKTEST_BAD_NAPI_STALE:
        napi = net.napi;
        nk_napi_del(napi);
        net.napi = NULL;
        nk_napi_enable(napi);
        return 0;
    case NKTEST_BAD_NAPI_WEIGHT:
        return nk_napi_add(net.dev, net_poll, 0, &napi);
    case NKTEST_BAD_NAPI_HEAVY:
        return nk_napi_add(net.dev, net_poll, 1025, &napi);
    case NKTEST_BAD_NAPI_NO_POLL:
        return nk_napi_add(net.dev, NULL, NK_NAPI_WEIGHT, &napi);
    case NKTEST_BAD_NAPI_WORK:
        nk_napi_complete_done(net.napi, NK_NAPI_WEIGHT + 1);
        return 0;
    case NKTEST_BAD_NAPI_NEGATIVE:
        nk_napi_complete_done(net.napi, -1);
        return 0;
    case NKTEST_BAD_POLL_BUDGET: return arm(POLL_OVER_BUDGET, true);
    case NKTEST_BAD_POLL_DISABLE: return arm(POLL_DISABLE, true);
    case NKTEST_BAD_POLL_DEL: return arm(POLL_DEL, true);
    case NKTEST_BAD_POLL_UNREGISTER: return arm(POLL_UNREGISTER, true);
    case NKTEST_BAD_XMIT_ANSWER: return arm(XMIT_BAD_ANSWER, false);
    case NKTEST_BAD_OPEN_UNREGISTER: return arm(OPEN_UNREGISTER, false);
    default:
        return -EINVAL;
    }
}
