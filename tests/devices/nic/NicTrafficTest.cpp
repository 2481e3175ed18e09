// SPDX-License-Identifier: MIT
// NKNIC traffic, driven directly (no driver): the receive filter
// (broadcast, unicast exact match and promiscuous, multicast by exact match,
// the MTA hash under each RCTL.MO and MPE), the receive ring (delivery,
// no descriptor, oversize frames, wrap, descriptors running low) and the
// transmit ring (single and multi-descriptor frames, padding, status
// write-back, causes, no link, transmitter off), two NICs talking, and a
// reset that does not wait for a transmit pass stuck in a peer.

#include "devices/nic/NicFilter.h"
#include "devices/nic/NicTestRig.h"

#include "base/ScopeGuard.h"

#include <atomic>
#include <thread>

namespace nk::test {
namespace {

class NicTraffic : public NicFixture {
protected:
    void SetUp() override
    {
        NicFixture::SetUp();
        wait_link();
        read32(NKNIC_REG_ICR);
    }

    // Sends a frame to `dst` from the peer; true if the NIC took it (it
    // passed the filter and went into the ring).
    bool accepted(Mac const& dst, size_t size = 64)
    {
        auto before = m_nic->counters();
        m_peer.send(make_frame(dst, size));
        auto after = m_nic->counters();
        EXPECT_EQ(after.frames_seen, before.frames_seen + 1);
        EXPECT_EQ(after.frames_delivered - before.frames_delivered, after.frames_for_us - before.frames_for_us);
        give_back_descriptors();
        return after.frames_delivered > before.frames_delivered;
    }

    // Returns every descriptor the device filled (the driver's refill).
    void give_back_descriptors()
    {
        auto head = read32(NKNIC_REG_RDH);
        write32(NKNIC_REG_RDT, (head + m_rx.count - 1) % m_rx.count);
    }

    void set_rctl(uint32_t bits) { write32(NKNIC_REG_RCTL, NKNIC_RCTL_EN | bits); }
    void set_mta_bit(uint32_t hash)
    {
        auto word = NKNIC_REG_MTA(hash >> 5);
        write32(word, read32(word) | (1u << (hash & 31)));
    }
    void set_slot(uint32_t slot, Mac const& mac, bool valid)
    {
        write32(NKNIC_REG_RAL(slot), uint32_t(mac[0]) | uint32_t(mac[1]) << 8 | uint32_t(mac[2]) << 16 | uint32_t(mac[3]) << 24);
        write32(NKNIC_REG_RAH(slot), uint32_t(mac[4]) | uint32_t(mac[5]) << 8 | (valid ? NKNIC_RAH_AV : 0u));
    }
};

// --- Filter ------------------------------------------------------------------

TEST_F(NicTraffic, BroadcastNeedsBam)
{
    setup_rx(8, 0);
    EXPECT_FALSE(accepted(broadcast_mac));
    set_rctl(NKNIC_RCTL_MPE | NKNIC_RCTL_UPE); // neither lets broadcast in
    EXPECT_FALSE(accepted(broadcast_mac));
    set_rctl(NKNIC_RCTL_BAM);
    EXPECT_TRUE(accepted(broadcast_mac));
    EXPECT_EQ(m_nic->frames_for_us(), 1u);
    EXPECT_EQ(read32(NKNIC_REG_TPR), 3u);
}

TEST_F(NicTraffic, UnicastExactMatchSlotsAndPromiscuous)
{
    setup_rx();
    Mac const other { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
    EXPECT_TRUE(accepted(nic_mac)) << "RAL0/RAH0 hold the station address";
    EXPECT_FALSE(accepted(other));
    EXPECT_FALSE(accepted(Mac { 0x02, 0x4e, 0x4b, 0x00, 0x00, 0x02 })) << "exact match: every byte";
    set_slot(5, other, true);
    EXPECT_TRUE(accepted(other));
    set_slot(5, other, false);
    EXPECT_FALSE(accepted(other)) << "a slot without RAH.AV does not match";
    set_slot(0, nic_mac, false);
    EXPECT_FALSE(accepted(nic_mac));
    set_rctl(NKNIC_RCTL_UPE);
    EXPECT_TRUE(accepted(other));
    EXPECT_TRUE(accepted(nic_mac));
    EXPECT_FALSE(accepted(Mac { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 })) << "UPE is unicast only";
}

// The MTA index is 12 bits of the address's last two bytes, which bits
// depending on RCTL.MO; values computed by hand for 01:00:5e:7f:12:34.
TEST_F(NicTraffic, MulticastByTheMtaHashUnderEachMo)
{
    setup_rx();
    Mac const group { 0x01, 0x00, 0x5e, 0x7f, 0x12, 0x34 };
    uint32_t const expected[4] = { 0x341, 0x682, 0xd04, 0x412 }; // 0x3412 >> 4, >> 3, >> 2, >> 0; & 0xfff
    for (unsigned mo = 0; mo < 4; ++mo) {
        SCOPED_TRACE(mo);
        std::array<std::byte, 6> dst {};
        std::memcpy(dst.data(), group.data(), 6);
        EXPECT_EQ(nic_mta_hash(dst, mo), expected[mo]);
        for (uint32_t n = 0; n < NKNIC_NUM_MTA; ++n)
            write32(NKNIC_REG_MTA(n), 0);
        set_rctl(mo << NKNIC_RCTL_MO_SHIFT);
        EXPECT_FALSE(accepted(group));
        // The bit another MO would use does not let it in.
        set_mta_bit(expected[(mo + 1) % 4]);
        EXPECT_FALSE(accepted(group));
        set_mta_bit(expected[mo]);
        EXPECT_TRUE(accepted(group));
        EXPECT_EQ(read32(NKNIC_REG_MTA(expected[mo] >> 5)) & (1u << (expected[mo] & 31)), 1u << (expected[mo] & 31));
    }
}

TEST_F(NicTraffic, MulticastByMpeAndExactMatch)
{
    setup_rx();
    Mac const group { 0x33, 0x33, 0x00, 0x00, 0x00, 0x01 };
    EXPECT_FALSE(accepted(group));
    set_rctl(NKNIC_RCTL_MPE);
    EXPECT_TRUE(accepted(group));
    EXPECT_FALSE(accepted(Mac { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 })) << "MPE is multicast only";
    set_rctl(0);
    set_slot(3, group, true);
    EXPECT_TRUE(accepted(group));
}

TEST_F(NicTraffic, NothingArrivesWhileTheReceiverIsOff)
{
    setup_rx();
    write32(NKNIC_REG_RCTL, NKNIC_RCTL_BAM); // EN clear
    EXPECT_FALSE(accepted(nic_mac));
    EXPECT_EQ(m_nic->frames_for_us(), 0u);
}

// --- Receive ring --------------------------------------------------------------

TEST_F(NicTraffic, ReceiveWritesTheFrameBackAndAdvancesTheHead)
{
    setup_rx();
    write32(NKNIC_REG_IMS, NKNIC_INT_RXT0);
    auto frame = make_frame(nic_mac, 300, 7);
    m_peer.send(frame);
    EXPECT_EQ(rx_frame(0), frame);
    auto descriptor = rx_descriptor(0);
    EXPECT_EQ(descriptor.length, 300u);
    EXPECT_EQ(descriptor.status, NKNIC_RXD_STAT_DD | NKNIC_RXD_STAT_EOP);
    EXPECT_EQ(descriptor.errors, 0u);
    EXPECT_EQ(descriptor.addr, m_rx.buffers[0].iova) << "the address is left alone";
    EXPECT_EQ(rx_descriptor(1).status, 0u);
    EXPECT_EQ(read32(NKNIC_REG_RDH), 1u);
    EXPECT_EQ(read32(NKNIC_REG_GPRC), 1u);
    EXPECT_EQ(read32(NKNIC_REG_GORC), 300u);
    EXPECT_EQ(read32(NKNIC_REG_ICR), NKNIC_INT_RXT0);
    EXPECT_EQ(interrupts(), 1u);
}

TEST_F(NicTraffic, NoDescriptorCountsAMissAndRaisesRxo)
{
    setup_rx(8);
    write32(NKNIC_REG_RDT, 0); // nothing for the device
    write32(NKNIC_REG_IMS, NKNIC_INT_RXO);
    m_peer.send(make_frame(nic_mac, 64));
    m_peer.send(make_frame(nic_mac, 64));
    EXPECT_EQ(read32(NKNIC_REG_MPC), 2u);
    EXPECT_EQ(read32(NKNIC_REG_RNBC), 2u);
    EXPECT_EQ(read32(NKNIC_REG_GPRC), 0u);
    EXPECT_EQ(read32(NKNIC_REG_ICR), NKNIC_INT_RXO);
    EXPECT_EQ(interrupts(), 1u);
    EXPECT_EQ(m_nic->frames_for_us(), 2u);
    EXPECT_EQ(m_nic->counters().frames_missed, 2u);
    EXPECT_EQ(rx_descriptor(0).status, 0u);
}

TEST_F(NicTraffic, OversizeFramesAreCountedAndDropped)
{
    setup_rx(8, NKNIC_RCTL_BAM, 16384);
    m_peer.send(make_frame(nic_mac, NKNIC_MAX_STD_FRAME + 1));
    EXPECT_EQ(read32(NKNIC_REG_ROC), 1u);
    m_peer.send(make_frame(nic_mac, NKNIC_MAX_STD_FRAME));
    EXPECT_EQ(read32(NKNIC_REG_GPRC), 1u) << "1522 bytes fit without LPE";
    // LPE with 16 KiB buffers: up to the maximum.
    set_rctl(NKNIC_RCTL_LPE | NKNIC_RCTL_BSEX | (1u << NKNIC_RCTL_BSIZE_SHIFT));
    m_peer.send(make_frame(nic_mac, NKNIC_MAX_FRAME));
    EXPECT_EQ(read32(NKNIC_REG_GPRC), 1u);
    EXPECT_EQ(rx_frame(1), make_frame(nic_mac, NKNIC_MAX_FRAME));
    // Longer than the buffer (256 bytes: BSIZE 11).
    set_rctl(3u << NKNIC_RCTL_BSIZE_SHIFT);
    m_peer.send(make_frame(nic_mac, 257));
    EXPECT_EQ(read32(NKNIC_REG_ROC), 1u);
    m_peer.send(make_frame(nic_mac, 256));
    EXPECT_EQ(read32(NKNIC_REG_GPRC), 1u);
    EXPECT_EQ(m_nic->counters().frames_too_long, 2u);
    EXPECT_EQ(read32(NKNIC_REG_ERRC), 0u);
}

TEST(NicFilterSizes, BufferSizes)
{
    EXPECT_EQ(nic_rx_buffer_size(0), 2048u);
    EXPECT_EQ(nic_rx_buffer_size(1u << NKNIC_RCTL_BSIZE_SHIFT), 1024u);
    EXPECT_EQ(nic_rx_buffer_size(2u << NKNIC_RCTL_BSIZE_SHIFT), 512u);
    EXPECT_EQ(nic_rx_buffer_size(3u << NKNIC_RCTL_BSIZE_SHIFT), 256u);
    EXPECT_EQ(nic_rx_buffer_size(NKNIC_RCTL_BSEX), 2048u) << "reserved";
    EXPECT_EQ(nic_rx_buffer_size(NKNIC_RCTL_BSEX | 1u << NKNIC_RCTL_BSIZE_SHIFT), 16384u);
    EXPECT_EQ(nic_rx_buffer_size(NKNIC_RCTL_BSEX | 2u << NKNIC_RCTL_BSIZE_SHIFT), 8192u);
    EXPECT_EQ(nic_rx_buffer_size(NKNIC_RCTL_BSEX | 3u << NKNIC_RCTL_BSIZE_SHIFT), 4096u);
    EXPECT_EQ(nic_rx_max_frame(NKNIC_RCTL_BSEX | 1u << NKNIC_RCTL_BSIZE_SHIFT), NKNIC_MAX_STD_FRAME);
    EXPECT_EQ(nic_rx_max_frame(NKNIC_RCTL_LPE | NKNIC_RCTL_BSEX | 3u << NKNIC_RCTL_BSIZE_SHIFT), 4096u);
}

// The head wraps at the end of the ring; frames land in order, the driver
// returning each descriptor as it goes.
TEST_F(NicTraffic, HeadAndTailWrap)
{
    setup_rx(8);
    for (uint32_t n = 0; n < 21; ++n) {
        SCOPED_TRACE(n);
        auto frame = make_frame(nic_mac, 60 + n, static_cast<uint8_t>(n));
        m_peer.send(frame);
        auto slot = n % 8;
        ASSERT_EQ(rx_descriptor(slot).status, NKNIC_RXD_STAT_DD | NKNIC_RXD_STAT_EOP);
        EXPECT_EQ(rx_frame(slot), frame);
        EXPECT_EQ(read32(NKNIC_REG_RDH), (n + 1) % 8);
        // The driver cleans the descriptor and gives it back.
        std::memset(m_rx.descriptor(slot) + 8, 0, 8);
        write32(NKNIC_REG_RDT, slot);
    }
    EXPECT_EQ(read32(NKNIC_REG_GPRC), 21u);
    EXPECT_EQ(read32(NKNIC_REG_MPC), 0u);
}

TEST_F(NicTraffic, DescriptorsLowRaisesRxdmt0)
{
    setup_rx(16); // 15 descriptors for the device; an eighth of 16 is 2
    for (int n = 0; n < 12; ++n)
        m_peer.send(make_frame(nic_mac, 64));
    EXPECT_EQ(read32(NKNIC_REG_ICR), NKNIC_INT_RXT0) << "3 left";
    m_peer.send(make_frame(nic_mac, 64));
    EXPECT_EQ(read32(NKNIC_REG_ICR), NKNIC_INT_RXT0 | NKNIC_INT_RXDMT0) << "2 left";
    m_peer.send(make_frame(nic_mac, 64));
    m_peer.send(make_frame(nic_mac, 64));
    EXPECT_EQ(read32(NKNIC_REG_ICR), NKNIC_INT_RXT0 | NKNIC_INT_RXDMT0);
    m_peer.send(make_frame(nic_mac, 64));
    EXPECT_EQ(read32(NKNIC_REG_ICR), NKNIC_INT_RXO);
    EXPECT_EQ(read32(NKNIC_REG_GPRC), 15u);
}

// --- Transmit ------------------------------------------------------------------

TEST_F(NicTraffic, TransmitsASingleDescriptorFrame)
{
    setup_tx();
    auto frame = make_frame(peer_mac, 200, 9, nic_mac);
    auto index = queue_frame(frame);
    ring_tx();
    ASSERT_EQ(m_peer.count(), 1u);
    EXPECT_EQ(m_peer.frames()[0], frame);
    EXPECT_EQ(tx_descriptor(index).status, NKNIC_TXD_STAT_DD);
    EXPECT_EQ(read32(NKNIC_REG_TDH), 1u);
    EXPECT_EQ(read32(NKNIC_REG_GPTC), 1u);
    EXPECT_EQ(read32(NKNIC_REG_GOTC), 200u);
    EXPECT_EQ(read32(NKNIC_REG_ICR), NKNIC_INT_TXDW | NKNIC_INT_TXQE);
    EXPECT_EQ(m_nic->counters().frames_sent, 1u);
}

TEST_F(NicTraffic, GathersAFrameFromSeveralDescriptors)
{
    setup_tx();
    auto frame = make_frame(broadcast_mac, 1000, 3, nic_mac);
    std::span<std::byte const> whole(frame);
    queue_tx(whole.subspan(0, 14), 0);
    queue_tx(whole.subspan(14, 500), 0);
    // The frame's last descriptor comes with a later doorbell.
    ring_tx();
    EXPECT_EQ(m_peer.count(), 0u);
    EXPECT_EQ(read32(NKNIC_REG_TDH), 2u);
    EXPECT_EQ(read32(NKNIC_REG_ICR), NKNIC_INT_TXQE) << "no RS: nothing written back";
    auto last = queue_tx(whole.subspan(514), NKNIC_TXD_CMD_EOP | NKNIC_TXD_CMD_RS);
    ring_tx();
    ASSERT_EQ(m_peer.count(), 1u);
    EXPECT_EQ(m_peer.frames()[0], frame);
    EXPECT_EQ(tx_descriptor(0).status, 0u);
    EXPECT_EQ(tx_descriptor(1).status, 0u);
    EXPECT_EQ(tx_descriptor(last).status, NKNIC_TXD_STAT_DD);
    EXPECT_EQ(read32(NKNIC_REG_GPTC), 1u);
    EXPECT_EQ(read32(NKNIC_REG_GOTC), 1000u);
}

TEST_F(NicTraffic, PadsShortFramesOnlyWithPsp)
{
    setup_tx(8, NKNIC_TCTL_PSP);
    auto frame = make_frame(peer_mac, 42, 1, nic_mac);
    queue_frame(frame);
    ring_tx();
    write32(NKNIC_REG_TCTL, NKNIC_TCTL_EN); // PSP off
    queue_frame(frame);
    ring_tx();
    auto frames = m_peer.frames();
    ASSERT_EQ(frames.size(), 2u);
    ASSERT_EQ(frames[0].size(), NKNIC_MIN_FRAME);
    EXPECT_TRUE(std::equal(frame.begin(), frame.end(), frames[0].begin()));
    EXPECT_TRUE(std::all_of(frames[0].begin() + 42, frames[0].end(), [](std::byte b) { return b == std::byte { 0 }; }));
    EXPECT_EQ(frames[1], frame);
    EXPECT_EQ(read32(NKNIC_REG_GOTC), 60u + 42u);
}

TEST_F(NicTraffic, WritesBackOnlyWithRsAndRaisesTxdwTxqe)
{
    setup_tx();
    write32(NKNIC_REG_IMS, NKNIC_INT_TXDW);
    auto frame = make_frame(peer_mac, 64, 1, nic_mac);
    auto quiet = queue_tx(frame, NKNIC_TXD_CMD_EOP);
    ring_tx();
    EXPECT_EQ(tx_descriptor(quiet).status, 0u);
    EXPECT_EQ(read32(NKNIC_REG_ICR), NKNIC_INT_TXQE);
    EXPECT_EQ(interrupts(), 0u) << "TXQE is masked";
    // Two frames in one doorbell, only the second reports.
    queue_tx(frame, NKNIC_TXD_CMD_EOP);
    auto reported = queue_tx(frame, NKNIC_TXD_CMD_EOP | NKNIC_TXD_CMD_RS);
    ring_tx();
    EXPECT_EQ(m_peer.count(), 3u);
    EXPECT_EQ(tx_descriptor(reported - 1).status, 0u);
    EXPECT_EQ(tx_descriptor(reported).status, NKNIC_TXD_STAT_DD);
    EXPECT_EQ(read32(NKNIC_REG_ICR), NKNIC_INT_TXDW | NKNIC_INT_TXQE);
    EXPECT_EQ(interrupts(), 1u);
}

TEST_F(NicTraffic, RingWrapsOnTransmit)
{
    setup_tx(8);
    for (int n = 0; n < 20; ++n) {
        queue_frame(make_frame(peer_mac, 64, static_cast<uint8_t>(n), nic_mac));
        ring_tx();
    }
    EXPECT_EQ(m_peer.count(), 20u);
    EXPECT_EQ(read32(NKNIC_REG_TDH), 20u % 8);
    EXPECT_EQ(m_peer.frames()[19], make_frame(peer_mac, 64, 19, nic_mac));
}

TEST_F(NicTraffic, NothingSentWithoutLinkOrTransmitter)
{
    // Transmitter off: the doorbell is stored, nothing is processed.
    setup_tx(8, 0);
    write32(NKNIC_REG_TCTL, 0);
    auto frame = make_frame(peer_mac, 64, 1, nic_mac);
    auto index = queue_frame(frame);
    ring_tx();
    EXPECT_EQ(m_peer.count(), 0u);
    EXPECT_EQ(read32(NKNIC_REG_TDH), 0u);
    EXPECT_EQ(read32(NKNIC_REG_TDT), 1u);
    // Enabling it sends what was handed over.
    write32(NKNIC_REG_TCTL, NKNIC_TCTL_EN);
    EXPECT_EQ(m_peer.count(), 1u);
    EXPECT_EQ(tx_descriptor(index).status, NKNIC_TXD_STAT_DD);

    // No link: the frame is dropped, its descriptors complete.
    make_nic(1h);
    setup_tx();
    index = queue_frame(frame);
    ring_tx();
    EXPECT_EQ(m_peer.count(), 1u);
    EXPECT_EQ(tx_descriptor(index).status, NKNIC_TXD_STAT_DD);
    EXPECT_EQ(read32(NKNIC_REG_TDH), 1u);
    EXPECT_EQ(read32(NKNIC_REG_GPTC), 0u);
    EXPECT_EQ(m_nic->counters().frames_not_sent, 1u);
    // Nor does anything arrive without link.
    setup_rx();
    m_peer.send(make_frame(nic_mac, 64));
    EXPECT_EQ(m_nic->frames_for_us(), 0u);
    EXPECT_EQ(read32(NKNIC_REG_TPR), 1u);
}

// Two NICs on one segment: one's transmit engine runs the other's receive.
TEST_F(NicTraffic, TwoNicsTalk)
{
    Mac const other_mac { 0x02, 0x4e, 0x4b, 0x00, 0x00, 0x02 };
    // The memory first: it outlives the device.
    auto rx = make_ring(8);
    std::vector<MappedBuffer> buffers;
    for (uint32_t i = 0; i < 8; ++i) {
        buffers.push_back(map_buffer(2048, DmaDirection::FromDevice));
        std::memcpy(rx.descriptor(i), &buffers.back().iova, 8);
    }
    RecordingSink other_sink;
    NicDevice other("nic1", other_mac, m_segment, 1ms);
    other.connect(other_sink, m_iommu, m_loop.get());
    ASSERT_TRUE(wait_until(5s, [&] { return other.link_up(); }));
    other.write_register(0, NKNIC_REG_RDBAL, 8, rx.iova);
    other.write_register(0, NKNIC_REG_RDLEN, 4, 8 * 16);
    other.write_register(0, NKNIC_REG_RDT, 4, 7);
    other.write_register(0, NKNIC_REG_RCTL, 4, NKNIC_RCTL_EN);
    other.write_register(0, NKNIC_REG_IMS, 4, NKNIC_INT_RXT0);

    setup_tx();
    auto frame = make_frame(other_mac, 128, 5, nic_mac);
    queue_frame(frame);
    ring_tx();
    EXPECT_EQ(other.counters().frames_delivered, 1u);
    EXPECT_EQ(Frame(buffers[0].buffer->data(), buffers[0].buffer->data() + 128), frame);
    EXPECT_EQ(other_sink.count(0), 1u);
    EXPECT_EQ(m_peer.count(), 1u) << "a hub: the peer sees it too";
    EXPECT_EQ(m_nic->frames_for_us(), 0u) << "never back to the sender";
}

// A transmit pass sends with no device lock and may end up waiting inside
// another station's interrupt (here the receiving NIC's handler is stuck). A
// CTRL.RST meanwhile does not wait for it, and the pass, seeing the reset,
// writes nothing back into the old ring and counts nothing in the new
// statistics.
TEST_F(NicTraffic, ResetDoesNotWaitForATransmitPassStuckInAPeer)
{
    Mac const other_mac { 0x02, 0x4e, 0x4b, 0x00, 0x00, 0x02 };
    auto rx = make_ring(8);
    auto buffer = map_buffer(2048, DmaDirection::FromDevice);
    std::memcpy(rx.descriptor(0), &buffer.iova, 8);
    BlockingSink other_sink; // blocks on every thread
    NicDevice other("nic1", other_mac, m_segment, 1ms);
    ScopeGuard release([&] { other_sink.release(); });
    other.connect(other_sink, m_iommu, m_loop.get());
    ASSERT_TRUE(wait_until(5s, [&] { return other.link_up(); }));
    other.write_register(0, NKNIC_REG_RDBAL, 8, rx.iova);
    other.write_register(0, NKNIC_REG_RDLEN, 4, 8 * 16);
    other.write_register(0, NKNIC_REG_RDT, 4, 1);
    other.write_register(0, NKNIC_REG_RCTL, 4, NKNIC_RCTL_EN);
    other.write_register(0, NKNIC_REG_IMS, 4, NKNIC_INT_RXT0);

    setup_tx();
    auto index = queue_frame(make_frame(other_mac, 128, 5, nic_mac));
    std::thread doorbell([&] { ring_tx(); }); // the pass runs on this thread
    ASSERT_TRUE(other_sink.wait_raised()) << "the frame never reached the other NIC";
    std::atomic<bool> done { false };
    std::thread writer([&] {
        write32(NKNIC_REG_CTRL, NKNIC_CTRL_RST);
        done = true;
    });
    bool const returned = wait_until(5s, [&] { return done.load(); });
    other_sink.release();
    writer.join();
    doorbell.join();
    EXPECT_TRUE(returned) << "CTRL.RST waited for the transmit pass";

    EXPECT_EQ(other.counters().frames_delivered, 1u);
    EXPECT_EQ(m_nic->counters().frames_sent, 1u) << "the frame went out";
    EXPECT_EQ(tx_descriptor(index).status, 0u) << "written back after the reset";
    EXPECT_EQ(read32(NKNIC_REG_TDH), 0u);
    EXPECT_EQ(read32(NKNIC_REG_GPTC), 0u);
    EXPECT_EQ(read32(NKNIC_REG_ICR) & (NKNIC_INT_TXDW | NKNIC_INT_TXQE), 0u);
}

} // namespace
} // namespace nk::test
