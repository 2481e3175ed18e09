// SPDX-License-Identifier: MIT
/*
 * nknet: net driver for the NKNIC Ethernet controller (<hw/nknic.h>), written
 * the way Linux's e1000 is:
 *
 *   - probe: map the registers, reset, read the station address from RAL0/RAH0,
 *     register the net device and its NAPI context. Nothing runs until open.
 *   - open: rings and buffers in coherent DMA memory, the receive ring filled,
 *     receive and transmit enabled, the interrupt requested, NAPI enabled,
 *     interrupts unmasked, link negotiation started; the watchdog timer turns
 *     the carrier on once the link is up.
 *   - transmit: each frame is copied into the buffers of as many descriptors
 *     as it needs (the last with EOP|RS); one tail write per batch (when the
 *     kernel has no more frames for us, or the ring is nearly full); the queue
 *     is stopped before the ring fills and woken by the poll's reclaim.
 *   - interrupt: read (and so clear) ICR, mask everything, schedule NAPI.
 *   - poll: reclaim sent descriptors, hand received frames to the stack (up to
 *     the budget), give the buffers back with one tail write, and, under
 *     budget, complete and unmask.
 *   - set_rx_mode: promiscuous / all-multicast bits, the multicast list in the
 *     exact-match slots 1..15 and, beyond them, hashed into the MTA.
 *   - watchdog (every 2 s, and at once on a link change): carrier on/off from
 *     STATUS.LU, counters to the kernel, a reset after a misprogramming.
 */
#include <hw/nknic.h>
#include <nooks/kernel.h>
#include <nooks/net.h>

#include <string.h>

#define NKNET_RX_RING 256u
#define NKNET_TX_RING 256u
#define NKNET_TX_BUF 2048u          /* bytes per transmit descriptor: a jumbo frame spans several */
#define NKNET_TX_WAKE 32u           /* free descriptors before a stopped queue is woken */
#define NKNET_TX_MAX_DESCS ((NK_NET_MAX_FRAME + NKNET_TX_BUF - 1) / NKNET_TX_BUF)
#define NKNET_ITR 80u               /* interrupts at least 80 x 256 ns = 20 us apart */
#define NKNET_WATCHDOG_MS 2000u
#define NKNET_INTERRUPTS                                                                          \
    (NKNIC_INT_TXDW | NKNIC_INT_LSC | NKNIC_INT_RXDMT0 | NKNIC_INT_RXO | NKNIC_INT_RXT0 | NKNIC_INT_ERR)

struct nknet {
    nk_device *dev;
    nk_iomem *regs;
    nk_netdev *netdev;
    nk_napi *napi;
    char name[32];
    int irq;
    uint8_t mac[NK_ETH_ALEN];
    uint32_t mtu;
    bool up;

    /* Receive ring: one buffer of rx_buf_len bytes per descriptor. */
    struct nknic_rx_desc *rx_ring;
    nk_dma_addr_t rx_ring_dma;
    uint8_t *rx_bufs;
    nk_dma_addr_t rx_bufs_dma;
    uint32_t rx_buf_len;
    uint32_t rx_next; /* next descriptor to look at */

    /* Transmit ring: one NKNET_TX_BUF buffer per descriptor. */
    nk_spinlock_t tx_lock; /* next_to_use; the queue state */
    struct nknic_tx_desc *tx_ring;
    nk_dma_addr_t tx_ring_dma;
    uint8_t *tx_bufs;
    nk_dma_addr_t tx_bufs_dma;
    uint32_t tx_next_to_use;   /* written by start_xmit */
    uint32_t tx_next_to_clean; /* written by the poll */
    uint32_t tx_unwritten;     /* descriptors filled since the last tail write */

    nk_timer *watchdog;
    nk_work *reset_work;
    bool link_up;
    struct nk_net_hw_stats stats; /* totals since probe */
};

static void nknet_writel(struct nknet *nn, uint32_t reg, uint32_t value) { nk_writel(nn->regs, reg, value); }
static uint32_t nknet_readl(struct nknet *nn, uint32_t reg) { return nk_readl(nn->regs, reg); }

/* Free transmit descriptors; tx_lock held. */
static uint32_t nknet_tx_free(struct nknet *nn)
{
    uint32_t used = (nn->tx_next_to_use + NKNET_TX_RING - nn->tx_next_to_clean) % NKNET_TX_RING;
    return NKNET_TX_RING - 1 - used;
}

/* ---- Hardware bring-up --------------------------------------------------- */

static void nknet_reset_hw(struct nknet *nn)
{
    nknet_writel(nn, NKNIC_REG_IMC, 0xffffffffu);
    nknet_writel(nn, NKNIC_REG_CTRL, NKNIC_CTRL_RST);
    (void)nknet_readl(nn, NKNIC_REG_ICR);
}

static void nknet_read_mac(struct nknet *nn)
{
    uint32_t low = nknet_readl(nn, NKNIC_REG_RAL(0));
    uint32_t high = nknet_readl(nn, NKNIC_REG_RAH(0));
    nn->mac[0] = (uint8_t)low;
    nn->mac[1] = (uint8_t)(low >> 8);
    nn->mac[2] = (uint8_t)(low >> 16);
    nn->mac[3] = (uint8_t)(low >> 24);
    nn->mac[4] = (uint8_t)high;
    nn->mac[5] = (uint8_t)(high >> 8);
}

static void nknet_write_ra(struct nknet *nn, unsigned slot, const uint8_t *mac)
{
    uint32_t low = (uint32_t)mac[0] | (uint32_t)mac[1] << 8 | (uint32_t)mac[2] << 16 | (uint32_t)mac[3] << 24;
    uint32_t high = (uint32_t)mac[4] | (uint32_t)mac[5] << 8 | NKNIC_RAH_AV;
    nknet_writel(nn, NKNIC_REG_RAH(slot), 0); /* invalid while it changes */
    nknet_writel(nn, NKNIC_REG_RAL(slot), low);
    nknet_writel(nn, NKNIC_REG_RAH(slot), high);
}

static uint32_t nknet_rctl_bsize(uint32_t buf_len)
{
    switch (buf_len) {
    case 2048: return 0;
    case 4096: return NKNIC_RCTL_BSEX | (3u << NKNIC_RCTL_BSIZE_SHIFT);
    case 8192: return NKNIC_RCTL_BSEX | (2u << NKNIC_RCTL_BSIZE_SHIFT);
    default: return NKNIC_RCTL_BSEX | (1u << NKNIC_RCTL_BSIZE_SHIFT); /* 16384 */
    }
}

static uint32_t nknet_buf_len_for(uint32_t mtu)
{
    uint32_t frame = mtu + NK_ETH_HLEN + 4;
    if (frame <= 2048)
        return 2048;
    if (frame <= 4096)
        return 4096;
    if (frame <= 8192)
        return 8192;
    return 16384;
}

static void nknet_free_rings(struct nknet *nn)
{
    if (nn->rx_ring)
        nk_dma_free_coherent(nn->dev, NKNET_RX_RING * sizeof(*nn->rx_ring), nn->rx_ring, nn->rx_ring_dma);
    if (nn->rx_bufs)
        nk_dma_free_coherent(nn->dev, (size_t)NKNET_RX_RING * nn->rx_buf_len, nn->rx_bufs, nn->rx_bufs_dma);
    if (nn->tx_ring)
        nk_dma_free_coherent(nn->dev, NKNET_TX_RING * sizeof(*nn->tx_ring), nn->tx_ring, nn->tx_ring_dma);
    if (nn->tx_bufs)
        nk_dma_free_coherent(nn->dev, (size_t)NKNET_TX_RING * NKNET_TX_BUF, nn->tx_bufs, nn->tx_bufs_dma);
    nn->rx_ring = NULL;
    nn->rx_bufs = NULL;
    nn->tx_ring = NULL;
    nn->tx_bufs = NULL;
}

static int nknet_alloc_rings(struct nknet *nn)
{
    nn->rx_buf_len = nknet_buf_len_for(nn->mtu);
    nn->rx_ring = nk_dma_alloc_coherent(nn->dev, NKNET_RX_RING * sizeof(*nn->rx_ring), &nn->rx_ring_dma);
    nn->rx_bufs = nk_dma_alloc_coherent(nn->dev, (size_t)NKNET_RX_RING * nn->rx_buf_len, &nn->rx_bufs_dma);
    nn->tx_ring = nk_dma_alloc_coherent(nn->dev, NKNET_TX_RING * sizeof(*nn->tx_ring), &nn->tx_ring_dma);
    nn->tx_bufs = nk_dma_alloc_coherent(nn->dev, (size_t)NKNET_TX_RING * NKNET_TX_BUF, &nn->tx_bufs_dma);
    if (!nn->rx_ring || !nn->rx_bufs || !nn->tx_ring || !nn->tx_bufs) {
        nknet_free_rings(nn);
        return -ENOMEM;
    }
    return 0;
}

/* Programs both rings and enables receive and transmit; interrupts stay masked. */
static void nknet_configure(struct nknet *nn)
{
    uint32_t i;
    uint32_t rctl;

    for (i = 0; i < NKNET_RX_RING; i++) {
        memset(&nn->rx_ring[i], 0, sizeof(nn->rx_ring[i]));
        nn->rx_ring[i].addr = nn->rx_bufs_dma + (uint64_t)i * nn->rx_buf_len;
    }
    memset(nn->tx_ring, 0, NKNET_TX_RING * sizeof(*nn->tx_ring));
    nn->rx_next = 0;
    nn->tx_next_to_use = 0;
    nn->tx_next_to_clean = 0;
    nn->tx_unwritten = 0;

    nknet_write_ra(nn, 0, nn->mac);
    nknet_writel(nn, NKNIC_REG_TDBAL, (uint32_t)nn->tx_ring_dma);
    nknet_writel(nn, NKNIC_REG_TDBAH, (uint32_t)(nn->tx_ring_dma >> 32));
    nknet_writel(nn, NKNIC_REG_TDLEN, NKNET_TX_RING * sizeof(struct nknic_tx_desc));
    nknet_writel(nn, NKNIC_REG_TDH, 0);
    nknet_writel(nn, NKNIC_REG_TDT, 0);
    nknet_writel(nn, NKNIC_REG_TCTL, NKNIC_TCTL_EN | NKNIC_TCTL_PSP);

    nknet_writel(nn, NKNIC_REG_RDBAL, (uint32_t)nn->rx_ring_dma);
    nknet_writel(nn, NKNIC_REG_RDBAH, (uint32_t)(nn->rx_ring_dma >> 32));
    nknet_writel(nn, NKNIC_REG_RDLEN, NKNET_RX_RING * sizeof(struct nknic_rx_desc));
    nknet_writel(nn, NKNIC_REG_RDH, 0);
    /* Every descriptor but one is the device's: head == tail would mean none. */
    nknet_writel(nn, NKNIC_REG_RDT, NKNET_RX_RING - 1);
    rctl = NKNIC_RCTL_EN | NKNIC_RCTL_BAM | nknet_rctl_bsize(nn->rx_buf_len);
    if (nn->mtu > NK_ETH_DATA_LEN)
        rctl |= NKNIC_RCTL_LPE;
    nknet_writel(nn, NKNIC_REG_RCTL, rctl);
    nknet_writel(nn, NKNIC_REG_ITR, NKNET_ITR);
}

/* ---- Transmit ------------------------------------------------------------ */

static int nknet_start_xmit(nk_netdev *netdev, const void *frame, uint32_t len, bool more)
{
    struct nknet *nn = nk_netdev_priv(netdev);
    const uint8_t *data = frame;
    uint32_t needed = (len + NKNET_TX_BUF - 1) / NKNET_TX_BUF;
    uint32_t i;

    if (len == 0 || len > NK_NET_MAX_FRAME) {
        nn->stats.tx_errors++;
        return NK_NETDEV_TX_OK; /* dropped */
    }
    nk_spin_lock(&nn->tx_lock);
    if (nknet_tx_free(nn) < needed) {
        nk_netif_stop_queue(netdev);
        if (nn->tx_unwritten) {
            nknet_writel(nn, NKNIC_REG_TDT, nn->tx_next_to_use);
            nn->tx_unwritten = 0;
        }
        nk_spin_unlock(&nn->tx_lock);
        return NK_NETDEV_TX_BUSY;
    }
    for (i = 0; i < needed; i++) {
        uint32_t index = nn->tx_next_to_use;
        uint32_t chunk = len - i * NKNET_TX_BUF < NKNET_TX_BUF ? len - i * NKNET_TX_BUF : NKNET_TX_BUF;
        struct nknic_tx_desc *desc = &nn->tx_ring[index];

        memcpy(nn->tx_bufs + (size_t)index * NKNET_TX_BUF, data + (size_t)i * NKNET_TX_BUF, chunk);
        desc->addr = nn->tx_bufs_dma + (uint64_t)index * NKNET_TX_BUF;
        desc->length = (uint16_t)chunk;
        desc->cso = 0;
        desc->css = 0;
        desc->special = 0;
        desc->cmd = NKNIC_TXD_CMD_IFCS | (i + 1 == needed ? NKNIC_TXD_CMD_EOP | NKNIC_TXD_CMD_RS : 0);
        __atomic_store_n(&desc->status, 0, __ATOMIC_RELEASE);
        nn->tx_next_to_use = (index + 1) % NKNET_TX_RING;
        nn->tx_unwritten++;
    }
    /* One doorbell per batch; also before the ring could fill with nobody ringing it. */
    if (!more || nknet_tx_free(nn) < NKNET_TX_MAX_DESCS) {
        nknet_writel(nn, NKNIC_REG_TDT, nn->tx_next_to_use);
        nn->tx_unwritten = 0;
    }
    if (nknet_tx_free(nn) < NKNET_TX_MAX_DESCS)
        nk_netif_stop_queue(netdev);
    nk_spin_unlock(&nn->tx_lock);
    return NK_NETDEV_TX_OK;
}

/* From the poll: descriptors the device is done with are ours again. */
static void nknet_clean_tx(struct nknet *nn)
{
    uint32_t clean;

    nk_spin_lock(&nn->tx_lock);
    clean = nn->tx_next_to_clean;
    while (clean != nn->tx_next_to_use) {
        /* A frame is done when its last descriptor (EOP, with RS) is. */
        uint32_t end = clean;
        while (end != nn->tx_next_to_use && !(nn->tx_ring[end].cmd & NKNIC_TXD_CMD_EOP))
            end = (end + 1) % NKNET_TX_RING;
        if (end == nn->tx_next_to_use)
            break;
        if (!(__atomic_load_n(&nn->tx_ring[end].status, __ATOMIC_ACQUIRE) & NKNIC_TXD_STAT_DD))
            break;
        clean = (end + 1) % NKNET_TX_RING;
    }
    nn->tx_next_to_clean = clean;
    if (nk_netif_queue_stopped(nn->netdev) && nknet_tx_free(nn) >= NKNET_TX_WAKE && nn->link_up)
        nk_netif_wake_queue(nn->netdev);
    nk_spin_unlock(&nn->tx_lock);
}

/* ---- Receive ------------------------------------------------------------- */

static int nknet_clean_rx(struct nknet *nn, int budget)
{
    int work = 0;
    uint32_t last = NKNET_RX_RING; /* none given back yet */

    while (work < budget) {
        struct nknic_rx_desc *desc = &nn->rx_ring[nn->rx_next];
        uint8_t status = __atomic_load_n(&desc->status, __ATOMIC_ACQUIRE);
        uint16_t length;

        if (!(status & NKNIC_RXD_STAT_DD))
            break;
        length = desc->length;
        if ((status & NKNIC_RXD_STAT_EOP) && length >= NK_ETH_HLEN && length <= nn->rx_buf_len)
            nk_netif_rx(nn->netdev, nn->rx_bufs + (size_t)nn->rx_next * nn->rx_buf_len, length);
        else
            nn->stats.rx_errors++;
        desc->status = 0;
        last = nn->rx_next;
        nn->rx_next = (nn->rx_next + 1) % NKNET_RX_RING;
        work++;
    }
    /* The buffers go back to the device after the kernel took the frames (in order). */
    if (last != NKNET_RX_RING)
        nknet_writel(nn, NKNIC_REG_RDT, last);
    return work;
}

static int nknet_poll(nk_napi *napi, int budget)
{
    struct nknet *nn = nk_netdev_priv(nk_napi_dev(napi));
    int work;

    nknet_clean_tx(nn);
    work = nknet_clean_rx(nn, budget);
    if (work < budget && nk_napi_complete_done(napi, work))
        nknet_writel(nn, NKNIC_REG_IMS, NKNET_INTERRUPTS);
    return work;
}

static nk_irqreturn_t nknet_interrupt(uint32_t irq, void *dev_id)
{
    struct nknet *nn = dev_id;
    uint32_t icr = nknet_readl(nn, NKNIC_REG_ICR);

    (void)irq;
    if (!icr)
        return NK_IRQ_NONE;
    if (icr & (NKNIC_INT_LSC | NKNIC_INT_ERR))
        nk_timer_mod(nn->watchdog, 0); /* the watchdog looks at the link and errors now */
    nknet_writel(nn, NKNIC_REG_IMC, 0xffffffffu);
    nk_napi_schedule(nn->napi);
    return NK_IRQ_HANDLED;
}

/* ---- Receive filter ------------------------------------------------------ */

/* The MTA hash of RCTL.MO = 0: bits 47:36 of the address. */
static uint32_t nknet_mta_hash(const uint8_t *mac) { return ((uint32_t)mac[5] << 4 | mac[4] >> 4) & 0xfff; }

static void nknet_set_rx_mode(nk_netdev *netdev, const struct nk_net_rx_mode *mode)
{
    struct nknet *nn = nk_netdev_priv(netdev);
    uint32_t mta[NKNIC_NUM_MTA];
    uint32_t rctl = nknet_readl(nn, NKNIC_REG_RCTL) & ~(NKNIC_RCTL_UPE | NKNIC_RCTL_MPE | NKNIC_RCTL_MO_MASK);
    uint32_t i;
    uint32_t count = mode->mc_count < NK_NET_MC_MAX ? mode->mc_count : NK_NET_MC_MAX;

    if (mode->flags & NK_NET_RX_PROMISC)
        rctl |= NKNIC_RCTL_UPE | NKNIC_RCTL_MPE;
    if (mode->flags & NK_NET_RX_ALLMULTI)
        rctl |= NKNIC_RCTL_MPE;
    memset(mta, 0, sizeof(mta));
    /* Slots 1..15 hold the first addresses exactly; the rest are hashed. */
    for (i = 0; i < count; i++) {
        if (i + 1 < NKNIC_NUM_RA) {
            nknet_write_ra(nn, i + 1, mode->mc[i]);
        } else {
            uint32_t hash = nknet_mta_hash(mode->mc[i]);
            mta[hash >> 5] |= 1u << (hash & 31);
        }
    }
    for (i = count + 1; i < NKNIC_NUM_RA; i++) {
        nknet_writel(nn, NKNIC_REG_RAH(i), 0);
        nknet_writel(nn, NKNIC_REG_RAL(i), 0);
    }
    for (i = 0; i < NKNIC_NUM_MTA; i++)
        nknet_writel(nn, NKNIC_REG_MTA(i), mta[i]);
    nknet_writel(nn, NKNIC_REG_RCTL, rctl);
}

static int nknet_set_mac_address(nk_netdev *netdev, const uint8_t mac[NK_ETH_ALEN])
{
    struct nknet *nn = nk_netdev_priv(netdev);

    if (mac[0] & 1)
        return -EADDRNOTAVAIL;
    memcpy(nn->mac, mac, NK_ETH_ALEN);
    nknet_write_ra(nn, 0, nn->mac);
    return 0;
}

/* ---- Link watchdog and counters ---------------------------------------- */

static void nknet_update_stats(struct nknet *nn)
{
    nn->stats.rx_missed += nknet_readl(nn, NKNIC_REG_MPC);
    nn->stats.rx_errors += nknet_readl(nn, NKNIC_REG_ROC);
    nn->stats.hw_errors += nknet_readl(nn, NKNIC_REG_ERRC);
    nk_netdev_update_stats(nn->netdev, &nn->stats);
}

static void nknet_watchdog(void *data)
{
    struct nknet *nn = data;
    uint32_t status = nknet_readl(nn, NKNIC_REG_STATUS);
    bool link = (status & NKNIC_STATUS_LU) != 0;

    if (!nn->up)
        return;
    nk_spin_lock(&nn->tx_lock);
    if (link != nn->link_up) {
        nn->link_up = link;
        if (link) {
            nk_log(NK_LOG_INFO, "%s: link up", nn->name);
            nk_netif_carrier_on(nn->netdev);
            nk_netif_wake_queue(nn->netdev);
        } else {
            nk_log(NK_LOG_INFO, "%s: link down", nn->name);
            nk_netif_carrier_off(nn->netdev);
            nk_netif_stop_queue(nn->netdev);
        }
    }
    nk_spin_unlock(&nn->tx_lock);
    if (status & NKNIC_STATUS_ERR) {
        nk_log(NK_LOG_ERR, "%s: the NIC reports misprogramming (code %u); resetting", nn->name,
               nknet_readl(nn, NKNIC_REG_ERRCODE));
        nk_work_queue(nn->reset_work);
    }
    nknet_update_stats(nn);
    nk_timer_mod(nn->watchdog, NKNET_WATCHDOG_MS);
}

/* ---- Up and down --------------------------------------------------------- */

static int nknet_up(struct nknet *nn)
{
    int err = nknet_alloc_rings(nn);

    if (err)
        return err;
    /* The poll context lives while the interface is up: the kernel may open
     * the device as soon as it is registered, before probe goes on. */
    err = nk_napi_add(nn->netdev, nknet_poll, NK_NAPI_WEIGHT, &nn->napi);
    if (err) {
        nknet_free_rings(nn);
        return err;
    }
    nknet_reset_hw(nn);
    nknet_configure(nn);
    err = nk_request_irq((uint32_t)nn->irq, nknet_interrupt, "nknet", nn);
    if (err) {
        nknet_reset_hw(nn);
        nk_napi_del(nn->napi);
        nn->napi = NULL;
        nknet_free_rings(nn);
        return err;
    }
    nn->up = true;
    nn->link_up = false;
    nk_napi_enable(nn->napi);
    nknet_writel(nn, NKNIC_REG_IMS, NKNET_INTERRUPTS);
    nknet_writel(nn, NKNIC_REG_CTRL, NKNIC_CTRL_SLU);
    nk_timer_mod(nn->watchdog, 0);
    return 0;
}

static void nknet_down(struct nknet *nn)
{
    nn->up = false;
    nk_netif_stop_queue(nn->netdev);
    nk_netif_carrier_off(nn->netdev);
    nknet_writel(nn, NKNIC_REG_IMC, 0xffffffffu);
    nknet_writel(nn, NKNIC_REG_RCTL, 0);
    nknet_writel(nn, NKNIC_REG_TCTL, 0);
    nk_napi_disable(nn->napi);
    nk_free_irq((uint32_t)nn->irq, nn);
    nk_napi_del(nn->napi);
    nn->napi = NULL;
    nk_timer_del_sync(nn->watchdog);
    nknet_reset_hw(nn);
    /* The NIC is reset: nothing of it still writes into the buffers. */
    nknet_free_rings(nn);
    nn->link_up = false;
}

static int nknet_open(nk_netdev *netdev)
{
    struct nknet *nn = nk_netdev_priv(netdev);

    return nn->up ? 0 : nknet_up(nn);
}

static int nknet_stop(nk_netdev *netdev)
{
    struct nknet *nn = nk_netdev_priv(netdev);

    if (nn->up)
        nknet_down(nn);
    return 0;
}

static int nknet_change_mtu(nk_netdev *netdev, uint32_t mtu)
{
    struct nknet *nn = nk_netdev_priv(netdev);

    /* As e1000: down, new buffer size, up. */
    if (!nn->up) {
        nn->mtu = mtu;
        return 0;
    }
    nknet_down(nn);
    nn->mtu = mtu;
    return nknet_up(nn);
}

static void nknet_reset_work(void *data)
{
    struct nknet *nn = data;

    if (!nn->up)
        return;
    nknet_down(nn);
    if (nknet_up(nn))
        nk_log(NK_LOG_ERR, "%s: could not bring the NIC back up after a reset", nn->name);
}

static void nknet_tx_timeout(nk_netdev *netdev)
{
    struct nknet *nn = nk_netdev_priv(netdev);

    nk_log(NK_LOG_WARN, "%s: transmit timeout; resetting", nn->name);
    nk_work_queue(nn->reset_work);
}

static const struct nk_net_ops nknet_ops = {
    .open = nknet_open,
    .stop = nknet_stop,
    .start_xmit = nknet_start_xmit,
    .set_rx_mode = nknet_set_rx_mode,
    .set_mac_address = nknet_set_mac_address,
    .change_mtu = nknet_change_mtu,
    .tx_timeout = nknet_tx_timeout,
};

/* ---- Probe and remove ---------------------------------------------------- */

static void nknet_free(struct nknet *nn)
{
    if (nn->reset_work)
        nk_work_destroy(nn->reset_work);
    if (nn->watchdog)
        nk_timer_destroy(nn->watchdog);
    if (nn->regs)
        nk_iounmap(nn->regs);
    nk_kfree(nn);
}

static int nknet_probe(nk_device *dev, const struct nk_device_id *id)
{
    struct nk_device_info info;
    struct nk_netdev_params params;
    struct nknet *nn;
    int err;

    (void)id;
    err = nk_dev_info(dev, &info);
    if (err)
        return err;
    nn = nk_kzalloc(sizeof(*nn), NK_GFP_KERNEL);
    if (!nn)
        return -ENOMEM;
    nn->dev = dev;
    memcpy(nn->name, info.name, sizeof(nn->name));
    nn->name[sizeof(nn->name) - 1] = '\0';
    nn->mtu = NK_ETH_DATA_LEN;
    nk_spin_lock_init(&nn->tx_lock);

    err = nk_iomap(dev, 0, &nn->regs);
    if (err)
        goto fail;
    nn->irq = nk_dev_irq(dev, 0);
    nn->watchdog = nk_timer_create(nknet_watchdog, nn);
    nn->reset_work = nk_work_create(nknet_reset_work, nn);
    if (nn->irq < 0 || !nn->watchdog || !nn->reset_work) {
        err = nn->irq < 0 ? nn->irq : -ENOMEM;
        goto fail;
    }
    nknet_reset_hw(nn);
    nknet_read_mac(nn);

    memset(&params, 0, sizeof(params));
    memcpy(params.mac, nn->mac, NK_ETH_ALEN);
    params.mtu = NK_ETH_DATA_LEN;
    params.min_mtu = NK_ETH_MIN_MTU;
    params.max_mtu = 9000;
    nk_dev_set_drvdata(dev, nn);
    /* Last: from here on the kernel may open the device. */
    err = nk_netdev_register(dev, &params, &nknet_ops, nn, &nn->netdev);
    if (err)
        goto fail_drvdata;
    nk_log(NK_LOG_INFO, "%s: NKNIC at %02x:%02x:%02x:%02x:%02x:%02x", nn->name, nn->mac[0], nn->mac[1], nn->mac[2],
           nn->mac[3], nn->mac[4], nn->mac[5]);
    return 0;

fail_drvdata:
    nk_dev_set_drvdata(dev, NULL);
fail:
    nknet_free(nn);
    return err;
}

static void nknet_remove(nk_device *dev)
{
    struct nknet *nn = nk_dev_get_drvdata(dev);

    if (!nn)
        return;
    /* Brings the device down first if it is up (our stop runs). */
    nk_netdev_unregister(nn->netdev);
    nknet_reset_hw(nn);
    nk_dev_set_drvdata(dev, NULL);
    nknet_free(nn);
}

static const struct nk_device_id nknet_ids[] = {
    { NKNIC_VENDOR_ID, NKNIC_DEVICE_ID },
    { 0, 0 },
};

static const struct nk_bus_driver nknet_driver = {
    .name = "nknet",
    .id_table = nknet_ids,
    .probe = nknet_probe,
    .remove = nknet_remove,
};

static int nknet_init(void) { return nk_bus_register_driver(&nknet_driver); }

static void nknet_exit(void) { nk_bus_unregister_driver(&nknet_driver); }

NK_MODULE("nknet", "NKNIC Ethernet controller", nknet_init, nknet_exit);
