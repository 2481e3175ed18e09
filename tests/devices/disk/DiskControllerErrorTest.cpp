// SPDX-License-Identifier: MIT
// Misprogramming the NKDISK controller: every case is an error status on the
// device (a fatal code, or a command status), never a crash, and a RESET
// brings the controller back.
#include "DiskTestRig.h"

#include <gtest/gtest.h>

#include <iterator>
#include <utility>
#include <vector>

namespace nk::test {
namespace {

using DiskControllerErrorTest = DiskControllerFixture;

// --- Sequence errors (fatal) -------------------------------------------------

// ENABLE before the first RESET after power-on is fatal NOT_RESET.
TEST_F(DiskControllerErrorTest, Enable_BeforeResetIsNotReset)
{
    make_rings(8);
    write64(NKDISK_REG_SQ_BASE, m_sq_iova);
    write64(NKDISK_REG_CQ_BASE, m_cq_iova);
    write32(NKDISK_REG_QUEUE_SIZE, 8);
    write32(NKDISK_REG_CTRL, NKDISK_CTRL_ENABLE);
    expect_fatal(NKDISK_FATAL_NOT_RESET);
    EXPECT_EQ(m_sink.count(NKDISK_VECTOR_ERROR), 1u);
    EXPECT_EQ(m_sink.count(NKDISK_VECTOR_COMPLETION), 0u);
    EXPECT_EQ(read32(NKDISK_REG_CTRL), 0u);
    EXPECT_EQ(m_controller->stats().fatal_errors, 1u);
    expect_recovers();
}

// An SQ doorbell at power-on is fatal NOT_RESET.
TEST_F(DiskControllerErrorTest, SqDoorbell_AtPowerOnIsNotReset)
{
    write32(NKDISK_REG_SQ_TAIL, 1);
    expect_fatal(NKDISK_FATAL_NOT_RESET);
    expect_recovers();
}

// A CQ doorbell at power-on is fatal NOT_RESET.
TEST_F(DiskControllerErrorTest, CqDoorbell_AtPowerOnIsNotReset)
{
    write32(NKDISK_REG_CQ_HEAD, 0);
    expect_fatal(NKDISK_FATAL_NOT_RESET);
    expect_recovers();
}

// Doorbells after RESET but before ENABLE are fatal NOT_READY.
TEST_F(DiskControllerErrorTest, Doorbell_AfterResetBeforeEnableIsNotReady)
{
    make_rings(8);
    program(8);
    write32(NKDISK_REG_SQ_TAIL, 1);
    expect_fatal(NKDISK_FATAL_NOT_READY);
    expect_recovers();

    program(8);
    m_sink.clear();
    write32(NKDISK_REG_CQ_HEAD, 0);
    expect_fatal(NKDISK_FATAL_NOT_READY);
    expect_recovers();
}

// A doorbell after the controller was disabled is fatal NOT_READY.
TEST_F(DiskControllerErrorTest, Doorbell_AfterDisableIsNotReady)
{
    bring_up(8);
    write32(NKDISK_REG_CTRL, 0);
    write32(NKDISK_REG_SQ_TAIL, 1);
    expect_fatal(NKDISK_FATAL_NOT_READY);
    expect_recovers();
}

// QUEUE_SIZE must be a power of two in 2..MAX_QUEUE.
TEST_F(DiskControllerErrorTest, Enable_BadQueueSize)
{
    make_rings(4 * max_queue); // big enough for any size tried: only the size is wrong
    for (uint32_t size : { 0u, 1u, 3u, 6u, 12u, 2 * max_queue, 0x8000'0000u, 0xffff'ffffu }) {
        SCOPED_TRACE(::testing::Message() << "QUEUE_SIZE " << size);
        m_sink.clear();
        program(size);
        write32(NKDISK_REG_CTRL, NKDISK_CTRL_ENABLE);
        expect_fatal(NKDISK_FATAL_BAD_QUEUE_SIZE);
    }
    for (uint32_t size : { 2u, max_queue }) {
        SCOPED_TRACE(::testing::Message() << "QUEUE_SIZE " << size);
        program(size);
        write32(NKDISK_REG_CTRL, NKDISK_CTRL_ENABLE);
        EXPECT_EQ(status(), NKDISK_STATUS_READY);
    }
    expect_recovers();
}

// Ring bases must be 64-byte aligned, even when the memory behind them is mapped.
TEST_F(DiskControllerErrorTest, Enable_MisalignedRing)
{
    make_rings(8);
    // Room for 8 entries at any offset up to 64 bytes.
    auto sq = map_buffer(8 * sizeof(nkdisk_sqe) + 64, DmaDirection::ToDevice);
    auto cq = map_buffer(8 * sizeof(nkdisk_cqe) + 64, DmaDirection::FromDevice);

    program(8);
    write64(NKDISK_REG_SQ_BASE, sq.iova + 32);
    write32(NKDISK_REG_CTRL, NKDISK_CTRL_ENABLE);
    expect_fatal(NKDISK_FATAL_BAD_RING);

    program(8);
    write64(NKDISK_REG_CQ_BASE, cq.iova + 16);
    write32(NKDISK_REG_CTRL, NKDISK_CTRL_ENABLE);
    expect_fatal(NKDISK_FATAL_BAD_RING);

    // The same buffers at an aligned offset are fine.
    program(8);
    write64(NKDISK_REG_SQ_BASE, sq.iova + 64);
    write64(NKDISK_REG_CQ_BASE, cq.iova + 64);
    write32(NKDISK_REG_CTRL, NKDISK_CTRL_ENABLE);
    EXPECT_EQ(status(), NKDISK_STATUS_READY);
    expect_recovers();
}

// Ring bases must be DMA memory the device may read (SQ) and write (CQ), as large as the ring.
TEST_F(DiskControllerErrorTest, Enable_UnreachableRing)
{
    make_rings(8);
    auto readonly_cq = map_buffer(8 * sizeof(nkdisk_cqe), DmaDirection::ToDevice);
    auto writeonly_sq = map_buffer(8 * sizeof(nkdisk_sqe), DmaDirection::FromDevice);
    struct Case {
        char const* what;
        uint64_t sq;
        uint64_t cq;
        uint32_t size;
    };
    Case const cases[] {
        { "SQ base 0", 0, m_cq_iova, 8 },
        { "CQ base 0", m_sq_iova, 0, 8 },
        { "SQ never mapped", 0x7000'0000'0000ull, m_cq_iova, 8 },
        { "CQ just past its mapping", m_sq_iova, m_cq_iova + 4096, 8 },
        { "rings smaller than QUEUE_SIZE", m_sq_iova, m_cq_iova, 16 },
        { "SQ not readable by the device", writeonly_sq.iova, m_cq_iova, 8 },
        { "CQ not writable by the device", m_sq_iova, readonly_cq.iova, 8 },
    };
    for (auto const& entry : cases) {
        SCOPED_TRACE(entry.what);
        m_sink.clear();
        program(entry.size);
        write64(NKDISK_REG_SQ_BASE, entry.sq);
        write64(NKDISK_REG_CQ_BASE, entry.cq);
        write32(NKDISK_REG_CTRL, NKDISK_CTRL_ENABLE);
        expect_fatal(NKDISK_FATAL_BAD_RING);
    }
    expect_recovers();
}

// A ring unmapped between programming and ENABLE is refused.
TEST_F(DiskControllerErrorTest, Enable_RingUnmappedBeforeEnable)
{
    make_rings(8);
    program(8);
    unmap_cq();
    write32(NKDISK_REG_CTRL, NKDISK_CTRL_ENABLE);
    expect_fatal(NKDISK_FATAL_BAD_RING);
    expect_recovers();
}

// --- Doorbell errors (fatal) -------------------------------------------------

// SQ_TAIL must index a slot of the ring.
TEST_F(DiskControllerErrorTest, SqTail_OutOfRange)
{
    for (uint32_t tail : { 8u, 9u, 0xffff'ffffu }) {
        SCOPED_TRACE(::testing::Message() << "SQ_TAIL " << tail);
        bring_up(8);
        write32(NKDISK_REG_SQ_TAIL, tail);
        expect_fatal(NKDISK_FATAL_RING_OVERFLOW);
        EXPECT_EQ(m_controller->stats().commands, 0u);
    }
    expect_recovers();
}

// Moving SQ_TAIL over entries the device has not fetched yet is RING_OVERFLOW.
TEST_F(DiskControllerErrorTest, SqTail_PastFreeSlots)
{
    bring_up(4);
    auto data = pattern_buffer(1, 1);
    // Fill the CQ so that the device stops fetching.
    for (uint16_t cid = 1; cid <= 3; ++cid)
        push(write_command(cid, cid, 1, data.iova));
    ring_sq();
    ASSERT_EQ(read32(NKDISK_REG_SQ_HEAD), 3u);
    // Two entries wait unfetched; one more is allowed, two more overwrite the unread one.
    push(write_command(4, 4, 1, data.iova));
    push(write_command(5, 5, 1, data.iova));
    ring_sq();
    ASSERT_EQ(status(), NKDISK_STATUS_READY);
    push(write_command(6, 6, 1, data.iova));
    push(write_command(7, 7, 1, data.iova));
    ring_sq();
    expect_fatal(NKDISK_FATAL_RING_OVERFLOW);
    EXPECT_EQ(m_controller->stats().commands, 3u);
    // A stopped controller does not resume when CQ slots come back.
    write32(NKDISK_REG_CQ_HEAD, 3);
    EXPECT_EQ(m_controller->stats().commands, 3u);
    EXPECT_NE(status() & NKDISK_STATUS_FATAL, 0u);
    expect_recovers();
}

// Filling every free SQ slot (size - 1) at once is allowed.
TEST_F(DiskControllerErrorTest, SqTail_FullRingAllowed)
{
    bring_up(8);
    auto data = pattern_buffer(1, 1);
    for (uint16_t cid = 0; cid < 7; ++cid)
        push(write_command(cid, cid, 1, data.iova));
    ring_sq();
    EXPECT_EQ(status(), NKDISK_STATUS_READY);
    EXPECT_EQ(m_controller->stats().commands, 7u);
    EXPECT_EQ(m_sink.count(NKDISK_VECTOR_ERROR), 0u);
}

// CQ_HEAD must index a slot of the ring.
TEST_F(DiskControllerErrorTest, CqHead_OutOfRange)
{
    for (uint32_t head : { 8u, 0x10u, 0xffff'ffffu }) {
        SCOPED_TRACE(::testing::Message() << "CQ_HEAD " << head);
        bring_up(8);
        write32(NKDISK_REG_CQ_HEAD, head);
        expect_fatal(NKDISK_FATAL_BAD_DOORBELL);
    }
    expect_recovers();
}

// CQ_HEAD may not return slots the device has not filled.
TEST_F(DiskControllerErrorTest, CqHead_AheadOfDevice)
{
    bring_up(8);
    write32(NKDISK_REG_CQ_HEAD, 1); // nothing posted yet
    expect_fatal(NKDISK_FATAL_BAD_DOORBELL);

    bring_up(8);
    auto data = pattern_buffer(1, 1);
    push(write_command(1, 0, 1, data.iova));
    ring_sq();
    ASSERT_TRUE(poll().has_value());
    write32(NKDISK_REG_CQ_HEAD, 0); // no change: fine
    EXPECT_EQ(status(), NKDISK_STATUS_READY);
    write32(NKDISK_REG_CQ_HEAD, 2); // one past the device's tail
    expect_fatal(NKDISK_FATAL_BAD_DOORBELL);
    expect_recovers();
}

// --- Ring DMA errors (fatal) -------------------------------------------------

// An SQ unmapped while the controller runs is RING_DMA; no command executes.
TEST_F(DiskControllerErrorTest, RingDma_SqUnmappedWhileEnabled)
{
    bring_up(8);
    auto data = pattern_buffer(1, 1);
    EXPECT_EQ(run(write_command(1, 0, 1, data.iova)), NKDISK_SC_OK);
    unmap_sq();
    push(write_command(2, 5, 1, data.iova));
    ring_sq();
    expect_fatal(NKDISK_FATAL_RING_DMA);
    EXPECT_EQ(m_sink.count(NKDISK_VECTOR_ERROR), 1u);
    EXPECT_EQ(m_controller->stats().commands, 1u);
    EXPECT_EQ(image_bytes(5, 1), std::vector<std::byte>(512));
    EXPECT_FALSE(poll().has_value());
    expect_recovers();
}

// A CQ unmapped while the controller runs is RING_DMA when the completion is posted.
TEST_F(DiskControllerErrorTest, RingDma_CqUnmappedWhileEnabled)
{
    bring_up(8);
    auto data = pattern_buffer(1, 1);
    EXPECT_EQ(run(write_command(1, 0, 1, data.iova)), NKDISK_SC_OK);
    unmap_cq();
    push(write_command(2, 5, 1, data.iova));
    push(write_command(3, 6, 1, data.iova));
    ring_sq();
    expect_fatal(NKDISK_FATAL_RING_DMA);
    EXPECT_EQ(m_sink.count(NKDISK_VECTOR_ERROR), 1u);
    EXPECT_EQ(m_controller->stats().commands, 1u);
    // The engine stopped at the first unreachable slot: the third command was not fetched.
    EXPECT_EQ(read32(NKDISK_REG_SQ_HEAD), 2u);
    expect_recovers();
}

// --- Command errors (status in the completion; the controller keeps running) -

class DiskCommandErrorTest : public DiskControllerFixture {
protected:
    void SetUp() override
    {
        DiskControllerFixture::SetUp();
        if (HasFatalFailure())
            return;
        bring_up(8);
        // Known contents around the sectors the commands aim at.
        m_before = pattern_buffer(8, 0x33);
        ASSERT_EQ(run(write_command(0, 100, 8, m_before.iova)), NKDISK_SC_OK);
        m_sink.clear();
        m_errors_before = m_controller->stats().command_errors;
    }

    // The controller is still up, raised no error vector, and counted `errors` failed commands.
    void expect_still_running(uint64_t errors)
    {
        EXPECT_EQ(status(), NKDISK_STATUS_READY);
        EXPECT_EQ(m_sink.count(NKDISK_VECTOR_ERROR), 0u);
        EXPECT_EQ(read32(NKDISK_REG_INT_STATUS) & NKDISK_INT_ERROR, 0u);
        EXPECT_EQ(m_controller->stats().command_errors - m_errors_before, errors);
        // And it still does real work.
        auto back = map_buffer(8 * 512, DmaDirection::FromDevice);
        EXPECT_EQ(run(read_command(999, 100, 8, back.iova)), NKDISK_SC_OK);
        EXPECT_EQ(to_vector(back.buffer->bytes()), image_bytes(100, 8));
    }

    MappedBuffer m_before;
    uint64_t m_errors_before { 0 };
};

// A data address that is not mapped (never, or no longer) is DMA_ERROR.
TEST_F(DiskCommandErrorTest, Dma_UnmappedDataAddress)
{
    EXPECT_EQ(run(read_command(1, 100, 1, 0)), NKDISK_SC_DMA_ERROR);
    EXPECT_EQ(run(write_command(2, 100, 1, 0x7000'0000'0000ull)), NKDISK_SC_DMA_ERROR);
    auto stale = pattern_buffer(1, 0x77);
    ASSERT_TRUE(m_iommu.unmap(stale.iova).has_value());
    EXPECT_EQ(run(write_command(3, 100, 1, stale.iova)), NKDISK_SC_DMA_ERROR);
    EXPECT_EQ(image_bytes(100, 8), to_vector(m_before.buffer->bytes()));
    expect_still_running(3);
}

// A transfer running past the end of its buffer's mapping is DMA_ERROR.
TEST_F(DiskCommandErrorTest, Dma_OutsideMapping)
{
    auto small = pattern_buffer(1, 0x55, DmaDirection::Bidirectional);
    EXPECT_EQ(run(write_command(1, 100, 2, small.iova)), NKDISK_SC_DMA_ERROR);
    EXPECT_EQ(run(read_command(2, 100, 2, small.iova)), NKDISK_SC_DMA_ERROR);
    EXPECT_EQ(run(write_command(3, 100, 1, small.iova + 256)), NKDISK_SC_DMA_ERROR);
    EXPECT_EQ(run(read_command(4, 100, 1, small.iova - 512)), NKDISK_SC_DMA_ERROR);
    EXPECT_EQ(image_bytes(100, 8), to_vector(m_before.buffer->bytes()));
    // The read must not have touched the buffer either.
    auto expected = pattern_buffer(1, 0x55);
    EXPECT_EQ(to_vector(small.buffer->bytes()), to_vector(expected.buffer->bytes()));
    expect_still_running(4);
}

// A read needs a device-writable buffer, a write a device-readable one.
TEST_F(DiskCommandErrorTest, Dma_WrongDirection)
{
    auto readonly = pattern_buffer(1, 0x11, DmaDirection::ToDevice);
    EXPECT_EQ(run(read_command(1, 100, 1, readonly.iova)), NKDISK_SC_DMA_ERROR);
    auto expected = pattern_buffer(1, 0x11);
    EXPECT_EQ(to_vector(readonly.buffer->bytes()), to_vector(expected.buffer->bytes()));

    auto writeonly = pattern_buffer(1, 0x22, DmaDirection::FromDevice);
    EXPECT_EQ(run(write_command(2, 100, 1, writeonly.iova)), NKDISK_SC_DMA_ERROR);
    EXPECT_EQ(image_bytes(100, 8), to_vector(m_before.buffer->bytes()));
    expect_still_running(2);
}

// Sector ranges beyond the capacity, empty or longer than MAX_SECTORS are LBA_RANGE.
TEST_F(DiskCommandErrorTest, LbaRange)
{
    auto data = pattern_buffer(max_sectors + 1, 0x44, DmaDirection::Bidirectional);
    struct Case {
        uint64_t sector;
        uint32_t nr_sectors;
    };
    Case const cases[] {
        { capacity, 1 },
        { capacity - 1, 2 },
        { capacity + 1000, 1 },
        { UINT64_MAX, 1 },
        { UINT64_MAX - 1, 2 },
        { 100, 0 },
        { 0, max_sectors + 1 },
        { 0, 0xffff'ffffu },
    };
    uint16_t cid = 1;
    for (auto const& entry : cases) {
        SCOPED_TRACE(::testing::Message() << "sector " << entry.sector << " count " << entry.nr_sectors);
        EXPECT_EQ(run(write_command(cid++, entry.sector, entry.nr_sectors, data.iova)), NKDISK_SC_LBA_RANGE);
        EXPECT_EQ(run(read_command(cid++, entry.sector, entry.nr_sectors, data.iova)), NKDISK_SC_LBA_RANGE);
    }
    EXPECT_EQ(image_bytes(100, 8), to_vector(m_before.buffer->bytes()));
    expect_still_running(2 * std::size(cases));
}

// Opcodes the controller does not define are INVALID_OPCODE.
TEST_F(DiskCommandErrorTest, InvalidOpcode)
{
    auto data = pattern_buffer(1, 0x66, DmaDirection::Bidirectional);
    uint16_t cid = 1;
    for (uint8_t opcode : { uint8_t(0), uint8_t(4), uint8_t(0x80), uint8_t(0xff) }) {
        SCOPED_TRACE(::testing::Message() << "opcode " << int(opcode));
        EXPECT_EQ(run(command(opcode, cid++, 100, 1, data.iova)), NKDISK_SC_INVALID_OPCODE);
    }
    EXPECT_EQ(image_bytes(100, 8), to_vector(m_before.buffer->bytes()));
    expect_still_running(4);
}

// Flag bits other than FUA are INVALID_FIELD, whatever the opcode.
TEST_F(DiskCommandErrorTest, InvalidField)
{
    auto data = pattern_buffer(1, 0x66, DmaDirection::Bidirectional);
    uint16_t cid = 1;
    for (uint8_t flags : { uint8_t(0x2), uint8_t(0x80), uint8_t(0xff) }) {
        for (uint8_t opcode : { uint8_t(NKDISK_OP_READ), uint8_t(NKDISK_OP_WRITE), uint8_t(NKDISK_OP_FLUSH) }) {
            SCOPED_TRACE(::testing::Message() << "opcode " << int(opcode) << " flags " << int(flags));
            auto sqe = command(opcode, cid++, 100, 1, data.iova);
            sqe.flags = flags;
            EXPECT_EQ(run(sqe), NKDISK_SC_INVALID_FIELD);
        }
    }
    EXPECT_EQ(image_bytes(100, 8), to_vector(m_before.buffer->bytes()));
    expect_still_running(9);
}

// Commands touching an injected bad range fail with MEDIA_ERROR; others succeed.
TEST_F(DiskCommandErrorTest, MediaError)
{
    m_controller->inject_media_error(110, 2); // sectors 110 and 111
    auto buffer = map_buffer(4 * 512, DmaDirection::Bidirectional);
    EXPECT_EQ(run(read_command(1, 111, 1, buffer.iova)), NKDISK_SC_MEDIA_ERROR);
    EXPECT_EQ(run(read_command(2, 108, 3, buffer.iova)), NKDISK_SC_MEDIA_ERROR);
    EXPECT_EQ(run(write_command(3, 111, 4, buffer.iova)), NKDISK_SC_MEDIA_ERROR);
    EXPECT_EQ(run(read_command(4, 109, 1, buffer.iova)), NKDISK_SC_OK);
    EXPECT_EQ(run(read_command(5, 112, 4, buffer.iova)), NKDISK_SC_OK);
    EXPECT_EQ(m_controller->stats().last_command_status, NKDISK_SC_OK);

    m_controller->clear_media_errors();
    EXPECT_EQ(run(read_command(6, 110, 2, buffer.iova)), NKDISK_SC_OK);
    expect_still_running(3);
}

// A bad command in a batch fails alone; the commands around it complete normally.
TEST_F(DiskCommandErrorTest, BadCommandInBatchFailsAlone)
{
    auto data = pattern_buffer(1, 0x99);
    push(write_command(1, 104, 1, data.iova));
    push(write_command(2, capacity, 1, data.iova));
    push(command(9, 3, 0, 1, data.iova));
    push(write_command(4, 105, 1, data.iova));
    ring_sq();
    std::vector<std::pair<uint16_t, uint16_t>> results;
    while (auto cqe = poll())
        results.emplace_back(cqe->cid, cqe->status);
    ring_cq();
    EXPECT_EQ(results, (std::vector<std::pair<uint16_t, uint16_t>> {
        { 1, NKDISK_SC_OK }, { 2, NKDISK_SC_LBA_RANGE }, { 3, NKDISK_SC_INVALID_OPCODE }, { 4, NKDISK_SC_OK } }));
    EXPECT_EQ(image_bytes(104, 1), to_vector(data.buffer->bytes()));
    EXPECT_EQ(image_bytes(105, 1), to_vector(data.buffer->bytes()));
    expect_still_running(2);
}

} // namespace
} // namespace nk::test
