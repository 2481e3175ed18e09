// SPDX-License-Identifier: MIT
#pragma once

// A NKNIC on an emulated segment, driven register by register the way a
// driver would: rings and buffers in memory mapped into the device's IOMMU,
// a real event loop for its link and interrupt timers, interrupts recorded
// instead of delivered, and a peer station on the segment that records what
// the NIC sends and sends it frames. The test thread is outside every
// crossing, so a TDT write runs the transmit engine before it returns, and a
// peer's send runs the NIC's receive on the test thread.

#include "devices/DeviceTestSupport.h"
#include "devices/nic/Ethernet.h"
#include "devices/nic/NicDevice.h"
#include "kernel/events/EventLoop.h"
#include "support/TestSupport.h"

#include <hw/nknic.h>

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

namespace nk::test {

using namespace std::chrono_literals;
using Frame = std::vector<std::byte>;
using Mac = NicDevice::MacAddress;

inline constexpr Mac nic_mac { 0x02, 0x4e, 0x4b, 0x00, 0x00, 0x01 };
inline constexpr Mac peer_mac { 0x02, 0x4e, 0x4b, 0x00, 0x00, 0x99 };
inline constexpr Mac broadcast_mac { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

// A frame to `dst` from `src` of `size` bytes (at least 14), its payload a
// pattern of `seed`.
inline Frame make_frame(Mac const& dst, size_t size, uint8_t seed = 1, Mac const& src = peer_mac)
{
    Frame frame(size);
    for (size_t i = 0; i < size; ++i)
        frame[i] = std::byte(static_cast<uint8_t>(seed + i * 3));
    std::memcpy(frame.data(), dst.data(), 6);
    std::memcpy(frame.data() + 6, src.data(), 6);
    frame[12] = std::byte { 0x88 }; // a local experimental EtherType
    frame[13] = std::byte { 0xb5 };
    return frame;
}

// A station on the segment: records what it receives, sends frames.
class PeerStation final : public EthernetStation {
public:
    explicit PeerStation(EthernetSegment& segment) { m_port = segment.attach(*this, "peer"); }
    ~PeerStation() override { m_port.reset(); }

    void receive(std::span<std::byte const> frame) override
    {
        std::scoped_lock lock(m_mutex);
        m_frames.emplace_back(frame.begin(), frame.end());
    }
    void send(std::span<std::byte const> frame) { m_port->send(frame); }
    std::vector<Frame> frames() const
    {
        std::scoped_lock lock(m_mutex);
        return m_frames;
    }
    size_t count() const
    {
        std::scoped_lock lock(m_mutex);
        return m_frames.size();
    }
    void clear()
    {
        std::scoped_lock lock(m_mutex);
        m_frames.clear();
    }

private:
    mutable std::mutex m_mutex;
    std::vector<Frame> m_frames;
    std::unique_ptr<EthernetPort> m_port;
};

// A sink whose raise() blocks until release(), as a handler waiting for a
// driver busy elsewhere would: on the thread of `only_on` (an event loop) if
// given, else on every thread.
class BlockingSink final : public InterruptSink {
public:
    explicit BlockingSink(EventLoop* only_on = nullptr)
        : m_only_on(only_on)
    {
    }
    void raise(uint32_t) override
    {
        std::unique_lock lock(m_mutex);
        ++m_raised;
        m_changed.notify_all();
        if (m_only_on == nullptr || m_only_on->on_loop_thread())
            m_changed.wait(lock, [&] { return m_released; });
    }
    // True once a raise() came (within 5 s).
    bool wait_raised()
    {
        std::unique_lock lock(m_mutex);
        return m_changed.wait_for(lock, 5s, [&] { return m_raised > 0; });
    }
    void release()
    {
        std::scoped_lock lock(m_mutex);
        m_released = true;
        m_changed.notify_all();
    }

private:
    EventLoop* const m_only_on;
    std::mutex m_mutex;
    std::condition_variable m_changed;
    int m_raised { 0 };
    bool m_released { false };
};

// A descriptor ring in DMA memory with one buffer per descriptor.
struct TestRing {
    std::unique_ptr<DmaBuffer> memory;
    uint64_t iova { 0 };
    uint32_t count { 0 };
    std::vector<MappedBuffer> buffers;

    std::byte* descriptor(uint32_t index) const { return memory->data() + size_t(index) * 16; }
};

class NicFixture : public ::testing::Test {
protected:
    static constexpr auto short_delay = 20ms;

    void SetUp() override
    {
        auto loop = EventLoop::create();
        ASSERT_TRUE(loop.has_value()) << loop.error().message();
        m_loop = std::move(*loop);
        make_nic(short_delay);
    }

    // A fresh device on the segment, connected: the link is negotiating.
    void make_nic(std::chrono::milliseconds link_delay)
    {
        m_nic.reset();
        m_sink.clear();
        m_nic = std::make_unique<NicDevice>("nic0", nic_mac, m_segment, link_delay);
        m_nic->connect(m_sink, m_iommu, m_loop.get());
    }

    // --- Registers -----------------------------------------------------------

    uint32_t read32(uint32_t offset) { return static_cast<uint32_t>(m_nic->read_register(0, offset, 4)); }
    void write32(uint32_t offset, uint32_t value) { m_nic->write_register(0, offset, 4, value); }
    uint32_t status() { return read32(NKNIC_REG_STATUS); }
    uint32_t interrupts() const { return static_cast<uint32_t>(m_sink.count(0)); }

    void wait_link()
    {
        ASSERT_TRUE(wait_until(5s, [&] { return m_nic->link_up(); })) << "the link never came up";
    }

    // --- Memory --------------------------------------------------------------

    MappedBuffer map_buffer(size_t bytes, DmaDirection direction)
    {
        MappedBuffer mapped;
        mapped.buffer = std::make_unique<DmaBuffer>(bytes);
        mapped.iova = m_iommu.map(mapped.buffer->data(), bytes, direction).value();
        return mapped;
    }

    TestRing make_ring(uint32_t count, DmaDirection direction = DmaDirection::Bidirectional)
    {
        TestRing ring;
        ring.count = count;
        ring.memory = std::make_unique<DmaBuffer>(size_t(count) * 16);
        ring.iova = m_iommu.map(ring.memory->data(), ring.memory->size(), direction).value();
        return ring;
    }

    // --- Receive -------------------------------------------------------------

    // A receive ring of `count` descriptors with buffers of `buffer_size`
    // bytes, programmed, every descriptor but one given to the device, and
    // the receiver enabled with `rctl` (EN added).
    void setup_rx(uint32_t count = 8, uint32_t rctl = NKNIC_RCTL_BAM, size_t buffer_size = 2048)
    {
        m_rx = make_ring(count);
        for (uint32_t i = 0; i < count; ++i) {
            m_rx.buffers.push_back(map_buffer(buffer_size, DmaDirection::FromDevice));
            set_rx_address(i, m_rx.buffers.back().iova);
        }
        program_ring(NKNIC_REG_RDBAL, m_rx);
        write32(NKNIC_REG_RDT, count - 1);
        write32(NKNIC_REG_RCTL, rctl | NKNIC_RCTL_EN);
    }
    void set_rx_address(uint32_t index, uint64_t address)
    {
        std::memcpy(m_rx.descriptor(index) + offsetof(nknic_rx_desc, addr), &address, sizeof(address));
    }
    nknic_rx_desc rx_descriptor(uint32_t index) const
    {
        nknic_rx_desc descriptor {};
        std::memcpy(&descriptor, m_rx.descriptor(index), sizeof(descriptor));
        return descriptor;
    }
    // The frame the device wrote into descriptor `index`.
    Frame rx_frame(uint32_t index) const
    {
        auto descriptor = rx_descriptor(index);
        auto const* data = m_rx.buffers[index].buffer->data();
        return Frame(data, data + descriptor.length);
    }

    // --- Transmit ------------------------------------------------------------

    // A transmit ring of `count` descriptors, programmed, the transmitter
    // enabled with `tctl` (EN added).
    void setup_tx(uint32_t count = 8, uint32_t tctl = NKNIC_TCTL_PSP)
    {
        m_tx = make_ring(count);
        m_tx_tail = 0;
        program_ring(NKNIC_REG_TDBAL, m_tx);
        write32(NKNIC_REG_TCTL, tctl | NKNIC_TCTL_EN);
    }
    // Writes a descriptor for `data` (copied into a fresh device-readable
    // buffer) at the tail, without ringing the doorbell. Returns its index.
    uint32_t queue_tx(std::span<std::byte const> data, uint8_t cmd)
    {
        auto buffer = map_buffer(std::max<size_t>(data.size(), 1), DmaDirection::ToDevice);
        if (!data.empty()) // an empty span's data() may be null
            std::memcpy(buffer.buffer->data(), data.data(), data.size());
        return queue_tx_at(buffer.iova, static_cast<uint16_t>(data.size()), cmd, std::move(buffer));
    }
    uint32_t queue_tx_at(uint64_t address, uint16_t length, uint8_t cmd, MappedBuffer keep = {})
    {
        nknic_tx_desc descriptor {};
        descriptor.addr = address;
        descriptor.length = length;
        descriptor.cmd = cmd;
        auto index = m_tx_tail;
        std::memcpy(m_tx.descriptor(index), &descriptor, sizeof(descriptor));
        if (keep.buffer)
            m_tx.buffers.push_back(std::move(keep));
        m_tx_tail = (m_tx_tail + 1) % m_tx.count;
        return index;
    }
    // A whole frame in one descriptor, reported (RS).
    uint32_t queue_frame(std::span<std::byte const> frame)
    {
        return queue_tx(frame, NKNIC_TXD_CMD_EOP | NKNIC_TXD_CMD_RS | NKNIC_TXD_CMD_IFCS);
    }
    void ring_tx() { write32(NKNIC_REG_TDT, m_tx_tail); }
    nknic_tx_desc tx_descriptor(uint32_t index) const
    {
        nknic_tx_desc descriptor {};
        std::memcpy(&descriptor, m_tx.descriptor(index), sizeof(descriptor));
        return descriptor;
    }

    // --- Errors --------------------------------------------------------------

    // The device reports misprogramming `code`, first since reset.
    void expect_error(uint32_t code, uint32_t errors = 1)
    {
        EXPECT_NE(status() & NKNIC_STATUS_ERR, 0u);
        EXPECT_EQ(read32(NKNIC_REG_ERRCODE), code);
        EXPECT_EQ(read32(NKNIC_REG_ERRC), errors);
        EXPECT_NE(read32(NKNIC_REG_ICR) & NKNIC_INT_ERR, 0u);
    }

    // Members in destruction order: the device first, the loop last.
    std::unique_ptr<EventLoop> m_loop;
    EthernetSegment m_segment { "test" };
    Iommu m_iommu;
    RecordingSink m_sink;
    PeerStation m_peer { m_segment };
    TestRing m_rx;
    TestRing m_tx;
    uint32_t m_tx_tail { 0 };
    std::unique_ptr<NicDevice> m_nic;

private:
    void program_ring(uint32_t base_register, TestRing const& ring)
    {
        write32(base_register, static_cast<uint32_t>(ring.iova));
        write32(base_register + 4, static_cast<uint32_t>(ring.iova >> 32));
        write32(base_register + 8, ring.count * 16);
        write32(base_register + 0x10, 0);
        write32(base_register + 0x18, 0);
    }
};

} // namespace nk::test
