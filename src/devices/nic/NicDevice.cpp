// SPDX-License-Identifier: MIT
#include "devices/nic/NicDevice.h"

#include "base/Log.h"

#include <hw/nknic.h>

#include <algorithm>
#include <utility>

namespace nk {

namespace {

using Clock = NicInterrupts::Clock;
using namespace std::chrono_literals;

constexpr bool in_block(uint32_t offset, uint32_t base, uint32_t size) { return offset >= base && offset - base < size; }

constexpr bool is_receive_error(uint32_t code)
{
    return code == NKNIC_ERR_RX_RING || code == NKNIC_ERR_RX_POINTER || code == NKNIC_ERR_RX_BUFFER;
}

} // namespace

NicDevice::NicDevice(std::string name, MacAddress mac, EthernetSegment& segment, std::chrono::milliseconds link_delay)
    : m_name(std::move(name))
    , m_mac(mac)
    , m_link_delay(std::max(link_delay, 0ms))
{
    {
        MutexLocker lock(m_mutex);
        reset_locked();
    }
    m_port = segment.attach(*this, m_name);
}

NicDevice::~NicDevice()
{
    std::unique_ptr<EventSource> link_timer;
    std::unique_ptr<EventSource> itr_timer;
    {
        MutexLocker lock(m_mutex);
        link_timer = std::move(m_link_timer);
        itr_timer = std::move(m_itr_timer);
    }
    // Synchronous: their callbacks have returned, and none runs again.
    link_timer.reset();
    itr_timer.reset();
    {
        // The link is down and both rings are off: frames are dropped, the engine stops.
        MutexLocker engine(m_engine_mutex);
        MutexLocker lock(m_mutex);
        reset_locked();
    }
    m_port.reset(); // waits for a receive() in progress
    MutexLocker lock(m_mutex);
    m_raised.wait(lock, [&]() NK_REQUIRES(m_mutex) { return m_raising == 0; });
}

uint16_t NicDevice::vendor_id() const { return NKNIC_VENDOR_ID; }
uint16_t NicDevice::device_id() const { return NKNIC_DEVICE_ID; }
uint32_t NicDevice::window_size(uint32_t) const { return NKNIC_WINDOW_SIZE; }

NicDevice::Counters NicDevice::counters() const
{
    MutexLocker lock(m_mutex);
    return m_counters;
}

bool NicDevice::link_up() const
{
    MutexLocker lock(m_mutex);
    return m_link;
}

void NicDevice::connected()
{
    bool raise = false;
    {
        MutexLocker lock(m_mutex);
        if (auto* loop = events(); loop != nullptr && !m_link_timer) {
            auto link = loop->timer(m_name + " link", [this](uint64_t) { link_timer_fired(); });
            auto itr = loop->timer(m_name + " itr", [this](uint64_t) { itr_timer_fired(); });
            if (link && itr) {
                m_link_timer = std::move(*link);
                m_itr_timer = std::move(*itr);
            } else {
                log::get("devices")->error("{}: no timers: {}", m_name, link ? itr.error() : link.error());
            }
        }
        raise = apply_locked(start_negotiation_locked());
    }
    if (raise)
        deliver_interrupt();
}

// --- Registers -------------------------------------------------------------

uint64_t NicDevice::read_register(uint32_t, uint32_t offset, unsigned width)
{
    MutexLocker lock(m_mutex);
    uint64_t value = read32_locked(offset);
    if (width == 8)
        value |= uint64_t(read32_locked(offset + 4)) << 32;
    return value;
}

uint32_t NicDevice::read32_locked(uint32_t offset)
{
    if (in_block(offset, NKNIC_REG_RDBAL, NicRing::block_size))
        return m_rx.read(offset - NKNIC_REG_RDBAL).value_or(0);
    if (in_block(offset, NKNIC_REG_TDBAL, NicRing::block_size))
        return m_tx.read(offset - NKNIC_REG_TDBAL).value_or(0);
    if (in_block(offset, NKNIC_REG_MTA(0), 4 * NKNIC_NUM_MTA))
        return m_filter.mta[(offset - NKNIC_REG_MTA(0)) / 4];
    if (in_block(offset, NKNIC_REG_RAL(0), 8 * NKNIC_NUM_RA)) {
        auto const slot = (offset - NKNIC_REG_RAL(0)) / 8;
        return offset == NKNIC_REG_RAL(slot) ? m_filter.ral[slot] : m_filter.rah[slot];
    }
    auto const take = [](uint32_t& counter) { return std::exchange(counter, 0u); };
    switch (offset) {
    case NKNIC_REG_CTRL: return m_ctrl;
    case NKNIC_REG_STATUS: return (m_link ? NKNIC_STATUS_LU : 0u) | (m_errcode != 0 ? NKNIC_STATUS_ERR : 0u);
    case NKNIC_REG_ERRCODE: return m_errcode;
    case NKNIC_REG_ICR: return m_interrupts.read_and_clear();
    case NKNIC_REG_ITR: return m_interrupts.interval();
    case NKNIC_REG_IMS: return m_interrupts.mask();
    case NKNIC_REG_RCTL: return m_filter.rctl;
    case NKNIC_REG_TCTL: return m_tctl;
    case NKNIC_REG_MPC: return take(m_statistics.mpc);
    case NKNIC_REG_GPRC: return take(m_statistics.gprc);
    case NKNIC_REG_GPTC: return take(m_statistics.gptc);
    case NKNIC_REG_GORC: return take(m_statistics.gorc);
    case NKNIC_REG_GOTC: return take(m_statistics.gotc);
    case NKNIC_REG_RNBC: return take(m_statistics.rnbc);
    case NKNIC_REG_ROC: return take(m_statistics.roc);
    case NKNIC_REG_TPR: return take(m_statistics.tpr);
    case NKNIC_REG_ERRC: return take(m_statistics.errc);
    default: return 0; // write-only (ICS, IMC) and unassigned registers
    }
}

void NicDevice::write_register(uint32_t, uint32_t offset, unsigned width, uint64_t value)
{
    write32(offset, static_cast<uint32_t>(value));
    if (width == 8)
        write32(offset + 4, static_cast<uint32_t>(value >> 32));
}

void NicDevice::write32(uint32_t offset, uint32_t value)
{
    bool raise = false;
    bool start_engine = false;
    if (offset == NKNIC_REG_CTRL && (value & NKNIC_CTRL_RST) != 0) {
        // Waits neither for the timers' callbacks nor for a transmit pass in
        // progress (which stops once it sees the reset).
        MutexLocker lock(m_mutex);
        reset_locked();
        raise = apply_locked(start_negotiation_locked());
    } else {
        MutexLocker lock(m_mutex);
        Decision decision;
        start_engine = write32_locked(offset, value, decision);
        raise = apply_locked(decision);
    }
    if (raise)
        deliver_interrupt();
    if (start_engine)
        kick();
}

bool NicDevice::write32_locked(uint32_t offset, uint32_t value, Decision& decision)
{
    if (in_block(offset, NKNIC_REG_RDBAL, NicRing::block_size)) {
        write_ring_locked(m_rx, offset - NKNIC_REG_RDBAL, value, (m_filter.rctl & NKNIC_RCTL_EN) != 0, decision);
        return false;
    }
    if (in_block(offset, NKNIC_REG_TDBAL, NicRing::block_size)) {
        bool usable = write_ring_locked(m_tx, offset - NKNIC_REG_TDBAL, value, (m_tctl & NKNIC_TCTL_EN) != 0, decision);
        return usable && offset == NKNIC_REG_TDT; // the doorbell
    }
    if (in_block(offset, NKNIC_REG_MTA(0), 4 * NKNIC_NUM_MTA)) {
        m_filter.mta[(offset - NKNIC_REG_MTA(0)) / 4] = value;
        return false;
    }
    if (in_block(offset, NKNIC_REG_RAL(0), 8 * NKNIC_NUM_RA)) {
        auto const slot = (offset - NKNIC_REG_RAL(0)) / 8;
        (offset == NKNIC_REG_RAL(slot) ? m_filter.ral[slot] : m_filter.rah[slot]) = value;
        return false;
    }
    auto const now = Clock::now();
    switch (offset) {
    case NKNIC_REG_CTRL:
        m_ctrl = value;
        if ((value & NKNIC_CTRL_SLU) != 0)
            decision |= start_negotiation_locked(true);
        return false;
    case NKNIC_REG_ICS: decision |= m_interrupts.set(value, now); return false;
    case NKNIC_REG_IMS: decision |= m_interrupts.enable(value, now); return false;
    case NKNIC_REG_IMC: m_interrupts.disable(value); return false;
    case NKNIC_REG_ITR: m_interrupts.set_interval(value); return false;
    case NKNIC_REG_RCTL: {
        bool const starts = (m_filter.rctl & NKNIC_RCTL_EN) == 0 && (value & NKNIC_RCTL_EN) != 0;
        m_filter.rctl = value;
        if (starts && !m_rx.stopped)
            check_ring_locked(m_rx, decision);
        return false;
    }
    case NKNIC_REG_TCTL: {
        bool const starts = (m_tctl & NKNIC_TCTL_EN) == 0 && (value & NKNIC_TCTL_EN) != 0;
        m_tctl = value;
        // Descriptors handed over while the transmitter was off go out now.
        return starts && !m_tx.stopped && check_ring_locked(m_tx, decision);
    }
    default: return false; // read-only and unassigned registers
    }
}

bool NicDevice::write_ring_locked(NicRing& ring, uint32_t relative, uint32_t value, bool enabled, Decision& decision)
{
    if (!ring.write(relative, value))
        return false;
    // A ring in use is checked again whenever it is reprogrammed (a tail moved past the end...).
    return enabled && !ring.stopped && check_ring_locked(ring, decision);
}

bool NicDevice::check_ring_locked(NicRing& ring, Decision& decision)
{
    bool const receive = &ring == &m_rx;
    switch (ring.check(iommu())) {
    case NicRing::Fault::None: return true;
    case NicRing::Fault::Ring: decision |= fail_locked(receive ? NKNIC_ERR_RX_RING : NKNIC_ERR_TX_RING); return false;
    case NicRing::Fault::Pointer:
        decision |= fail_locked(receive ? NKNIC_ERR_RX_POINTER : NKNIC_ERR_TX_POINTER);
        return false;
    }
    return false;
}

// --- Reset, link, errors, interrupts ----------------------------------------

void NicDevice::hard_reset()
{
    EventSource* link_timer = nullptr;
    EventSource* itr_timer = nullptr;
    {
        MutexLocker lock(m_mutex);
        link_timer = m_link_timer.get();
        itr_timer = m_itr_timer.get();
    }
    // Synchronous (their callbacks take the device lock, not held here). Both
    // live as long as the device.
    if (link_timer != nullptr)
        link_timer->stop();
    if (itr_timer != nullptr)
        itr_timer->stop();
    {
        MutexLocker engine(m_engine_mutex);
        MutexLocker lock(m_mutex);
        reset_locked();
    }
    bool raise = false;
    {
        MutexLocker lock(m_mutex);
        // An interrupt decided before the reset may still be on its way out.
        m_raised.wait(lock, [&]() NK_REQUIRES(m_mutex) { return m_raising == 0; });
        raise = apply_locked(start_negotiation_locked()); // as after a power cycle
    }
    if (raise)
        deliver_interrupt();
}

void NicDevice::reset_locked()
{
    ++m_generation;
    m_ctrl = 0;
    m_link = false;
    m_negotiating = false;
    m_errcode = 0;
    m_tctl = 0;
    m_filter = {};
    m_filter.ral[0] = uint32_t(m_mac[0]) | uint32_t(m_mac[1]) << 8 | uint32_t(m_mac[2]) << 16 | uint32_t(m_mac[3]) << 24;
    m_filter.rah[0] = uint32_t(m_mac[4]) | uint32_t(m_mac[5]) << 8 | NKNIC_RAH_AV;
    m_rx = {};
    m_tx = {};
    m_interrupts.reset();
    m_statistics = {};
    m_tx_frame.clear();
    // Not stop(): a register write must not wait for a callback. A callback
    // already running finds nothing to do (it checks the state it was for).
    if (m_link_timer)
        m_link_timer->cancel();
    if (m_itr_timer)
        m_itr_timer->cancel();
}

NicDevice::Decision NicDevice::start_negotiation_locked(bool restart)
{
    if (m_link || (m_negotiating && !restart))
        return {};
    if (m_link_timer) {
        m_link_due = Clock::now() + m_link_delay;
        if (auto started = m_link_timer->start_timer(m_link_delay, 0ns); started) {
            m_negotiating = true;
            return {};
        } else {
            log::get("devices")->error("{}: link timer: {}", m_name, started.error());
        }
    }
    // No event loop to time it: the link comes up at once.
    m_link = true;
    return m_interrupts.set(NKNIC_INT_LSC, Clock::now());
}

// On the loop thread.
void NicDevice::link_timer_fired()
{
    bool raise = false;
    {
        MutexLocker lock(m_mutex);
        // A reset since cancelled it (and maybe started negotiating again).
        if (!m_negotiating || Clock::now() < m_link_due)
            return;
        m_negotiating = false;
        m_link = true;
        raise = apply_locked(m_interrupts.set(NKNIC_INT_LSC, Clock::now()));
    }
    if (raise)
        deliver_interrupt();
}

// On the loop thread.
void NicDevice::itr_timer_fired()
{
    bool raise = false;
    {
        MutexLocker lock(m_mutex);
        raise = apply_locked(m_interrupts.expired(Clock::now()));
    }
    if (raise)
        deliver_interrupt();
}

NicDevice::Decision NicDevice::fail_locked(uint32_t code)
{
    (is_receive_error(code) ? m_rx : m_tx).stopped = true;
    // The first cause is what the driver needs to see; later ones do not hide it.
    if (m_errcode == 0) {
        m_errcode = code;
        log::get("devices")->warn("{}: misprogrammed (NKNIC_ERR {}): {} ring stopped until reset", m_name, code,
            is_receive_error(code) ? "receive" : "transmit");
    }
    m_statistics.errc++;
    m_counters.errors++;
    return m_interrupts.set(NKNIC_INT_ERR, Clock::now());
}

bool NicDevice::apply_locked(Decision decision)
{
    if (decision.defer) {
        bool armed = false;
        if (m_itr_timer) {
            auto started = m_itr_timer->start_timer(*decision.defer, 0ns);
            armed = started.has_value();
            if (!armed)
                log::get("devices")->error("{}: interrupt timer: {}", m_name, started.error());
        }
        if (!armed)
            decision |= m_interrupts.flush(Clock::now());
    }
    if (!decision.raise)
        return false;
    ++m_raising;
    m_counters.interrupts++;
    return true;
}

void NicDevice::deliver_interrupt()
{
    raise_interrupt(0);
    MutexLocker lock(m_mutex);
    if (--m_raising == 0)
        m_raised.notify_all();
}

std::string NicDevice::describe() const
{
    MutexLocker lock(m_mutex);
    return fmt::format("NIC: ICR {:#x} IMS {:#x}{}{}, link {}, rx head {} tail {}, tx head {} tail {}, {} interrupts", m_interrupts.causes(),
        m_interrupts.mask(), m_interrupts.asserted() ? " asserted" : "", m_interrupts.deferred() ? " deferred" : "", m_link ? "up" : "down",
        m_rx.head, m_rx.tail, m_tx.head, m_tx.tail, m_counters.interrupts);
}

} // namespace nk
