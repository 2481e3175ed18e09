// SPDX-License-Identifier: MIT
// The NKDISK controller doing its job: identity, bring-up, I/O through the
// rings, completions and interrupts, reset.
#include "DiskTestRig.h"

#include <gtest/gtest.h>

namespace nk::test {
namespace {

using DiskControllerTest = DiskControllerFixture;

// The identity registers describe the device and its limits.
TEST_F(DiskControllerTest, Registers_Identity)
{
    EXPECT_EQ(read32(NKDISK_REG_MAGIC), NKDISK_MAGIC);
    EXPECT_EQ(read32(NKDISK_REG_VERSION), NKDISK_VERSION);
    EXPECT_EQ(read64(NKDISK_REG_CAPACITY), capacity);
    EXPECT_EQ(read32(NKDISK_REG_CAPACITY), capacity);
    EXPECT_EQ(read32(NKDISK_REG_CAPACITY + 4), 0u);
    EXPECT_EQ(read32(NKDISK_REG_MAX_SECTORS), max_sectors);
    EXPECT_EQ(read32(NKDISK_REG_MAX_QUEUE), max_queue);
    EXPECT_EQ(m_controller->vendor_id(), NKDISK_VENDOR_ID);
    EXPECT_EQ(m_controller->device_id(), NKDISK_DEVICE_ID);
    EXPECT_EQ(m_controller->name(), "disk0");
    EXPECT_EQ(m_controller->window_count(), 1u);
    EXPECT_EQ(m_controller->window_size(0), NKDISK_WINDOW_SIZE);
    EXPECT_EQ(m_controller->vector_count(), uint32_t(NKDISK_NR_VECTORS));
}

// Read-only registers ignore writes.
TEST_F(DiskControllerTest, Registers_ReadOnlyIgnoreWrites)
{
    write32(NKDISK_REG_MAGIC, 0);
    write32(NKDISK_REG_VERSION, 7);
    write64(NKDISK_REG_CAPACITY, 1);
    write32(NKDISK_REG_MAX_SECTORS, 1);
    write32(NKDISK_REG_STATUS, NKDISK_STATUS_READY);
    EXPECT_EQ(read32(NKDISK_REG_MAGIC), NKDISK_MAGIC);
    EXPECT_EQ(read32(NKDISK_REG_VERSION), NKDISK_VERSION);
    EXPECT_EQ(read64(NKDISK_REG_CAPACITY), capacity);
    EXPECT_EQ(read32(NKDISK_REG_MAX_SECTORS), max_sectors);
    EXPECT_EQ(status(), 0u);
    EXPECT_EQ(m_sink.total(), 0u);
}

// A capacity beyond 2^32 sectors reads correctly as a whole and as two halves.
TEST(DiskControllerCreate, Registers_CapacityHalvesOnLargeImage)
{
    TempDir dir("nooks-disk");
    uint64_t const size = 3ull << 40; // sparse: 0x1'8000'0000 sectors
    auto image = DiskImage::open(dir.file("big.img"), size);
    if (!image)
        GTEST_SKIP() << "cannot create a sparse 3 TiB image here: " << image.error().message();
    auto controller = DiskController::create(std::move(*image), {}).value();
    EXPECT_EQ(controller->read_register(0, NKDISK_REG_CAPACITY, 8), size / 512);
    EXPECT_EQ(controller->read_register(0, NKDISK_REG_CAPACITY, 4), 0x8000'0000u);
    EXPECT_EQ(controller->read_register(0, NKDISK_REG_CAPACITY + 4, 4), 0x1u);
}

// Geometry the controller cannot represent is refused at creation.
TEST(DiskControllerCreate, Create_RejectsBadGeometry)
{
    TempDir dir("nooks-disk");
    auto open = [&] { return DiskImage::open(dir.file("disk.img"), 1 << 20).value(); };
    EXPECT_FALSE(DiskController::create(nullptr, {}).has_value());
    EXPECT_FALSE(DiskController::create(open(), { .max_sectors = 0 }).has_value());
    EXPECT_FALSE(DiskController::create(open(), { .max_queue = 1 }).has_value());
    EXPECT_FALSE(DiskController::create(open(), { .max_queue = 48 }).has_value());
    EXPECT_TRUE(DiskController::create(open(), { .max_queue = 2 }).has_value());
}

// RESET, program the rings, ENABLE: the controller reports READY and the programmed values.
TEST_F(DiskControllerTest, BringUp_Ready)
{
    EXPECT_EQ(status(), 0u);
    make_rings(16);
    program(16);
    EXPECT_EQ(status(), 0u);
    EXPECT_EQ(read64(NKDISK_REG_SQ_BASE), m_sq_iova);
    EXPECT_EQ(read64(NKDISK_REG_CQ_BASE), m_cq_iova);
    EXPECT_EQ(read32(NKDISK_REG_QUEUE_SIZE), 16u);
    write32(NKDISK_REG_CTRL, NKDISK_CTRL_ENABLE);
    EXPECT_EQ(status(), NKDISK_STATUS_READY);
    EXPECT_EQ(read32(NKDISK_REG_CTRL), NKDISK_CTRL_ENABLE);
    EXPECT_EQ(read32(NKDISK_REG_SQ_HEAD), 0u);
    EXPECT_EQ(m_sink.total(), 0u);
}

// Ring bases can be programmed and read as 32-bit halves.
TEST_F(DiskControllerTest, BringUp_RingBaseHalves)
{
    make_rings(8);
    write32(NKDISK_REG_CTRL, NKDISK_CTRL_RESET);
    write32(NKDISK_REG_SQ_BASE, static_cast<uint32_t>(m_sq_iova));
    write32(NKDISK_REG_SQ_BASE + 4, static_cast<uint32_t>(m_sq_iova >> 32));
    write32(NKDISK_REG_CQ_BASE + 4, static_cast<uint32_t>(m_cq_iova >> 32));
    write32(NKDISK_REG_CQ_BASE, static_cast<uint32_t>(m_cq_iova));
    EXPECT_EQ(read64(NKDISK_REG_SQ_BASE), m_sq_iova);
    EXPECT_EQ(read64(NKDISK_REG_CQ_BASE), m_cq_iova);
    EXPECT_EQ(read32(NKDISK_REG_SQ_BASE), static_cast<uint32_t>(m_sq_iova));
    EXPECT_EQ(read32(NKDISK_REG_SQ_BASE + 4), static_cast<uint32_t>(m_sq_iova >> 32));
    write32(NKDISK_REG_QUEUE_SIZE, 8);
    write32(NKDISK_REG_CTRL, NKDISK_CTRL_ENABLE);
    EXPECT_EQ(status(), NKDISK_STATUS_READY);
}

// Writes go to the image file; reads bring the file's contents back.
TEST_F(DiskControllerTest, Io_WriteThenReadBack)
{
    bring_up(8);
    auto first = pattern_buffer(4, 1);
    auto second = pattern_buffer(1, 99);
    EXPECT_EQ(run(write_command(1, 10, 4, first.iova)), NKDISK_SC_OK);
    EXPECT_EQ(run(write_command(2, capacity - 1, 1, second.iova)), NKDISK_SC_OK);

    // The file holds exactly what was written, where it was written.
    EXPECT_EQ(image_bytes(10, 4), to_vector(first.buffer->bytes()));
    EXPECT_EQ(image_bytes(capacity - 1, 1), to_vector(second.buffer->bytes()));
    EXPECT_EQ(image_bytes(9, 1), std::vector<std::byte>(512));
    EXPECT_EQ(image_bytes(14, 1), std::vector<std::byte>(512));

    auto back = map_buffer(4 * 512, DmaDirection::FromDevice);
    EXPECT_EQ(run(read_command(3, 10, 4, back.iova)), NKDISK_SC_OK);
    EXPECT_EQ(to_vector(back.buffer->bytes()), to_vector(first.buffer->bytes()));

    // A partial read of the middle.
    auto middle = map_buffer(2 * 512, DmaDirection::Bidirectional);
    EXPECT_EQ(run(read_command(4, 11, 2, middle.iova)), NKDISK_SC_OK);
    EXPECT_EQ(to_vector(middle.buffer->bytes()), image_bytes(11, 2));

    auto stats = m_controller->stats();
    EXPECT_EQ(stats.commands, 4u);
    EXPECT_EQ(stats.writes, 2u);
    EXPECT_EQ(stats.reads, 2u);
    EXPECT_EQ(stats.command_errors, 0u);
}

// Data already in the image file is what the controller reads.
TEST_F(DiskControllerTest, Io_ReadsExistingImageContents)
{
    std::vector<std::byte> content(512);
    for (size_t i = 0; i < content.size(); ++i)
        content[i] = static_cast<std::byte>(255 - i % 256);
    ASSERT_TRUE(m_controller->image().write(7 * 512, content).has_value());
    bring_up(8);
    auto back = map_buffer(512, DmaDirection::FromDevice);
    EXPECT_EQ(run(read_command(1, 7, 1, back.iova)), NKDISK_SC_OK);
    EXPECT_EQ(to_vector(back.buffer->bytes()), content);
}

// The largest command the controller allows (MAX_SECTORS) works.
TEST_F(DiskControllerTest, Io_MaxSectorsTransfer)
{
    bring_up(8);
    auto data = pattern_buffer(max_sectors, 5);
    EXPECT_EQ(run(write_command(1, capacity - max_sectors, max_sectors, data.iova)), NKDISK_SC_OK);
    EXPECT_EQ(image_bytes(capacity - max_sectors, max_sectors), to_vector(data.buffer->bytes()));
}

// Several commands in one doorbell all complete, in order, with their cids and sq_head.
TEST_F(DiskControllerTest, Completion_BatchInOrder)
{
    bring_up(8);
    std::vector<MappedBuffer> buffers;
    for (uint16_t i = 0; i < 5; ++i) {
        buffers.push_back(pattern_buffer(1, static_cast<uint8_t>(i)));
        push(write_command(static_cast<uint16_t>(100 + i), i, 1, buffers.back().iova));
    }
    ring_sq();
    for (uint16_t i = 0; i < 5; ++i) {
        auto cqe = poll();
        ASSERT_TRUE(cqe.has_value()) << "completion " << i;
        EXPECT_EQ(cqe->cid, 100 + i);
        EXPECT_EQ(cqe->status, NKDISK_SC_OK);
        EXPECT_EQ(cqe->sq_head, i + 1);
        EXPECT_EQ(cqe->phase, 1u);
    }
    EXPECT_FALSE(poll().has_value());
    EXPECT_EQ(read32(NKDISK_REG_SQ_HEAD), 5u);
    ring_cq();
    for (uint16_t i = 0; i < 5; ++i)
        EXPECT_EQ(image_bytes(i, 1), to_vector(buffers[i].buffer->bytes()));
}

// The phase tag is 1 on the first pass over the ring and flips on each wrap.
TEST_F(DiskControllerTest, Completion_PhaseFlipsOnWrap)
{
    bring_up(4);
    auto data = pattern_buffer(1, 3);
    std::vector<uint16_t> phases;
    for (uint16_t cid = 0; cid < 10; ++cid) {
        auto slot = m_cq_head;
        EXPECT_EQ(run(write_command(cid, cid, 1, data.iova)), NKDISK_SC_OK);
        phases.push_back(cq_slot(slot).phase);
        EXPECT_EQ(cq_slot(slot).cid, cid);
        EXPECT_EQ(cq_slot(slot).sq_head, (cid + 1) % 4);
    }
    EXPECT_EQ(phases, (std::vector<uint16_t> { 1, 1, 1, 1, 0, 0, 0, 0, 1, 1 }));
}

// Each batch of completions raises the completion vector and sets INT_STATUS.COMPLETION.
TEST_F(DiskControllerTest, Interrupt_CompletionVectorRaised)
{
    bring_up(8);
    auto data = pattern_buffer(1, 1);
    EXPECT_EQ(run(write_command(1, 0, 1, data.iova)), NKDISK_SC_OK);
    EXPECT_EQ(m_sink.count(NKDISK_VECTOR_COMPLETION), 1u);
    EXPECT_EQ(m_sink.count(NKDISK_VECTOR_ERROR), 0u);
    EXPECT_EQ(read32(NKDISK_REG_INT_STATUS), NKDISK_INT_COMPLETION);

    push(write_command(2, 1, 1, data.iova));
    push(write_command(3, 2, 1, data.iova));
    ring_sq();
    EXPECT_GE(m_sink.count(NKDISK_VECTOR_COMPLETION), 2u);
    EXPECT_TRUE(poll().has_value());
    EXPECT_TRUE(poll().has_value());
    ring_cq();
    EXPECT_EQ(m_controller->stats().interrupts, m_sink.total());
}

// INT_STATUS is write-1-to-clear: only the bits written as 1 clear.
TEST_F(DiskControllerTest, Interrupt_StatusWriteOneToClear)
{
    bring_up(8);
    auto data = pattern_buffer(1, 1);
    EXPECT_EQ(run(write_command(1, 0, 1, data.iova)), NKDISK_SC_OK);
    ASSERT_EQ(read32(NKDISK_REG_INT_STATUS), NKDISK_INT_COMPLETION);
    write32(NKDISK_REG_INT_STATUS, 0);
    EXPECT_EQ(read32(NKDISK_REG_INT_STATUS), NKDISK_INT_COMPLETION);
    write32(NKDISK_REG_INT_STATUS, NKDISK_INT_ERROR);
    EXPECT_EQ(read32(NKDISK_REG_INT_STATUS), NKDISK_INT_COMPLETION);
    write32(NKDISK_REG_INT_STATUS, NKDISK_INT_COMPLETION);
    EXPECT_EQ(read32(NKDISK_REG_INT_STATUS), 0u);

    // With both causes pending, clearing one keeps the other.
    EXPECT_EQ(run(write_command(2, 0, 1, data.iova)), NKDISK_SC_OK);
    write32(NKDISK_REG_CQ_HEAD, 99); // fatal: BAD_DOORBELL
    ASSERT_EQ(read32(NKDISK_REG_INT_STATUS), NKDISK_INT_COMPLETION | NKDISK_INT_ERROR);
    write32(NKDISK_REG_INT_STATUS, NKDISK_INT_COMPLETION);
    EXPECT_EQ(read32(NKDISK_REG_INT_STATUS), NKDISK_INT_ERROR);
    write32(NKDISK_REG_INT_STATUS, 0xffff'ffffu);
    EXPECT_EQ(read32(NKDISK_REG_INT_STATUS), 0u);
}

// A masked completion raises no vector; unmasking delivers the pending cause once.
TEST_F(DiskControllerTest, Interrupt_MaskDefersCompletion)
{
    bring_up(8);
    write32(NKDISK_REG_INT_MASK, NKDISK_INT_COMPLETION);
    EXPECT_EQ(read32(NKDISK_REG_INT_MASK), NKDISK_INT_COMPLETION);
    auto data = pattern_buffer(1, 1);
    EXPECT_EQ(run(write_command(1, 0, 1, data.iova)), NKDISK_SC_OK);
    EXPECT_EQ(m_sink.total(), 0u);
    EXPECT_EQ(read32(NKDISK_REG_INT_STATUS), NKDISK_INT_COMPLETION);

    write32(NKDISK_REG_INT_MASK, 0);
    EXPECT_EQ(m_sink.count(NKDISK_VECTOR_COMPLETION), 1u);
    EXPECT_EQ(m_sink.total(), 1u);
    // Unmasking again with the cause still pending but not masked delivers nothing new.
    write32(NKDISK_REG_INT_MASK, 0);
    EXPECT_EQ(m_sink.total(), 1u);
}

// Unmasking a cause that was cleared in the meantime delivers nothing.
TEST_F(DiskControllerTest, Interrupt_UnmaskAfterClearDeliversNothing)
{
    bring_up(8);
    write32(NKDISK_REG_INT_MASK, NKDISK_INT_COMPLETION | NKDISK_INT_ERROR);
    EXPECT_EQ(read32(NKDISK_REG_INT_MASK), NKDISK_INT_COMPLETION | NKDISK_INT_ERROR);
    auto data = pattern_buffer(1, 1);
    EXPECT_EQ(run(write_command(1, 0, 1, data.iova)), NKDISK_SC_OK);
    write32(NKDISK_REG_INT_STATUS, NKDISK_INT_COMPLETION);
    write32(NKDISK_REG_INT_MASK, 0);
    EXPECT_EQ(m_sink.total(), 0u);
    // Undefined mask bits do not stick.
    write32(NKDISK_REG_INT_MASK, 0xffff'ffffu);
    EXPECT_EQ(read32(NKDISK_REG_INT_MASK), NKDISK_INT_COMPLETION | NKDISK_INT_ERROR);
}

// A masked fatal error raises no vector; unmasking delivers it.
TEST_F(DiskControllerTest, Interrupt_MaskDefersError)
{
    bring_up(8);
    write32(NKDISK_REG_INT_MASK, NKDISK_INT_ERROR);
    write32(NKDISK_REG_SQ_TAIL, 8); // fatal: RING_OVERFLOW
    EXPECT_NE(status() & NKDISK_STATUS_FATAL, 0u);
    EXPECT_EQ(NKDISK_STATUS_FATAL_CODE(status()), uint32_t(NKDISK_FATAL_RING_OVERFLOW));
    EXPECT_EQ(read32(NKDISK_REG_INT_STATUS), NKDISK_INT_ERROR);
    EXPECT_EQ(m_sink.total(), 0u);

    write32(NKDISK_REG_INT_MASK, 0);
    EXPECT_EQ(m_sink.count(NKDISK_VECTOR_ERROR), 1u);
    EXPECT_EQ(m_sink.total(), 1u);
    expect_recovers();
}

// FLUSH completes successfully, and a FUA write lands in the image.
TEST_F(DiskControllerTest, Io_FlushAndFua)
{
    bring_up(8);
    nkdisk_sqe flush {};
    flush.opcode = NKDISK_OP_FLUSH;
    flush.cid = 77;
    EXPECT_EQ(run(flush), NKDISK_SC_OK);

    auto data = pattern_buffer(2, 17);
    auto fua = write_command(78, 20, 2, data.iova);
    fua.flags = NKDISK_SQE_FUA;
    EXPECT_EQ(run(fua), NKDISK_SC_OK);
    EXPECT_EQ(image_bytes(20, 2), to_vector(data.buffer->bytes()));

    // FUA on a read is allowed too.
    auto back = map_buffer(1024, DmaDirection::FromDevice);
    auto read = read_command(79, 20, 2, back.iova);
    read.flags = NKDISK_SQE_FUA;
    EXPECT_EQ(run(read), NKDISK_SC_OK);
    EXPECT_EQ(to_vector(back.buffer->bytes()), to_vector(data.buffer->bytes()));

    auto stats = m_controller->stats();
    EXPECT_EQ(stats.flushes, 1u);
    EXPECT_EQ(stats.writes, 1u);
    EXPECT_EQ(stats.last_command_status, NKDISK_SC_OK);
}

// CONFIG.WCE can be turned off and on; writes work either way; other bits read as zero.
TEST_F(DiskControllerTest, Config_WriteCacheToggle)
{
    bring_up(8);
    auto data = pattern_buffer(1, 9);
    write32(NKDISK_REG_CONFIG, 0);
    EXPECT_EQ(read32(NKDISK_REG_CONFIG), 0u);
    EXPECT_EQ(run(write_command(1, 30, 1, data.iova)), NKDISK_SC_OK);
    write32(NKDISK_REG_CONFIG, NKDISK_CONFIG_WCE);
    EXPECT_EQ(read32(NKDISK_REG_CONFIG), NKDISK_CONFIG_WCE);
    EXPECT_EQ(run(write_command(2, 31, 1, data.iova)), NKDISK_SC_OK);
    write32(NKDISK_REG_CONFIG, 0xffff'fff0u);
    EXPECT_EQ(read32(NKDISK_REG_CONFIG), 0u);
    write32(NKDISK_REG_CONFIG, 0xffff'ffffu);
    EXPECT_EQ(read32(NKDISK_REG_CONFIG), NKDISK_CONFIG_WCE);
    EXPECT_EQ(image_bytes(30, 1), to_vector(data.buffer->bytes()));
    EXPECT_EQ(image_bytes(31, 1), to_vector(data.buffer->bytes()));
}

// With the CQ full the device stops fetching; returning CQ slots lets it continue.
TEST_F(DiskControllerTest, Completion_BackPressureWhenCqFull)
{
    bring_up(4); // at most 3 completions outstanding
    auto data = pattern_buffer(1, 1);
    for (uint16_t cid = 1; cid <= 3; ++cid)
        push(write_command(cid, cid, 1, data.iova));
    ring_sq();
    EXPECT_EQ(read32(NKDISK_REG_SQ_HEAD), 3u);
    auto interrupts = m_sink.count(NKDISK_VECTOR_COMPLETION);

    // Two more commands while no CQ slot is free: nothing is fetched.
    push(write_command(4, 4, 1, data.iova));
    push(write_command(5, 5, 1, data.iova));
    ring_sq();
    EXPECT_EQ(read32(NKDISK_REG_SQ_HEAD), 3u);
    EXPECT_EQ(cq_slot(3).phase, 0u);
    EXPECT_EQ(status(), NKDISK_STATUS_READY);
    EXPECT_EQ(m_controller->stats().commands, 3u);

    for (uint16_t cid = 1; cid <= 3; ++cid) {
        auto cqe = poll();
        ASSERT_TRUE(cqe.has_value());
        EXPECT_EQ(cqe->cid, cid);
    }
    EXPECT_FALSE(poll().has_value());
    ring_cq(); // returns the three slots: the engine resumes
    EXPECT_EQ(read32(NKDISK_REG_SQ_HEAD), 1u);
    EXPECT_GT(m_sink.count(NKDISK_VECTOR_COMPLETION), interrupts);
    auto fourth = poll();
    ASSERT_TRUE(fourth.has_value());
    EXPECT_EQ(fourth->cid, 4u);
    EXPECT_EQ(fourth->phase, 1u);
    auto fifth = poll();
    ASSERT_TRUE(fifth.has_value());
    EXPECT_EQ(fifth->cid, 5u);
    EXPECT_EQ(fifth->phase, 0u); // second pass over the ring
    EXPECT_EQ(fifth->status, NKDISK_SC_OK);
    ring_cq();
    EXPECT_EQ(status(), NKDISK_STATUS_READY);
    EXPECT_EQ(m_controller->stats().commands, 5u);
}

// Returning only some CQ slots lets the device post only that many more.
TEST_F(DiskControllerTest, Completion_PartialCqHeadReturn)
{
    bring_up(4);
    auto data = pattern_buffer(1, 1);
    for (uint16_t cid = 1; cid <= 3; ++cid)
        push(write_command(cid, cid, 1, data.iova));
    ring_sq();
    push(write_command(4, 4, 1, data.iova));
    push(write_command(5, 5, 1, data.iova));
    ring_sq();
    ASSERT_TRUE(poll().has_value());
    ring_cq(); // one slot back
    EXPECT_EQ(read32(NKDISK_REG_SQ_HEAD), 0u);
    EXPECT_EQ(m_controller->stats().commands, 4u);
    ASSERT_TRUE(poll().has_value());
    ring_cq(); // another: the last command completes
    EXPECT_EQ(read32(NKDISK_REG_SQ_HEAD), 1u);
    EXPECT_EQ(m_controller->stats().commands, 5u);
}

// RESET returns registers to their reset values and stops the controller.
TEST_F(DiskControllerTest, Reset_ClearsState)
{
    bring_up(8);
    auto data = pattern_buffer(1, 1);
    EXPECT_EQ(run(write_command(1, 0, 1, data.iova)), NKDISK_SC_OK);
    write32(NKDISK_REG_INT_MASK, NKDISK_INT_ERROR);
    write32(NKDISK_REG_CTRL, NKDISK_CTRL_RESET);
    EXPECT_EQ(status(), 0u);
    EXPECT_EQ(read32(NKDISK_REG_CTRL), 0u);
    EXPECT_EQ(read64(NKDISK_REG_SQ_BASE), 0u);
    EXPECT_EQ(read64(NKDISK_REG_CQ_BASE), 0u);
    EXPECT_EQ(read32(NKDISK_REG_QUEUE_SIZE), 0u);
    EXPECT_EQ(read32(NKDISK_REG_SQ_HEAD), 0u);
    EXPECT_EQ(read32(NKDISK_REG_INT_STATUS), 0u);
    EXPECT_EQ(read32(NKDISK_REG_INT_MASK), 0u);
    // Reset is not power-on: the controller can be enabled right away.
    program(8);
    write32(NKDISK_REG_CTRL, NKDISK_CTRL_ENABLE);
    EXPECT_EQ(status(), NKDISK_STATUS_READY);
}

// hard_reset returns to the power-on state, which needs a RESET before use.
TEST_F(DiskControllerTest, HardReset_ReturnsToPowerOn)
{
    bring_up(8);
    auto data = pattern_buffer(1, 1);
    EXPECT_EQ(run(write_command(1, 0, 1, data.iova)), NKDISK_SC_OK);
    write32(NKDISK_REG_INT_MASK, NKDISK_INT_COMPLETION);
    m_controller->hard_reset();
    EXPECT_EQ(status(), 0u);
    EXPECT_EQ(read32(NKDISK_REG_CTRL), 0u);
    EXPECT_EQ(read64(NKDISK_REG_SQ_BASE), 0u);
    EXPECT_EQ(read64(NKDISK_REG_CQ_BASE), 0u);
    EXPECT_EQ(read32(NKDISK_REG_QUEUE_SIZE), 0u);
    EXPECT_EQ(read32(NKDISK_REG_INT_STATUS), 0u);
    EXPECT_EQ(read32(NKDISK_REG_INT_MASK), 0u);
    EXPECT_EQ(read32(NKDISK_REG_SQ_HEAD), 0u);

    // Programming and enabling without a RESET is the power-on misuse.
    m_sink.clear();
    write64(NKDISK_REG_SQ_BASE, m_sq_iova);
    write64(NKDISK_REG_CQ_BASE, m_cq_iova);
    write32(NKDISK_REG_QUEUE_SIZE, 8);
    write32(NKDISK_REG_CTRL, NKDISK_CTRL_ENABLE);
    expect_fatal(NKDISK_FATAL_NOT_RESET);
    expect_recovers();
}

// hard_reset also clears a fatal error.
TEST_F(DiskControllerTest, HardReset_ClearsFatal)
{
    bring_up(8);
    write32(NKDISK_REG_SQ_TAIL, 100);
    ASSERT_NE(status() & NKDISK_STATUS_FATAL, 0u);
    m_controller->hard_reset();
    EXPECT_EQ(status(), 0u);
    EXPECT_EQ(read32(NKDISK_REG_INT_STATUS), 0u);
    expect_recovers();
}

// Disabling the controller (CTRL.ENABLE = 0) clears READY; enabling again resumes.
TEST_F(DiskControllerTest, Ctrl_DisableAndReenable)
{
    bring_up(8);
    write32(NKDISK_REG_CTRL, 0);
    EXPECT_EQ(status(), 0u);
    EXPECT_EQ(read32(NKDISK_REG_CTRL), 0u);
    write32(NKDISK_REG_CTRL, NKDISK_CTRL_ENABLE);
    EXPECT_EQ(status(), NKDISK_STATUS_READY);
    auto data = pattern_buffer(1, 1);
    EXPECT_EQ(run(write_command(1, 0, 1, data.iova)), NKDISK_SC_OK);
}

} // namespace
} // namespace nk::test
