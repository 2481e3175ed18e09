// SPDX-License-Identifier: MIT
// NKNIC misprogramming and resets, driven directly (no driver): every bad
// ring, pointer, buffer and length stops the ring concerned with its code
// (STATUS.ERR, ERRCODE, ERRC, ICR.ERR), harms nothing else, and a reset
// clears it; random register writes under traffic harm nothing; a hard reset
// during traffic stops DMA and interrupts before it returns; the device can
// be destroyed while frames keep coming.

#include "devices/nic/NicTestRig.h"

#include <atomic>
#include <random>
#include <thread>

namespace nk::test {
namespace {

enum class Misuse {
    RxBaseMisaligned,
    RxLengthNotMultiple,
    RxLengthZero,
    RxLengthTooLong,
    RxRingUnmapped,
    RxRingNotWritable,
    RxRingPartlyMapped,
    RxRingUnmappedWhileRunning,
    RxHeadPastEnd,
    RxTailPastEnd,
    RxBufferUnmapped,
    RxBufferNotWritable,
    RxBufferTooSmall,
    TxBaseMisaligned,
    TxLengthNotMultiple,
    TxRingUnmapped,
    TxRingNotWritable,
    TxHeadPastEnd,
    TxTailPastEnd,
    TxBufferUnmapped,
    TxBufferNotReadable,
    TxLengthZero,
    TxFrameTooLong,
};

struct Case {
    char const* name;
    Misuse misuse;
    uint32_t code;
};

std::ostream& operator<<(std::ostream& out, Case const& c) { return out << c.name; }

bool is_receive(uint32_t code)
{
    return code == NKNIC_ERR_RX_RING || code == NKNIC_ERR_RX_POINTER || code == NKNIC_ERR_RX_BUFFER;
}

class NicMisprogramming : public NicFixture, public ::testing::WithParamInterface<Case> {
protected:
    void SetUp() override
    {
        NicFixture::SetUp();
        wait_link();
        read32(NKNIC_REG_ICR);
        write32(NKNIC_REG_IMS, NKNIC_INT_ERR);
    }

    // Programs the device wrong in the way `misuse` says, and does what makes
    // the device notice.
    void misprogram(Misuse misuse)
    {
        switch (misuse) {
        case Misuse::RxBaseMisaligned: program_rx(ring_of(8) + 8, 8 * 16, 0, 7); break;
        case Misuse::RxLengthNotMultiple: program_rx(ring_of(8), 100, 0, 1); break;
        case Misuse::RxLengthZero: program_rx(ring_of(8), 0, 0, 0); break;
        case Misuse::RxLengthTooLong: program_rx(ring_of(4104), 65536 + 128, 0, 7); break;
        case Misuse::RxRingUnmapped: program_rx(0x1000, 8 * 16, 0, 7); break;
        case Misuse::RxRingNotWritable: program_rx(ring_of(8, DmaDirection::ToDevice), 8 * 16, 0, 7); break;
        case Misuse::RxRingPartlyMapped: program_rx(ring_of(8), 16 * 16, 0, 7); break;
        case Misuse::RxRingUnmappedWhileRunning:
            setup_rx();
            ASSERT_TRUE(m_iommu.unmap(m_rx.iova).has_value());
            m_peer.send(make_frame(nic_mac, 64));
            break;
        case Misuse::RxHeadPastEnd: program_rx(ring_of(8), 8 * 16, 8, 7); break;
        case Misuse::RxTailPastEnd:
            setup_rx();
            write32(NKNIC_REG_RDT, 8);
            break;
        case Misuse::RxBufferUnmapped:
            setup_rx();
            set_rx_address(0, 0xdead0000);
            m_peer.send(make_frame(nic_mac, 64));
            break;
        case Misuse::RxBufferNotWritable:
            setup_rx();
            set_rx_address(0, keep(map_buffer(2048, DmaDirection::ToDevice)));
            m_peer.send(make_frame(nic_mac, 64));
            break;
        case Misuse::RxBufferTooSmall: // smaller than RCTL.BSIZE, even for a small frame
            setup_rx();
            set_rx_address(0, keep(map_buffer(1024, DmaDirection::FromDevice)));
            m_peer.send(make_frame(nic_mac, 64));
            break;
        case Misuse::TxBaseMisaligned: program_tx(ring_of(8) + 4, 8 * 16, 0); break;
        case Misuse::TxLengthNotMultiple: program_tx(ring_of(8), 8 * 16 + 16, 0); break;
        case Misuse::TxRingUnmapped: program_tx(0xfff0, 8 * 16, 0); break;
        case Misuse::TxRingNotWritable: program_tx(ring_of(8, DmaDirection::ToDevice), 8 * 16, 0); break;
        case Misuse::TxHeadPastEnd: program_tx(ring_of(8), 8 * 16, 9); break;
        case Misuse::TxTailPastEnd:
            setup_tx();
            write32(NKNIC_REG_TDT, 8);
            break;
        case Misuse::TxBufferUnmapped:
            setup_tx();
            queue_tx_at(0xdead0000, 64, NKNIC_TXD_CMD_EOP);
            ring_tx();
            break;
        case Misuse::TxBufferNotReadable: {
            setup_tx();
            auto buffer = map_buffer(64, DmaDirection::FromDevice);
            auto address = buffer.iova;
            queue_tx_at(address, 64, NKNIC_TXD_CMD_EOP, std::move(buffer));
            ring_tx();
            break;
        }
        case Misuse::TxLengthZero:
            setup_tx();
            queue_tx({}, NKNIC_TXD_CMD_EOP);
            ring_tx();
            break;
        case Misuse::TxFrameTooLong: {
            setup_tx();
            auto frame = make_frame(peer_mac, 5000, 1, nic_mac);
            queue_tx(frame, 0);
            queue_tx(frame, NKNIC_TXD_CMD_EOP);
            ring_tx();
            break;
        }
        }
    }

    // A mapped ring memory of `count` descriptors; returns its address.
    uint64_t ring_of(uint32_t count, DmaDirection direction = DmaDirection::Bidirectional)
    {
        m_extra_rings.push_back(make_ring(count, direction));
        return m_extra_rings.back().iova;
    }
    uint64_t keep(MappedBuffer buffer)
    {
        m_extra_buffers.push_back(std::move(buffer));
        return m_extra_buffers.back().iova;
    }
    void program_rx(uint64_t base, uint32_t length, uint32_t head, uint32_t tail)
    {
        m_nic->write_register(0, NKNIC_REG_RDBAL, 8, base);
        write32(NKNIC_REG_RDLEN, length);
        write32(NKNIC_REG_RDH, head);
        write32(NKNIC_REG_RDT, tail);
        write32(NKNIC_REG_RCTL, NKNIC_RCTL_EN | NKNIC_RCTL_BAM);
    }
    void program_tx(uint64_t base, uint32_t length, uint32_t head)
    {
        m_nic->write_register(0, NKNIC_REG_TDBAL, 8, base);
        write32(NKNIC_REG_TDLEN, length);
        write32(NKNIC_REG_TDH, head);
        write32(NKNIC_REG_TDT, 0);
        write32(NKNIC_REG_TCTL, NKNIC_TCTL_EN);
    }

    // A frame through a freshly programmed ring of the given direction.
    void expect_receive_works()
    {
        setup_rx();
        auto frame = make_frame(nic_mac, 100, 4);
        m_peer.send(frame);
        EXPECT_EQ(rx_descriptor(0).status, NKNIC_RXD_STAT_DD | NKNIC_RXD_STAT_EOP);
        EXPECT_EQ(rx_frame(0), frame);
    }
    void expect_transmit_works()
    {
        auto before = m_peer.count();
        setup_tx();
        queue_frame(make_frame(peer_mac, 100, 4, nic_mac));
        ring_tx();
        EXPECT_EQ(m_peer.count(), before + 1);
    }

    std::vector<TestRing> m_extra_rings;
    std::vector<MappedBuffer> m_extra_buffers;
};

TEST_P(NicMisprogramming, StopsTheRingWithItsCodeAndAResetClearsIt)
{
    auto const& param = GetParam();
    misprogram(param.misuse);
    expect_error(param.code);
    EXPECT_EQ(interrupts(), 1u);
    EXPECT_EQ(m_nic->counters().errors, 1u);
    EXPECT_TRUE(m_nic->link_up()) << "the link is not concerned";

    // The ring concerned is stopped: more traffic through it does nothing.
    auto delivered = m_nic->counters().frames_delivered;
    auto sent = m_peer.count();
    if (is_receive(param.code)) {
        m_peer.send(make_frame(nic_mac, 64));
        write32(NKNIC_REG_RDT, 3);
        m_peer.send(make_frame(nic_mac, 64));
        EXPECT_EQ(m_nic->counters().frames_delivered, delivered);
        // The other one still works.
        expect_transmit_works();
    } else {
        write32(NKNIC_REG_TDT, 1);
        EXPECT_EQ(m_peer.count(), sent);
        expect_receive_works();
    }
    EXPECT_EQ(read32(NKNIC_REG_ERRCODE), param.code) << "the first code stays";
    EXPECT_NE(status() & NKNIC_STATUS_ERR, 0u);

    // A reset clears it; the device works again once programmed.
    write32(NKNIC_REG_CTRL, NKNIC_CTRL_RST);
    EXPECT_EQ(status() & NKNIC_STATUS_ERR, 0u);
    EXPECT_EQ(read32(NKNIC_REG_ERRCODE), 0u);
    EXPECT_EQ(read32(NKNIC_REG_ERRC), 0u);
    wait_link();
    expect_receive_works();
    expect_transmit_works();
    EXPECT_EQ(read32(NKNIC_REG_ERRCODE), 0u);
}

INSTANTIATE_TEST_SUITE_P(Cases, NicMisprogramming,
    ::testing::Values(Case { "RxBaseMisaligned", Misuse::RxBaseMisaligned, NKNIC_ERR_RX_RING },
        Case { "RxLengthNotMultiple", Misuse::RxLengthNotMultiple, NKNIC_ERR_RX_RING },
        Case { "RxLengthZero", Misuse::RxLengthZero, NKNIC_ERR_RX_RING },
        Case { "RxLengthTooLong", Misuse::RxLengthTooLong, NKNIC_ERR_RX_RING },
        Case { "RxRingUnmapped", Misuse::RxRingUnmapped, NKNIC_ERR_RX_RING },
        Case { "RxRingNotWritable", Misuse::RxRingNotWritable, NKNIC_ERR_RX_RING },
        Case { "RxRingPartlyMapped", Misuse::RxRingPartlyMapped, NKNIC_ERR_RX_RING },
        Case { "RxRingUnmappedWhileRunning", Misuse::RxRingUnmappedWhileRunning, NKNIC_ERR_RX_RING },
        Case { "RxHeadPastEnd", Misuse::RxHeadPastEnd, NKNIC_ERR_RX_POINTER },
        Case { "RxTailPastEnd", Misuse::RxTailPastEnd, NKNIC_ERR_RX_POINTER },
        Case { "RxBufferUnmapped", Misuse::RxBufferUnmapped, NKNIC_ERR_RX_BUFFER },
        Case { "RxBufferNotWritable", Misuse::RxBufferNotWritable, NKNIC_ERR_RX_BUFFER },
        Case { "RxBufferTooSmall", Misuse::RxBufferTooSmall, NKNIC_ERR_RX_BUFFER },
        Case { "TxBaseMisaligned", Misuse::TxBaseMisaligned, NKNIC_ERR_TX_RING },
        Case { "TxLengthNotMultiple", Misuse::TxLengthNotMultiple, NKNIC_ERR_TX_RING },
        Case { "TxRingUnmapped", Misuse::TxRingUnmapped, NKNIC_ERR_TX_RING },
        Case { "TxRingNotWritable", Misuse::TxRingNotWritable, NKNIC_ERR_TX_RING },
        Case { "TxHeadPastEnd", Misuse::TxHeadPastEnd, NKNIC_ERR_TX_POINTER },
        Case { "TxTailPastEnd", Misuse::TxTailPastEnd, NKNIC_ERR_TX_POINTER },
        Case { "TxBufferUnmapped", Misuse::TxBufferUnmapped, NKNIC_ERR_TX_BUFFER },
        Case { "TxBufferNotReadable", Misuse::TxBufferNotReadable, NKNIC_ERR_TX_BUFFER },
        Case { "TxLengthZero", Misuse::TxLengthZero, NKNIC_ERR_TX_LENGTH },
        Case { "TxFrameTooLong", Misuse::TxFrameTooLong, NKNIC_ERR_TX_LENGTH }),
    [](auto const& info) { return std::string(info.param.name); });

class NicErrors : public NicMisprogramming {};

// Later errors are counted but do not hide the first code.
TEST_F(NicErrors, TheFirstCodeStays)
{
    misprogram(Misuse::TxLengthZero);
    misprogram(Misuse::RxTailPastEnd);
    EXPECT_EQ(read32(NKNIC_REG_ERRCODE), NKNIC_ERR_TX_LENGTH);
    EXPECT_EQ(read32(NKNIC_REG_ERRC), 2u);
    EXPECT_EQ(read32(NKNIC_REG_ERRC), 0u) << "clear on read";
    EXPECT_EQ(m_nic->counters().errors, 2u);
}

// Random values at every register, frames arriving and doorbells ringing
// meanwhile: the device reports what it reports and the process is unharmed
// (the asan build checks every access).
TEST_F(NicErrors, RandomRegisterWritesUnderTraffic)
{
    std::vector<uint32_t> offsets { NKNIC_REG_CTRL, NKNIC_REG_ICS, NKNIC_REG_IMS, NKNIC_REG_IMC, NKNIC_REG_ITR,
        NKNIC_REG_RCTL, NKNIC_REG_TCTL, NKNIC_REG_RDBAL, NKNIC_REG_RDBAH, NKNIC_REG_RDLEN, NKNIC_REG_RDH, NKNIC_REG_RDT,
        NKNIC_REG_TDBAL, NKNIC_REG_TDBAH, NKNIC_REG_TDLEN, NKNIC_REG_TDH, NKNIC_REG_TDT, NKNIC_REG_MTA(7),
        NKNIC_REG_RAL(1), NKNIC_REG_RAH(1) };
    std::mt19937 random(12345);
    for (int round = 0; round < 20; ++round) {
        setup_rx(8, NKNIC_RCTL_BAM | NKNIC_RCTL_UPE | NKNIC_RCTL_MPE);
        setup_tx();
        for (int i = 0; i < 500; ++i) {
            auto offset = offsets[random() % offsets.size()];
            uint32_t value = random();
            if (offset == NKNIC_REG_CTRL)
                value &= ~NKNIC_CTRL_RST; // keep the link up
            if (offset == NKNIC_REG_ITR)
                value &= 0xff;
            // Small values now and then, near the real ring, for the checks past the base ones.
            if (random() % 2 == 0)
                value = (offset == NKNIC_REG_RDBAL || offset == NKNIC_REG_TDBAL) ? uint32_t(m_rx.iova) + (value % 4) * 16
                                                                                 : value % 16;
            write32(offset, value);
            if (i % 5 == 0)
                m_peer.send(make_frame(i % 2 ? nic_mac : broadcast_mac, 60 + random() % 1500));
            if (i % 7 == 0) {
                queue_frame(make_frame(peer_mac, 60 + random() % 200, 1, nic_mac));
                ring_tx();
            }
            read32(offsets[random() % offsets.size()]);
        }
        write32(NKNIC_REG_CTRL, NKNIC_CTRL_RST);
        wait_link();
    }
    expect_receive_works();
    expect_transmit_works();
}

// A hard reset during traffic: when it returns, no interrupt, no DMA and no
// frame sent any more, though frames keep arriving and doorbells ringing.
TEST_F(NicErrors, HardResetDuringTrafficStopsEverythingSynchronously)
{
    for (int round = 0; round < 3; ++round) {
        SCOPED_TRACE(round);
        wait_link();
        setup_rx(64);
        setup_tx(64);
        write32(NKNIC_REG_IMS, 0xffffffffu);
        auto tx_data = map_buffer(128, DmaDirection::ToDevice);
        auto frame = make_frame(peer_mac, 128, 2, nic_mac);
        std::memcpy(tx_data.buffer->data(), frame.data(), frame.size());

        std::atomic<bool> stop { false };
        std::thread receiver([&] {
            auto incoming = make_frame(nic_mac, 200, 3);
            while (!stop) {
                m_peer.send(incoming);
                auto head = read32(NKNIC_REG_RDH); // the driver's refill
                write32(NKNIC_REG_RDT, (head + 63) % 64);
                read32(NKNIC_REG_ICR);
            }
        });
        StopAndJoin join_receiver(receiver, stop);
        std::thread transmitter([&] {
            while (!stop) {
                queue_tx_at(tx_data.iova, 128, NKNIC_TXD_CMD_EOP | NKNIC_TXD_CMD_RS);
                ring_tx();
            }
        });
        StopAndJoin join_transmitter(transmitter, stop);
        ASSERT_TRUE(wait_until(10s, [&] {
            auto counters = m_nic->counters();
            return counters.frames_delivered > 200 && counters.frames_sent > 200;
        }));

        m_nic->hard_reset();
        auto const interrupts_then = interrupts();
        auto const counters_then = m_nic->counters();
        auto const sent_then = m_peer.count();
        Frame const rx_ring_then(m_rx.memory->data(), m_rx.memory->data() + m_rx.memory->size());
        Frame const rx_buffer_then(m_rx.buffers[5].buffer->data(), m_rx.buffers[5].buffer->data() + 2048);
        auto const seen_then = counters_then.frames_seen;
        ASSERT_TRUE(wait_until(10s, [&] { return m_nic->counters().frames_seen > seen_then + 100; }))
            << "traffic stopped";
        std::this_thread::sleep_for(20ms);

        EXPECT_EQ(interrupts(), interrupts_then);
        auto const counters_now = m_nic->counters();
        EXPECT_EQ(counters_now.frames_delivered, counters_then.frames_delivered);
        EXPECT_EQ(counters_now.frames_sent, counters_then.frames_sent);
        EXPECT_EQ(counters_now.interrupts, counters_then.interrupts);
        EXPECT_EQ(m_peer.count(), sent_then);
        EXPECT_EQ(Frame(m_rx.memory->data(), m_rx.memory->data() + m_rx.memory->size()), rx_ring_then);
        EXPECT_EQ(Frame(m_rx.buffers[5].buffer->data(), m_rx.buffers[5].buffer->data() + 2048), rx_buffer_then);
        stop = true;
        receiver.join();
        transmitter.join();
        m_tx.buffers.clear();
    }
}

// An interrupt deferred by ITR does not come after a hard reset.
TEST_F(NicErrors, HardResetDropsADeferredInterrupt)
{
    write32(NKNIC_REG_ITR, static_cast<uint32_t>(std::chrono::nanoseconds(250ms).count() / 256));
    write32(NKNIC_REG_IMS, NKNIC_INT_TXDW);
    write32(NKNIC_REG_ICS, NKNIC_INT_TXDW);
    ASSERT_EQ(interrupts(), 1u);
    read32(NKNIC_REG_ICR);
    write32(NKNIC_REG_ICS, NKNIC_INT_TXDW); // deferred
    m_nic->hard_reset();
    std::this_thread::sleep_for(500ms); // past the moment it was deferred to
    EXPECT_EQ(interrupts(), 1u);
    EXPECT_EQ(read32(NKNIC_REG_ICR) & NKNIC_INT_TXDW, 0u) << "the reset forgot the cause";
}

// The device goes while a peer keeps sending to it and its own engine has
// been busy: nothing touches it afterwards.
TEST_F(NicErrors, DestroyedWhileFramesArrive)
{
    setup_rx(64);
    std::atomic<bool> stop { false };
    std::thread sender([&] {
        auto incoming = make_frame(nic_mac, 200, 3);
        while (!stop)
            m_peer.send(incoming);
    });
    StopAndJoin join(sender, stop);
    ASSERT_TRUE(wait_until(10s, [&] { return m_nic->counters().frames_seen > 100; }));
    m_nic.reset();
    // The port is detached: frames keep coming and reach nobody.
    auto const then = m_segment.stats();
    ASSERT_TRUE(wait_until(10s, [&] { return m_segment.stats().frames > then.frames + 100; }));
    EXPECT_EQ(m_segment.stats().deliveries, then.deliveries);
}

} // namespace
} // namespace nk::test
