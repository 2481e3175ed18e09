// SPDX-License-Identifier: MIT
#include "classes/net/NetDevice.h"

#include "base/Clock.h"
#include "base/Log.h"
#include "kernel/exec/Context.h"

#include <fmt/format.h>

#include <algorithm>

namespace nk {

static auto logger() { return log::get("net"); }

namespace {

// Frames handed to the driver in one batch (one crossing when isolated).
constexpr size_t max_batch = 64;

} // namespace

std::string format_ethernet_address(EthernetAddress const& a)
{
    return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", a[0], a[1], a[2], a[3], a[4], a[5]);
}

Result<NetDeviceConfig> NetDeviceConfig::from_params(nk_netdev_params const& params)
{
    NetDeviceConfig config;
    std::copy(std::begin(params.mac), std::end(params.mac), config.mac.begin());
    if ((config.mac[0] & 1) != 0 || std::ranges::all_of(config.mac, [](uint8_t b) { return b == 0; }))
        return make_error(ErrorCode::InvalidArgument, "netdev_register: params.mac {} is not a unicast station address",
            format_ethernet_address(config.mac));
    constexpr uint32_t largest_mtu = NK_NET_MAX_FRAME - NK_ETH_HLEN - 4;
    if (params.min_mtu < NK_ETH_MIN_MTU || params.min_mtu > params.max_mtu)
        return make_error(ErrorCode::InvalidArgument, "netdev_register: params.min_mtu {} (must be {} .. max_mtu {})",
            params.min_mtu, NK_ETH_MIN_MTU, params.max_mtu);
    if (params.max_mtu > largest_mtu)
        return make_error(ErrorCode::InvalidArgument, "netdev_register: params.max_mtu {} (at most {})", params.max_mtu, largest_mtu);
    if (params.mtu < params.min_mtu || params.mtu > params.max_mtu)
        return make_error(ErrorCode::InvalidArgument, "netdev_register: params.mtu {} (must be {} .. {})", params.mtu,
            params.min_mtu, params.max_mtu);
    if (params.features != 0)
        return make_error(ErrorCode::InvalidArgument, "netdev_register: params.features {:#x} (none are defined)", params.features);
    config.mtu = params.mtu;
    config.min_mtu = params.min_mtu;
    config.max_mtu = params.max_mtu;
    return config;
}

NetDevice::NetDevice(uint64_t id, std::string name, NetDeviceConfig config, Module& owner, BusDevice* device,
    std::unique_ptr<NetDriverPort> port, void* private_data, size_t tx_queue_length)
    : m_id(id)
    , m_name(std::move(name))
    , m_owner(&owner)
    , m_device(device)
    , m_port(std::move(port))
    , m_private_data(private_data)
    , m_tx_queue_length(tx_queue_length)
    , m_config(config)
{
}

NetDevice::~NetDevice() = default;

EthernetAddress NetDevice::mac() const
{
    MutexLocker lock(m_config_mutex);
    return m_config.mac;
}

uint32_t NetDevice::mtu() const
{
    MutexLocker lock(m_config_mutex);
    return m_config.mtu;
}

NetDeviceConfig NetDevice::config() const
{
    MutexLocker lock(m_config_mutex);
    return m_config;
}

nk_net_rx_mode NetDevice::rx_mode() const
{
    MutexLocker lock(m_config_mutex);
    return m_rx_mode;
}

NetDeviceStats NetDevice::stats() const
{
    MutexLocker lock(m_stats_mutex);
    return m_stats;
}

// ---- The stack side ----

Result<void> NetDevice::open()
{
    MutexLocker control(m_control_mutex);
    if (!alive())
        return make_error(ErrorCode::NotFound, "net {}: the device is gone", m_name);
    if (up())
        return {};
    auto result = TRY(m_port->open(*this));
    if (result != 0)
        return std::unexpected(Error::from_errno(-result, fmt::format("net {}: the driver's open", m_name)));
    m_up.store(true, std::memory_order_release);
    // The receive filter as the stack wants it, now that the hardware runs.
    TRY(m_port->set_rx_mode(*this, rx_mode()));
    logger()->info("{}: up ({}, mtu {})", m_name, format_ethernet_address(mac()), mtu());
    return {};
}

Result<void> NetDevice::stop()
{
    MutexLocker control(m_control_mutex);
    if (!up())
        return {};
    m_up.store(false, std::memory_order_release);
    m_queue_stopped.store(true, std::memory_order_release);
    {
        MutexLocker lock(m_queue_mutex);
        m_queue.clear();
    }
    if (!alive())
        return {};
    auto result = TRY(m_port->stop(*this));
    if (result != 0)
        logger()->warn("{}: the driver's stop returned {}", m_name, result);
    logger()->info("{}: down", m_name);
    return {};
}

Result<void> NetDevice::set_mac_address(EthernetAddress const& mac)
{
    MutexLocker control(m_control_mutex);
    if (!alive())
        return make_error(ErrorCode::NotFound, "net {}: the device is gone", m_name);
    if ((mac[0] & 1) != 0 || std::ranges::all_of(mac, [](uint8_t b) { return b == 0; }))
        return make_error(ErrorCode::InvalidArgument, "net {}: {} is not a unicast address", m_name, format_ethernet_address(mac));
    auto result = TRY(m_port->set_mac_address(*this, mac));
    if (result != 0)
        return std::unexpected(Error::from_errno(-result, fmt::format("net {}: the driver refused address {}", m_name,
            format_ethernet_address(mac))));
    MutexLocker lock(m_config_mutex);
    m_config.mac = mac;
    return {};
}

Result<void> NetDevice::change_mtu(uint32_t mtu)
{
    MutexLocker control(m_control_mutex);
    if (!alive())
        return make_error(ErrorCode::NotFound, "net {}: the device is gone", m_name);
    auto config = this->config();
    if (mtu < config.min_mtu || mtu > config.max_mtu)
        return make_error(ErrorCode::InvalidArgument, "net {}: mtu {} is outside {} .. {}", m_name, mtu, config.min_mtu, config.max_mtu);
    auto result = TRY(m_port->change_mtu(*this, mtu));
    if (result != 0)
        return std::unexpected(Error::from_errno(-result, fmt::format("net {}: the driver refused mtu {}", m_name, mtu)));
    MutexLocker lock(m_config_mutex);
    m_config.mtu = mtu;
    return {};
}

Result<void> NetDevice::set_rx_mode(nk_net_rx_mode const& mode)
{
    MutexLocker control(m_control_mutex);
    auto wanted = mode;
    if (wanted.mc_count > NK_NET_MC_MAX) {
        wanted.mc_count = 0;
        wanted.flags |= NK_NET_RX_ALLMULTI;
    }
    {
        MutexLocker lock(m_config_mutex);
        m_rx_mode = wanted;
    }
    if (!alive() || !up())
        return {}; // applied at open
    return m_port->set_rx_mode(*this, wanted);
}

// ---- Transmit ----

bool NetDevice::enqueue(std::span<std::byte const> frame)
{
    bool taken = false;
    if (alive() && up()) {
        MutexLocker lock(m_queue_mutex);
        if (m_queue.size() < m_tx_queue_length) {
            m_queue.push_back({ Frame(frame.begin(), frame.end()), 0 });
            taken = true;
        }
    }
    if (!taken) {
        MutexLocker lock(m_stats_mutex);
        m_stats.tx_dropped++;
    }
    return taken;
}

size_t NetDevice::queued() const
{
    MutexLocker lock(m_queue_mutex);
    return m_queue.size();
}

void NetDevice::run_queue()
{
    {
        MutexLocker lock(m_queue_mutex);
        if (m_tx_running) {
            m_tx_again = true; // the runner goes round once more
            return;
        }
        m_tx_running = true;
    }
    for (;;) {
        while (transmit_batch()) { }
        MutexLocker lock(m_queue_mutex);
        if (!m_tx_again) {
            m_tx_running = false;
            return;
        }
        m_tx_again = false;
    }
}

void NetDevice::run_queue_softirq(void* device) { static_cast<NetDevice*>(device)->run_queue(); }

bool NetDevice::transmit_batch()
{
    if (!alive() || !up() || queue_stopped())
        return false;
    auto const retry_limit = m_tx_retry_limit.load(std::memory_order_acquire);
    std::vector<QueuedFrame> batch;
    size_t left = 0;
    size_t failed_alone = 0;
    {
        MutexLocker lock(m_queue_mutex);
        // Frames the driver failed on `retry_limit` times, each time alone: dropped alone.
        while (retry_limit > 0 && !m_queue.empty() && m_queue.front().failures >= retry_limit) {
            m_queue.pop_front();
            ++failed_alone;
        }
        auto count = std::min(m_queue.size(), max_batch);
        // A frame in flight at a failure goes alone (suspects are always at
        // the front: they went back there), so the next failure names it.
        if (count > 0 && m_queue.front().failures > 0)
            count = 1;
        for (size_t i = 0; i < count; ++i) {
            batch.push_back(std::move(m_queue.front()));
            m_queue.pop_front();
        }
        left = m_queue.size();
    }
    if (failed_alone > 0) {
        logger()->warn("{}: {} frame(s) made the driver fail {} times, each time alone in flight: dropped", m_name, failed_alone,
            retry_limit);
        MutexLocker lock(m_stats_mutex);
        m_stats.tx_failed_alone += failed_alone;
    }
    if (batch.empty())
        return false;
    // An upper that found the queue full holds frames back until it hears
    // the queue has room: a driver that keeps up never stops its queue, so
    // no wake would tell it. Told when the queue is back under half.
    if (left <= m_tx_queue_length / 2 && m_upper_waiting.load(std::memory_order_acquire)
        && m_upper_waiting.exchange(false, std::memory_order_acq_rel)) {
        MutexLocker lock(m_upper_mutex);
        if (m_upper != nullptr)
            m_upper->queue_woken();
    }
    std::vector<Frame const*> frames;
    for (auto const& queued : batch)
        frames.push_back(&queued.frame);
    std::vector<int> answers(batch.size(), NK_NETDEV_TX_BUSY);
    auto attempted = m_port->start_xmit_batch(*this, frames, answers);
    size_t taken = 0;
    uint64_t bytes = 0;
    bool busy = false;
    if (attempted) {
        for (size_t i = 0; i < *attempted && i < batch.size(); ++i) {
            if (answers[i] == NK_NETDEV_TX_BUSY) {
                busy = true;
                break;
            }
            ++taken;
            bytes += batch[i].frame.size();
        }
    }
    // Not taken (or, with retries, lost with a failed driver): back to the
    // front of the queue, in order, for the next run.
    bool retry = !attempted && retry_limit > 0 && alive();
    if ((attempted && taken < batch.size()) || retry) {
        MutexLocker lock(m_queue_mutex);
        for (size_t i = batch.size(); i > taken; --i) {
            if (retry)
                batch[i - 1].failures++;
            m_queue.push_front(std::move(batch[i - 1]));
        }
    }
    {
        MutexLocker lock(m_stats_mutex);
        m_stats.tx_batches++;
        m_stats.tx_packets += taken;
        m_stats.tx_bytes += bytes;
        if (busy)
            m_stats.tx_busy++;
        if (retry)
            m_stats.tx_retried += batch.size();
        else if (!attempted)
            m_stats.tx_dropped += batch.size(); // the driver failed with them
    }
    if (!attempted)
        return false;
    if (busy) {
        // A driver stops its queue before it answers BUSY, and wakes it when
        // it has room: the wake reruns the queue. Finding it running means
        // the room came already (an isolated driver's stop can be overtaken
        // by its poll's wake on another channel): try again at once. A
        // driver that answers BUSY again and again without stopping is
        // stopped here, so the watchdog sees a stuck queue.
        if (queue_stopped())
            return false;
        if (++m_busy_unstopped < max_busy_unstopped)
            return true;
        logger()->warn("{}: the driver answered BUSY {} times without stopping its queue", m_name, m_busy_unstopped);
        m_busy_unstopped = 0;
        stop_queue();
        return false;
    }
    m_busy_unstopped = 0;
    return taken == batch.size();
}

size_t NetDevice::suspects_queued() const
{
    MutexLocker lock(m_queue_mutex);
    return static_cast<size_t>(std::ranges::count_if(m_queue, [](QueuedFrame const& queued) { return queued.failures > 0; }));
}

void NetDevice::attach_upper(NetUpper* upper)
{
    MutexLocker lock(m_upper_mutex);
    m_upper = upper;
    m_upper_carrier = carrier(); // the upper reads it when it attaches
}

// ---- The driver side ----

void NetDevice::netif_rx(std::span<std::byte const> frame)
{
    if (!alive())
        return;
    if (frame.size() < NK_ETH_HLEN || frame.size() > NK_NET_MAX_FRAME) {
        MutexLocker lock(m_stats_mutex);
        m_stats.rx_dropped++;
        return;
    }
    m_port->received(*this, frame);
    bool delivered = false;
    {
        MutexLocker lock(m_upper_mutex);
        if (m_upper != nullptr) {
            m_upper->frame_received(frame);
            delivered = true;
        }
    }
    MutexLocker lock(m_stats_mutex);
    if (delivered) {
        m_stats.rx_packets++;
        m_stats.rx_bytes += frame.size();
    } else {
        m_stats.rx_dropped++;
    }
}

void NetDevice::start_queue() { wake_queue(); }

void NetDevice::stop_queue()
{
    if (!m_queue_stopped.exchange(true, std::memory_order_acq_rel)) {
        uint64_t expected = 0;
        m_stalled_since_ns.compare_exchange_strong(expected, monotonic_ns());
    }
}

void NetDevice::wake_queue()
{
    if (!alive() || !m_queue_stopped.exchange(false, std::memory_order_acq_rel))
        return;
    m_stalled_since_ns.store(0, std::memory_order_release);
    // Frames waiting go to the driver after its current call returns; the
    // upper may read more now.
    raise_softirq(&NetDevice::run_queue_softirq, this);
    MutexLocker lock(m_upper_mutex);
    if (m_upper != nullptr)
        m_upper->queue_woken();
}

void NetDevice::carrier_on()
{
    // seq_cst with release_carrier_at's store and load: one of the two sees the other.
    if (!alive() || m_carrier.exchange(true, std::memory_order_seq_cst))
        return;
    logger()->info("{}: carrier on", m_name);
    {
        MutexLocker lock(m_stats_mutex);
        m_stats.carrier_changes++;
    }
    // A hold waiting for the link ends with it.
    if (m_carrier_held.load(std::memory_order_seq_cst) && m_carrier_hold_deadline_ns.load(std::memory_order_seq_cst) != 0)
        release_carrier();
    tell_upper_carrier();
}

void NetDevice::carrier_off()
{
    if (!m_carrier.exchange(false, std::memory_order_acq_rel))
        return;
    logger()->info("{}: carrier off", m_name);
    {
        MutexLocker lock(m_stats_mutex);
        m_stats.carrier_changes++;
    }
    tell_upper_carrier();
}

void NetDevice::tell_upper_carrier()
{
    MutexLocker lock(m_upper_mutex);
    if (m_carrier_held.load(std::memory_order_acquire))
        return;
    auto on = carrier();
    if (m_upper == nullptr || m_upper_carrier == on)
        return;
    m_upper_carrier = on;
    m_upper->carrier_changed(on);
}

void NetDevice::hold_carrier()
{
    m_carrier_hold_deadline_ns.store(0, std::memory_order_release);
    m_carrier_held.store(true, std::memory_order_release);
}

void NetDevice::release_carrier()
{
    if (!m_carrier_held.exchange(false, std::memory_order_acq_rel))
        return;
    m_carrier_hold_deadline_ns.store(0, std::memory_order_release);
    m_carrier_released_ns.store(monotonic_ns(), std::memory_order_release);
    tell_upper_carrier();
}

void NetDevice::release_carrier_at(uint64_t deadline_ns)
{
    if (carrier()) {
        release_carrier();
        return;
    }
    m_carrier_hold_deadline_ns.store(std::max<uint64_t>(deadline_ns, 1), std::memory_order_seq_cst);
    if (m_carrier.load(std::memory_order_seq_cst)) // the link came up meanwhile
        release_carrier();
}

void NetDevice::expire_carrier_hold(uint64_t now_ns)
{
    auto deadline = m_carrier_hold_deadline_ns.load(std::memory_order_acquire);
    if (deadline != 0 && now_ns >= deadline && m_carrier_held.load(std::memory_order_acquire)) {
        logger()->warn("{}: the link did not come back after the driver's restart; the carrier goes off", m_name);
        release_carrier();
    }
}

void NetDevice::update_hw_stats(nk_net_hw_stats const& stats)
{
    MutexLocker lock(m_stats_mutex);
    m_stats.hw = { m_hw_base.rx_missed + stats.rx_missed, m_hw_base.rx_errors + stats.rx_errors,
        m_hw_base.tx_errors + stats.tx_errors, m_hw_base.hw_errors + stats.hw_errors };
}

void NetDevice::carry_hw_stats()
{
    MutexLocker lock(m_stats_mutex);
    m_hw_base = m_stats.hw;
}

Napi& NetDevice::add_napi(std::unique_ptr<NapiPoller> poller, int weight)
{
    MutexLocker lock(m_napi_mutex);
    for (auto const& napi : m_napis) {
        if (napi->reuse(poller, weight))
            return *napi;
    }
    return *m_napis.emplace_back(std::make_unique<Napi>(*this, std::move(poller), weight));
}

void NetDevice::del_napi(Napi& napi) { napi.retire(); }

std::string NetDevice::describe_napis() const
{
    std::string text;
    MutexLocker lock(m_napi_mutex);
    for (auto const& napi : m_napis)
        text += (text.empty() ? "" : "; ") + napi->describe();
    return text.empty() ? "no napi" : text;
}

void NetDevice::kill()
{
    if (!m_alive.exchange(false, std::memory_order_acq_rel))
        return;
    m_up.store(false, std::memory_order_release);
    m_queue_stopped.store(true, std::memory_order_release);
    m_carrier.store(false, std::memory_order_release);
    {
        MutexLocker lock(m_napi_mutex);
        for (auto const& napi : m_napis)
            napi->disable(false); // a poll running now (maybe our caller) ends on its own
    }
    size_t dropped = 0;
    {
        MutexLocker lock(m_queue_mutex);
        dropped = m_queue.size();
        m_queue.clear();
    }
    MutexLocker lock(m_stats_mutex);
    m_stats.tx_dropped += dropped;
}

} // namespace nk
