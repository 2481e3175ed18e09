// SPDX-License-Identifier: MIT
// The NKNIC's register file, link and interrupts, driven directly (no
// driver): reset values, read/write behaviour, clear-on-read registers, link
// negotiation and its restart by a reset, and when the vector fires (ICR &
// IMS, ITR spacing).

#include "devices/nic/NicTestRig.h"

#include "base/ScopeGuard.h"

#include <atomic>
#include <thread>

namespace nk::test {
namespace {

// Every register an offset of the datasheet names, but RAL0/RAH0.
std::vector<uint32_t> zero_at_reset()
{
    std::vector<uint32_t> offsets { NKNIC_REG_CTRL, NKNIC_REG_STATUS, NKNIC_REG_ERRCODE, NKNIC_REG_ICR, NKNIC_REG_ITR,
        NKNIC_REG_ICS, NKNIC_REG_IMS, NKNIC_REG_IMC, NKNIC_REG_RCTL, NKNIC_REG_TCTL, NKNIC_REG_RDBAL, NKNIC_REG_RDBAH,
        NKNIC_REG_RDLEN, NKNIC_REG_RDH, NKNIC_REG_RDT, NKNIC_REG_TDBAL, NKNIC_REG_TDBAH, NKNIC_REG_TDLEN, NKNIC_REG_TDH,
        NKNIC_REG_TDT, NKNIC_REG_MPC, NKNIC_REG_GPRC, NKNIC_REG_GPTC, NKNIC_REG_GORC, NKNIC_REG_GOTC, NKNIC_REG_RNBC,
        NKNIC_REG_ROC, NKNIC_REG_TPR, NKNIC_REG_ERRC };
    for (uint32_t n = 0; n < NKNIC_NUM_MTA; ++n)
        offsets.push_back(NKNIC_REG_MTA(n));
    for (uint32_t n = 1; n < NKNIC_NUM_RA; ++n) {
        offsets.push_back(NKNIC_REG_RAL(n));
        offsets.push_back(NKNIC_REG_RAH(n));
    }
    return offsets;
}

class NicRegisters : public NicFixture {
protected:
    void expect_reset_values(std::string const& when)
    {
        SCOPED_TRACE(when);
        for (auto offset : zero_at_reset())
            EXPECT_EQ(read32(offset), 0u) << "offset " << std::hex << offset;
        // The station address, 02:4e:4b:00:00:01, valid.
        EXPECT_EQ(read32(NKNIC_REG_RAL(0)), 0x004b4e02u);
        EXPECT_EQ(read32(NKNIC_REG_RAH(0)), 0x0100u | NKNIC_RAH_AV);
    }
};

TEST_F(NicRegisters, PowerOnAndResetValues)
{
    make_nic(1h); // the link stays down for the whole test
    EXPECT_EQ(m_nic->vendor_id(), NKNIC_VENDOR_ID);
    EXPECT_EQ(m_nic->device_id(), NKNIC_DEVICE_ID);
    EXPECT_EQ(m_nic->window_count(), 1u);
    EXPECT_EQ(m_nic->window_size(0), NKNIC_WINDOW_SIZE);
    EXPECT_EQ(m_nic->vector_count(), 1u);
    expect_reset_values("power-on");

    // Program everything, then reset by CTRL.RST and by a power cycle.
    for (auto offset : zero_at_reset())
        write32(offset, 0x00000180u);
    write32(NKNIC_REG_RAL(0), 0x12345678u);
    write32(NKNIC_REG_RAH(0), 0);
    write32(NKNIC_REG_CTRL, NKNIC_CTRL_RST);
    expect_reset_values("CTRL.RST");
    EXPECT_EQ(read32(NKNIC_REG_CTRL) & NKNIC_CTRL_RST, 0u) << "RST is self-clearing";

    for (auto offset : zero_at_reset())
        write32(offset, 0x00000180u);
    m_nic->hard_reset();
    expect_reset_values("hard_reset");
}

TEST_F(NicRegisters, ReadWriteRegistersReadBack)
{
    make_nic(1h);
    struct Case {
        uint32_t offset;
        uint32_t value;
    };
    // Ring registers with the receiver and transmitter off: stored, not checked.
    std::vector<Case> cases { { NKNIC_REG_CTRL, NKNIC_CTRL_SLU }, { NKNIC_REG_ITR, 1234 },
        { NKNIC_REG_RCTL, NKNIC_RCTL_BAM | NKNIC_RCTL_UPE | (2u << NKNIC_RCTL_MO_SHIFT) },
        { NKNIC_REG_TCTL, NKNIC_TCTL_PSP }, { NKNIC_REG_RDBAL, 0xdead0000u }, { NKNIC_REG_RDBAH, 0x10 },
        { NKNIC_REG_RDLEN, 4096 }, { NKNIC_REG_RDH, 3 }, { NKNIC_REG_RDT, 7 }, { NKNIC_REG_TDBAL, 0xbeef0000u },
        { NKNIC_REG_TDBAH, 0x20 }, { NKNIC_REG_TDLEN, 1024 }, { NKNIC_REG_TDH, 5 }, { NKNIC_REG_TDT, 9 } };
    for (uint32_t n = 0; n < NKNIC_NUM_MTA; ++n)
        cases.push_back({ NKNIC_REG_MTA(n), 0x01010101u * n });
    for (uint32_t n = 0; n < NKNIC_NUM_RA; ++n) {
        cases.push_back({ NKNIC_REG_RAL(n), 0x11223344u + n });
        cases.push_back({ NKNIC_REG_RAH(n), (n % 2 ? NKNIC_RAH_AV : 0u) | (0x5500u + n) });
    }
    for (auto [offset, value] : cases)
        write32(offset, value);
    for (auto [offset, value] : cases)
        EXPECT_EQ(read32(offset), value) << "offset " << std::hex << offset;
    EXPECT_EQ(m_nic->counters().errors, 0u);
}

TEST_F(NicRegisters, ReadOnlyWriteOnlyAndUnknownOffsets)
{
    make_nic(1h);
    // Read-only registers ignore writes.
    for (auto offset : { NKNIC_REG_STATUS, NKNIC_REG_ERRCODE, NKNIC_REG_ICR, NKNIC_REG_MPC, NKNIC_REG_GPRC,
             NKNIC_REG_TPR, NKNIC_REG_ERRC }) {
        write32(offset, 0xffffffffu);
        EXPECT_EQ(read32(offset), 0u) << "offset " << std::hex << offset;
    }
    // Write-only ones read 0.
    write32(NKNIC_REG_IMC, 0xffffffffu);
    EXPECT_EQ(read32(NKNIC_REG_IMC), 0u);
    write32(NKNIC_REG_ICS, NKNIC_INT_TXDW);
    EXPECT_EQ(read32(NKNIC_REG_ICS), 0u);
    EXPECT_EQ(read32(NKNIC_REG_ICR), NKNIC_INT_TXDW);
    // Unassigned offsets read 0 and ignore writes, holes in the ring blocks too.
    for (uint32_t offset : { 0x0004u, 0x0104u, 0x280cu, 0x2814u, 0x281cu, 0x380cu, 0x4000u, 0x5000u, 0x5600u, 0x7ffcu }) {
        write32(offset, 0xa5a5a5a5u);
        EXPECT_EQ(read32(offset), 0u) << "offset " << std::hex << offset;
    }
    EXPECT_EQ(status(), 0u);
}

TEST_F(NicRegisters, EightByteAccessIsTwoHalves)
{
    make_nic(1h);
    m_nic->write_register(0, NKNIC_REG_RDBAL, 8, 0x0000001234567880ull);
    EXPECT_EQ(read32(NKNIC_REG_RDBAL), 0x34567880u);
    EXPECT_EQ(read32(NKNIC_REG_RDBAH), 0x12u);
    EXPECT_EQ(m_nic->read_register(0, NKNIC_REG_RDBAL, 8), 0x0000001234567880ull);
    EXPECT_EQ(m_nic->read_register(0, NKNIC_REG_RAL(0), 8), (uint64_t(0x0100u | NKNIC_RAH_AV) << 32) | 0x004b4e02u);
}

TEST_F(NicRegisters, IcrClearsOnReadIcsSetsCauses)
{
    make_nic(1h);
    write32(NKNIC_REG_ICS, NKNIC_INT_RXT0 | NKNIC_INT_TXQE);
    write32(NKNIC_REG_ICS, NKNIC_INT_RXO);
    EXPECT_EQ(read32(NKNIC_REG_ICR), NKNIC_INT_RXT0 | NKNIC_INT_TXQE | NKNIC_INT_RXO);
    EXPECT_EQ(read32(NKNIC_REG_ICR), 0u);
    EXPECT_EQ(interrupts(), 0u) << "every cause is masked";
}

TEST_F(NicRegisters, ImsEnablesImcDisables)
{
    make_nic(1h);
    write32(NKNIC_REG_IMS, NKNIC_INT_RXT0);
    write32(NKNIC_REG_IMS, NKNIC_INT_LSC);
    EXPECT_EQ(read32(NKNIC_REG_IMS), NKNIC_INT_RXT0 | NKNIC_INT_LSC);
    write32(NKNIC_REG_IMC, NKNIC_INT_RXT0 | NKNIC_INT_TXDW);
    EXPECT_EQ(read32(NKNIC_REG_IMS), NKNIC_INT_LSC);
}

TEST_F(NicRegisters, StatisticsClearOnRead)
{
    make_nic(1h);
    // The link is down: every frame is counted as seen, none taken.
    for (int i = 0; i < 5; ++i)
        m_peer.send(make_frame(nic_mac, 64));
    EXPECT_EQ(read32(NKNIC_REG_TPR), 5u);
    EXPECT_EQ(read32(NKNIC_REG_TPR), 0u);
    EXPECT_EQ(m_nic->counters().frames_seen, 5u) << "the test counters are not cleared";
    EXPECT_EQ(m_nic->frames_for_us(), 0u);
}

// --- Link ------------------------------------------------------------------

class NicLink : public NicFixture {};

TEST_F(NicLink, ComesUpAfterTheDelayWithLsc)
{
    auto const start = std::chrono::steady_clock::now();
    make_nic(200ms);
    write32(NKNIC_REG_IMS, NKNIC_INT_LSC);
    EXPECT_EQ(status() & NKNIC_STATUS_LU, 0u);
    wait_link();
    EXPECT_GE(std::chrono::steady_clock::now() - start, 200ms) << "up before the negotiation delay";
    EXPECT_NE(status() & NKNIC_STATUS_LU, 0u);
    EXPECT_TRUE(wait_until(5s, [&] { return interrupts() == 1; }));
    EXPECT_EQ(read32(NKNIC_REG_ICR), NKNIC_INT_LSC);
    EXPECT_EQ(m_nic->counters().interrupts, 1u);
}

TEST_F(NicLink, ResetTakesItDownAndItComesBack)
{
    make_nic(300ms); // long enough to see it down
    wait_link();
    for (int round = 0; round < 3; ++round) {
        SCOPED_TRACE(round);
        if (round % 2 == 0)
            write32(NKNIC_REG_CTRL, NKNIC_CTRL_RST);
        else
            m_nic->hard_reset();
        EXPECT_FALSE(m_nic->link_up());
        EXPECT_EQ(read32(NKNIC_REG_ICR), 0u);
        wait_link();
        EXPECT_EQ(read32(NKNIC_REG_ICR), NKNIC_INT_LSC);
    }
}

// CTRL.SLU while the link is down starts the delay again: written faster than
// the delay, the link stays down; left alone, it comes up.
TEST_F(NicLink, SluRestartsNegotiation)
{
    make_nic(400ms);
    auto const until = std::chrono::steady_clock::now() + 1s;
    while (std::chrono::steady_clock::now() < until) {
        write32(NKNIC_REG_CTRL, NKNIC_CTRL_SLU);
        std::this_thread::sleep_for(10ms);
    }
    EXPECT_FALSE(m_nic->link_up()) << "negotiation was not restarted";
    wait_link();
    // Up, SLU changes nothing.
    write32(NKNIC_REG_CTRL, NKNIC_CTRL_SLU);
    EXPECT_TRUE(m_nic->link_up());
}

TEST(NicLinkWithoutLoop, ComesUpAtOnce)
{
    EthernetSegment segment("test");
    Iommu iommu;
    RecordingSink sink;
    NicDevice nic("nic0", nic_mac, segment, 1h);
    nic.connect(sink, iommu);
    EXPECT_TRUE(nic.link_up());
    EXPECT_EQ(nic.read_register(0, NKNIC_REG_ICR, 4), NKNIC_INT_LSC);
}

// --- Interrupts --------------------------------------------------------------

class NicInterrupt : public NicFixture {
protected:
    void SetUp() override
    {
        NicFixture::SetUp();
        make_nic(1h); // no LSC in the way
    }
};

TEST_F(NicInterrupt, FiresOnlyWhenACauseIsEnabled)
{
    write32(NKNIC_REG_ICS, NKNIC_INT_RXT0);
    EXPECT_EQ(interrupts(), 0u);
    // Enabling the pending cause fires.
    write32(NKNIC_REG_IMS, NKNIC_INT_RXT0);
    EXPECT_EQ(interrupts(), 1u);
    // Still asserted: another cause does not fire again.
    write32(NKNIC_REG_ICS, NKNIC_INT_RXT0 | NKNIC_INT_TXDW);
    EXPECT_EQ(interrupts(), 1u);
    // Reading ICR deasserts; the next cause fires.
    EXPECT_EQ(read32(NKNIC_REG_ICR), NKNIC_INT_RXT0 | NKNIC_INT_TXDW);
    write32(NKNIC_REG_ICS, NKNIC_INT_RXT0);
    EXPECT_EQ(interrupts(), 2u);
    // A masked cause does not fire, and IMC deasserts.
    EXPECT_NE(read32(NKNIC_REG_ICR), 0u);
    write32(NKNIC_REG_ICS, NKNIC_INT_TXQE);
    EXPECT_EQ(interrupts(), 2u);
    write32(NKNIC_REG_ICS, NKNIC_INT_RXT0);
    EXPECT_EQ(interrupts(), 3u);
    write32(NKNIC_REG_IMC, NKNIC_INT_RXT0);
    write32(NKNIC_REG_IMS, NKNIC_INT_RXT0); // NAPI's re-enable with the cause still pending
    EXPECT_EQ(interrupts(), 4u);
    EXPECT_EQ(m_nic->counters().interrupts, 4u);
}

// With ITR, interrupts are spaced: not more than one per interval, however
// fast the causes come, and a deferred one still arrives.
TEST_F(NicInterrupt, ItrSpacesInterrupts)
{
    constexpr auto interval = 50ms;
    write32(NKNIC_REG_ITR, static_cast<uint32_t>(std::chrono::nanoseconds(interval).count() / 256));
    write32(NKNIC_REG_IMS, NKNIC_INT_RXT0 | NKNIC_INT_TXDW);
    auto const start = std::chrono::steady_clock::now();
    // Causes come all the time; a handler reads ICR at each interrupt.
    uint32_t seen = 0;
    size_t handled = 0;
    while (std::chrono::steady_clock::now() - start < 500ms) {
        write32(NKNIC_REG_ICS, NKNIC_INT_RXT0);
        if (interrupts() > handled) {
            handled = interrupts();
            seen |= read32(NKNIC_REG_ICR);
        }
        std::this_thread::sleep_for(1ms);
    }
    auto const elapsed = std::chrono::steady_clock::now() - start;
    auto const bound = static_cast<size_t>(elapsed / interval) + 2;
    EXPECT_LE(interrupts(), bound);
    EXPECT_GE(interrupts(), 2u) << "the deferred interrupts never came";
    EXPECT_EQ(seen, NKNIC_INT_RXT0);

    // Causes accumulate while an interrupt is deferred.
    while (read32(NKNIC_REG_ICR) != 0) { }
    auto before = interrupts();
    write32(NKNIC_REG_ICS, NKNIC_INT_RXT0);
    write32(NKNIC_REG_ICS, NKNIC_INT_TXDW);
    ASSERT_TRUE(wait_until(5s, [&] { return interrupts() > before; }));
    EXPECT_EQ(read32(NKNIC_REG_ICR), NKNIC_INT_RXT0 | NKNIC_INT_TXDW);
}

TEST_F(NicInterrupt, DeferredInterruptDroppedWhenCausesAreGone)
{
    write32(NKNIC_REG_ITR, static_cast<uint32_t>(std::chrono::nanoseconds(250ms).count() / 256));
    write32(NKNIC_REG_IMS, NKNIC_INT_RXT0);
    write32(NKNIC_REG_ICS, NKNIC_INT_RXT0);
    ASSERT_EQ(interrupts(), 1u);
    read32(NKNIC_REG_ICR);
    write32(NKNIC_REG_ICS, NKNIC_INT_RXT0); // deferred
    EXPECT_EQ(read32(NKNIC_REG_ICR), NKNIC_INT_RXT0); // handled by polling before it fires
    std::this_thread::sleep_for(500ms); // past the moment it was deferred to
    EXPECT_EQ(interrupts(), 1u);
}

// Register writes never wait for a timer callback: here the link's callback
// is stuck raising the interrupt while the "driver" resets the device,
// changes the mask and moderation, and restarts negotiation.
TEST_F(NicInterrupt, RegisterWritesNeverWaitForATimerCallback)
{
    BlockingSink sink(m_loop.get()); // blocks the loop thread only
    ScopeGuard release([&] {
        sink.release();
        m_nic.reset(); // before the sink goes
    });
    m_nic.reset();
    m_nic = std::make_unique<NicDevice>("nic0", nic_mac, m_segment, 200ms);
    m_nic->connect(sink, m_iommu, m_loop.get());
    write32(NKNIC_REG_IMS, NKNIC_INT_LSC); // long before the link comes up
    ASSERT_TRUE(sink.wait_raised());
    std::atomic<bool> done { false };
    std::thread writer([&] {
        write32(NKNIC_REG_IMC, 0xffffffffu);
        write32(NKNIC_REG_ITR, 100);
        write32(NKNIC_REG_CTRL, NKNIC_CTRL_SLU);
        write32(NKNIC_REG_CTRL, NKNIC_CTRL_RST);
        write32(NKNIC_REG_IMS, NKNIC_INT_LSC);
        done = true;
    });
    bool returned = wait_until(5s, [&] { return done.load(); });
    sink.release();
    writer.join();
    EXPECT_TRUE(returned) << "a register write waited for the callback";
}

} // namespace
} // namespace nk::test
