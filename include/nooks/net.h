/* SPDX-License-Identifier: MIT */
/*
 * nooks kernel API: the network device class (C ABI). See <nooks/kernel.h> for
 * the conventions every function here follows.
 *
 * The net layer owns every frame buffer the stack sees; a net driver registers
 * a net device and an ops table and moves frames between its hardware and the
 * layer, modelled on Linux's netdev and NAPI:
 *
 *   kernel                                      driver
 *   ------                                      ------
 *   open(dev)                           --->    rings, buffers, irq, start the NIC
 *   start_xmit(dev, frame, more=true)   --->    copy into a TX descriptor
 *   start_xmit(dev, frame, more=false)  --->    copy, write the tail (one doorbell per batch)
 *                                       <---    interrupt: nk_napi_schedule(napi)
 *   poll(napi, budget)                  --->    reclaim sent descriptors (nk_netif_wake_queue);
 *                                               nk_netif_rx(dev, buffer, len) per received
 *                                               frame, refill, nk_napi_complete_done, unmask
 *   set_rx_mode(dev, mode)              --->    promiscuous, all-multicast, multicast filter
 *
 * Frames are whole Ethernet frames (destination address first, no FCS).
 * Buffers are the kernel's or the driver's, never shared: the kernel lends a
 * frame to start_xmit for the call only, and copies a received frame in
 * nk_netif_rx. In nooks mode both cross in batches: the frames of one
 * transmit batch reach the driver in one crossing, and the frames a poll
 * receives travel back with the poll's return.
 *
 * Serialization: open, stop, set_mac_address and change_mtu are called one at
 * a time per device (process context). start_xmit is called one at a time per
 * device, set_rx_mode likewise; poll one at a time per napi context. None of
 * them is called before open returned 0 or after stop returned, except
 * set_rx_mode and set_mac_address, which may also come while the device is
 * down (program the hardware at open).
 */
#ifndef NOOKS_NET_H
#define NOOKS_NET_H

#include <nooks/kernel.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nk_netdev nk_netdev;
typedef struct nk_napi nk_napi;

#define NK_ETH_ALEN 6u
#define NK_ETH_HLEN 14u            /* destination, source, ethertype */
#define NK_ETH_MIN_MTU 68u
#define NK_ETH_DATA_LEN 1500u      /* the default MTU */
#define NK_NET_MAX_FRAME 9018u     /* header + a 9000-byte MTU + a VLAN tag */
#define NK_NET_MC_MAX 32u          /* multicast addresses in a rx mode; more: NK_NET_RX_ALLMULTI */
#define NK_NAPI_WEIGHT 64          /* the usual poll budget */

/* Registration parameters (nk_netdev_register). */
struct nk_netdev_params {
    uint8_t mac[NK_ETH_ALEN];      /* the station address (read from the hardware) */
    uint16_t reserved;
    uint32_t mtu;                  /* initial MTU, min_mtu .. max_mtu */
    uint32_t min_mtu;              /* >= NK_ETH_MIN_MTU */
    uint32_t max_mtu;              /* <= NK_NET_MAX_FRAME - NK_ETH_HLEN - 4 */
    uint32_t features;             /* NK_NET_FEAT_*: none defined yet, must be 0 */
};

/* What the stack wants received (set_rx_mode). */
#define NK_NET_RX_PROMISC 0x1u     /* every frame on the wire (a packet analyzer asked) */
#define NK_NET_RX_ALLMULTI 0x2u    /* every multicast frame */

struct nk_net_rx_mode {
    uint32_t flags;                             /* NK_NET_RX_* */
    uint32_t mc_count;                          /* addresses in mc, <= NK_NET_MC_MAX */
    uint8_t mc[NK_NET_MC_MAX][NK_ETH_ALEN];     /* multicast addresses to receive */
};

/* Hardware counters the driver reports (nk_netdev_update_stats); the kernel counts frames itself. */
struct nk_net_hw_stats {
    uint64_t rx_missed;   /* frames the NIC dropped for lack of buffers */
    uint64_t rx_errors;   /* frames the NIC received in error (too long ...) */
    uint64_t tx_errors;   /* frames the NIC failed to send */
    uint64_t hw_errors;   /* misprogramming the NIC reported */
};

/* start_xmit results. */
enum nk_netdev_tx {
    NK_NETDEV_TX_OK = 0,   /* taken (sent, or copied into the ring); or dropped (counted by the driver) */
    NK_NETDEV_TX_BUSY = 1, /* no room: the kernel keeps the frame and stops the queue until nk_netif_wake_queue */
};

/*
 * The driver's entry points. `dev` is the handle nk_netdev_register returned.
 *
 * open(): process context. Bring the interface up: allocate rings and
 *   buffers, request the irq, enable napi, start the NIC. 0 or a negative
 *   errno (the interface stays down). Carrier is off until the driver calls
 *   nk_netif_carrier_on; the transmit queue is stopped until it calls
 *   nk_netif_wake_queue (or nk_netif_start_queue).
 * stop(): process context. Bring it down: stop the NIC, disable napi (which
 *   waits for a running poll), free the irq, rings and buffers. Returns 0.
 * start_xmit(): atomic context. Send `len` bytes at `frame` (valid only
 *   during the call: copy it). `more`: the kernel has another frame right
 *   behind this one; write the doorbell when `more` is false (or the ring is
 *   full). Returns enum nk_netdev_tx. Stop the queue (nk_netif_stop_queue)
 *   before the ring fills rather than returning BUSY.
 * set_rx_mode(): atomic context. Program the receive filter for `mode` (the
 *   station address stays accepted). Called at registration, whenever the
 *   stack's wishes change, and after set_mac_address.
 * set_mac_address(): process context. The new station address; 0, or
 *   -EADDRNOTAVAIL for an address the NIC cannot take.
 * change_mtu(): process context. 0 (the new MTU applies to frames sent and
 *   received from now on) or a negative errno (the old one stays).
 * tx_timeout(): process context, optional. The transmit queue has been
 *   stopped longer than the watchdog allows with nothing sent (native mode;
 *   an isolated driver is failed and recovered instead). Reset the NIC.
 */
struct nk_net_ops {
    int (*open)(nk_netdev *dev);
    int (*stop)(nk_netdev *dev);
    int (*start_xmit)(nk_netdev *dev, const void *frame, uint32_t len, bool more);
    void (*set_rx_mode)(nk_netdev *dev, const struct nk_net_rx_mode *mode);
    int (*set_mac_address)(nk_netdev *dev, const uint8_t mac[NK_ETH_ALEN]);
    int (*change_mtu)(nk_netdev *dev, uint32_t mtu);
    void (*tx_timeout)(nk_netdev *dev);
};

/*
 * Process context, usually from probe(). Registers a net device backed by
 * `dev`. The kernel copies `params`; `ops` must stay valid until
 * nk_netdev_unregister. The device starts down; the kernel calls set_rx_mode
 * once, then opens it when the interface is brought up (which may happen
 * before this returns). 0, -EINVAL (bad params), -EEXIST (`dev` has a net
 * device already), -ENOMEM.
 */
int nk_netdev_register(nk_device *dev, const struct nk_netdev_params *params, const struct nk_net_ops *ops,
                       void *private_data, nk_netdev **out);
/*
 * Process context. Stops the device if it is up (stop() is called), then
 * removes it; the handle is invalid afterwards. Not from the device's own
 * open, stop, set_mac_address or change_mtu (it waits for them to return).
 */
void nk_netdev_unregister(nk_netdev *dev);
/* Any context. */
void *nk_netdev_priv(nk_netdev *dev);

/*
 * Any context (normally poll()). Hands a received frame to the stack: the
 * kernel copies `len` bytes (NK_ETH_HLEN .. NK_NET_MAX_FRAME) at `frame`. The
 * bytes must stay as they are until the driver's next call into the kernel
 * after this one (a register write that returns the buffer to the NIC is such
 * a call), or until poll returns.
 */
void nk_netif_rx(nk_netdev *dev, const void *frame, uint32_t len);

/*
 * Any context. Transmit queue flow control: stop before the ring is full,
 * wake when room was reclaimed (the kernel then calls start_xmit again).
 * start is wake for the first time, at open.
 */
void nk_netif_start_queue(nk_netdev *dev);
void nk_netif_stop_queue(nk_netdev *dev);
void nk_netif_wake_queue(nk_netdev *dev);
bool nk_netif_queue_stopped(nk_netdev *dev);

/* Any context. Link state as the driver sees it (the interface's carrier). */
void nk_netif_carrier_on(nk_netdev *dev);
void nk_netif_carrier_off(nk_netdev *dev);
bool nk_netif_carrier_ok(nk_netdev *dev);

/* Any context. The NIC's own counters, as totals since the device was registered. */
void nk_netdev_update_stats(nk_netdev *dev, const struct nk_net_hw_stats *stats);

/*
 * NAPI: an interrupt schedules a poll; the poll does up to `budget` units of
 * work (received frames) and, if it did less, completes and unmasks the
 * NIC's interrupts. One napi context per receive queue.
 *
 * nk_napi_add(): process context. The context starts disabled. 0, -ENOMEM.
 * nk_napi_del(): process context, disabled contexts only.
 * nk_napi_enable(): process context (open).
 * nk_napi_disable(): process context (stop); waits for a running poll and
 *   keeps new ones from starting.
 * nk_napi_schedule(): any context (the interrupt handler, with the NIC's
 *   interrupts masked). The poll runs soon after, outside the handler. Does
 *   nothing while disabled or already scheduled.
 * nk_napi_complete_done(): from poll, when it did less than its budget;
 *   work_done 0 .. the context's weight. Returns true if the driver should
 *   unmask interrupts now (false: another poll is already scheduled).
 * poll(): softirq (atomic) context. Returns the work done, <= budget; a
 *   poll that returns its budget is called again without an interrupt.
 */
typedef int (*nk_napi_poll_fn)(nk_napi *napi, int budget);
int nk_napi_add(nk_netdev *dev, nk_napi_poll_fn poll, int weight, nk_napi **out);
void nk_napi_del(nk_napi *napi);
void nk_napi_enable(nk_napi *napi);
void nk_napi_disable(nk_napi *napi);
void nk_napi_schedule(nk_napi *napi);
bool nk_napi_complete_done(nk_napi *napi, int work_done);
/* Any context: the net device the context was added to. */
nk_netdev *nk_napi_dev(nk_napi *napi);

#ifdef __cplusplus
}
#endif

#endif /* NOOKS_NET_H */
