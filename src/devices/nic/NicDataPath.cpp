// SPDX-License-Identifier: MIT
// The NKNIC's data path: receive (a frame from the segment into the receive
// ring) and the transmit engine (the transmit ring onto the segment). The
// rest of the device, and the thread rules both follow, are in NicDevice.h
// and NicDevice.cpp.
#include "devices/nic/NicDevice.h"

#include "kernel/exec/Context.h"

#include <hw/nknic.h>

#include <atomic>
#include <cstddef>
#include <cstring>

namespace nk {

namespace {

using Clock = NicInterrupts::Clock;

// A descriptor's status byte goes last, with release order: a driver that
// sees DD sees the rest of the write-back.
void store_status(std::byte* status, uint8_t value)
{
    std::atomic_ref<uint8_t>(*reinterpret_cast<uint8_t*>(status)).store(value, std::memory_order_release);
}

} // namespace

// --- Receive ---------------------------------------------------------------

void NicDevice::receive(std::span<std::byte const> frame)
{
    if (frame.size() < EthernetSegment::min_frame)
        return;
    bool raise = false;
    {
        MutexLocker lock(m_mutex);
        m_statistics.tpr++;
        m_counters.frames_seen++;
        if (!m_link || (m_filter.rctl & NKNIC_RCTL_EN) == 0 || m_rx.stopped)
            return;
        if (!nic_filter_accepts(m_filter, frame.first<6>()))
            return;
        m_counters.frames_for_us++;
        raise = apply_locked(deliver_frame_locked(frame));
    }
    if (raise)
        deliver_interrupt();
}

NicDevice::Decision NicDevice::deliver_frame_locked(std::span<std::byte const> frame)
{
    auto const rctl = m_filter.rctl;
    auto const now = Clock::now();
    if (frame.size() > nic_rx_max_frame(rctl)) {
        m_statistics.roc++;
        m_counters.frames_too_long++;
        return {};
    }
    if (m_rx.head == m_rx.tail) {
        m_statistics.mpc++;
        m_statistics.rnbc++;
        m_counters.frames_missed++;
        return m_interrupts.set(NKNIC_INT_RXO, now);
    }
    auto slot = m_rx.descriptor(iommu(), m_rx.head);
    if (!slot)
        return fail_locked(NKNIC_ERR_RX_RING);
    auto* descriptor = slot->bytes().data();
    uint64_t address = 0;
    std::memcpy(&address, descriptor + offsetof(nknic_rx_desc, addr), sizeof(address));
    {
        // The whole buffer must be the device's to write, whatever the frame's size.
        auto buffer = iommu().pin(address, nic_rx_buffer_size(rctl), DmaDirection::FromDevice);
        if (!buffer)
            return fail_locked(NKNIC_ERR_RX_BUFFER);
        std::memcpy(buffer->bytes().data(), frame.data(), frame.size());
    }
    auto const length = static_cast<uint16_t>(frame.size());
    uint16_t const zero16 = 0;
    uint8_t const zero8 = 0;
    std::memcpy(descriptor + offsetof(nknic_rx_desc, length), &length, sizeof(length));
    std::memcpy(descriptor + offsetof(nknic_rx_desc, csum), &zero16, sizeof(zero16));
    std::memcpy(descriptor + offsetof(nknic_rx_desc, errors), &zero8, sizeof(zero8));
    std::memcpy(descriptor + offsetof(nknic_rx_desc, special), &zero16, sizeof(zero16));
    store_status(descriptor + offsetof(nknic_rx_desc, status), NKNIC_RXD_STAT_DD | NKNIC_RXD_STAT_EOP);
    m_rx.head = m_rx.next(m_rx.head);
    m_statistics.gprc++;
    m_statistics.gorc += length;
    m_counters.frames_delivered++;
    uint32_t causes = NKNIC_INT_RXT0;
    if (m_rx.owned() <= m_rx.size() / 8)
        causes |= NKNIC_INT_RXDMT0;
    return m_interrupts.set(causes, now);
}

// --- Transmit engine -------------------------------------------------------

void NicDevice::kick() { raise_softirq(&NicDevice::engine_softirq, this); }

void NicDevice::engine_softirq(void* self) { static_cast<NicDevice*>(self)->run_engine(); }

void NicDevice::run_engine()
{
    m_engine_requested.store(true, std::memory_order_release);
    while (m_engine_requested.load(std::memory_order_acquire)) {
        if (!m_engine_mutex.try_lock())
            return; // The running pass re-checks the request after it unlocks.
        MutexLocker engine(m_engine_mutex, std::adopt_lock);
        m_engine_requested.store(false, std::memory_order_release);
        auto raises = transmit_pass();
        engine.unlock();
        for (; raises > 0; --raises)
            deliver_interrupt();
    }
}

unsigned NicDevice::transmit_pass()
{
    unsigned raises = 0;
    bool progressed = false;
    bool wrote_back = false;
    MutexLocker lock(m_mutex);
    auto const generation = m_generation;
    while ((m_tctl & NKNIC_TCTL_EN) != 0 && !m_tx.stopped && m_tx.head != m_tx.tail) {
        auto const index = m_tx.head;
        nknic_tx_desc descriptor {};
        {
            auto slot = m_tx.descriptor(iommu(), index);
            if (!slot) {
                raises += apply_locked(fail_locked(NKNIC_ERR_TX_RING));
                break;
            }
            std::memcpy(&descriptor, slot->bytes().data(), sizeof(descriptor));
        }
        if (descriptor.length == 0 || m_tx_frame.size() + descriptor.length > NKNIC_MAX_FRAME) {
            raises += apply_locked(fail_locked(NKNIC_ERR_TX_LENGTH));
            break;
        }
        {
            auto data = iommu().pin(descriptor.addr, descriptor.length, DmaDirection::ToDevice);
            if (!data) {
                raises += apply_locked(fail_locked(NKNIC_ERR_TX_BUFFER));
                break;
            }
            m_tx_frame.insert(m_tx_frame.end(), data->bytes().begin(), data->bytes().end());
        }
        if ((descriptor.cmd & NKNIC_TXD_CMD_EOP) != 0) {
            if ((m_tctl & NKNIC_TCTL_PSP) != 0 && m_tx_frame.size() < NKNIC_MIN_FRAME)
                m_tx_frame.resize(NKNIC_MIN_FRAME, std::byte { 0 });
            auto const length = static_cast<uint32_t>(m_tx_frame.size());
            m_tx_sending.swap(m_tx_frame);
            m_tx_frame.clear();
            if (m_link) {
                // Without the lock and without a pin: the other stations'
                // receive() runs in there, and their interrupt handlers may
                // wait for a driver that is writing our registers or
                // unmapping our ring.
                lock.unlock();
                m_port->send(m_tx_sending);
                lock.lock();
                m_counters.frames_sent++;
                if (m_generation != generation)
                    return raises; // reset meanwhile: the rings and statistics are not ours any more
                m_statistics.gptc++;
                m_statistics.gotc += length;
            } else {
                m_counters.frames_not_sent++;
            }
            if (m_tx.head != index)
                continue; // the driver moved the head meanwhile: carry on from there
        }
        if ((descriptor.cmd & NKNIC_TXD_CMD_RS) != 0) {
            // Pinned again: the ring may have been unmapped while the frame went out.
            auto slot = m_tx.descriptor(iommu(), index);
            if (!slot) {
                raises += apply_locked(fail_locked(NKNIC_ERR_TX_RING));
                break;
            }
            store_status(slot->bytes().data() + offsetof(nknic_tx_desc, status), NKNIC_TXD_STAT_DD);
            wrote_back = true;
        }
        m_tx.head = m_tx.next(index);
        progressed = true;
    }
    if (progressed) {
        uint32_t causes = (wrote_back ? NKNIC_INT_TXDW : 0u) | (m_tx.head == m_tx.tail ? NKNIC_INT_TXQE : 0u);
        if (causes != 0)
            raises += apply_locked(m_interrupts.set(causes, Clock::now()));
    }
    return raises;
}

} // namespace nk
