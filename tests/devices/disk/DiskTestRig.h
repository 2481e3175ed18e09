// SPDX-License-Identifier: MIT
#pragma once

// A NKDISK controller on a temporary image, driven register by register the way
// a driver would: rings in page-aligned memory mapped into the device's IOMMU,
// interrupts recorded instead of delivered. The test thread is outside every
// crossing, so each doorbell runs the engine before the register write returns.

#include "devices/DeviceTestSupport.h"
#include "devices/disk/DiskController.h"
#include "devices/disk/DiskImage.h"
#include "kernel/dma/Iommu.h"
#include "support/TestSupport.h"

#include <hw/nkdisk.h>

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

namespace nk::test {

class DiskControllerFixture : public ::testing::Test {
protected:
    static constexpr uint64_t disk_size = 1ull << 20; // 2048 sectors
    static constexpr uint64_t capacity = disk_size / 512;
    static constexpr uint32_t max_sectors = 64;
    static constexpr uint32_t max_queue = 64;

    void SetUp() override
    {
        auto image = DiskImage::open(m_dir.file("disk.img"), disk_size);
        ASSERT_TRUE(image.has_value()) << image.error().message();
        auto controller = DiskController::create(std::move(*image),
            { .name = "disk0", .max_sectors = max_sectors, .max_queue = max_queue });
        ASSERT_TRUE(controller.has_value()) << controller.error().message();
        m_controller = std::move(*controller);
        m_controller->connect(m_sink, m_iommu);
    }

    // --- Registers ---------------------------------------------------------

    uint32_t read32(uint32_t offset) { return static_cast<uint32_t>(m_controller->read_register(0, offset, 4)); }
    uint64_t read64(uint32_t offset) { return m_controller->read_register(0, offset, 8); }
    void write32(uint32_t offset, uint32_t value) { m_controller->write_register(0, offset, 4, value); }
    void write64(uint32_t offset, uint64_t value) { m_controller->write_register(0, offset, 8, value); }
    uint32_t status() { return read32(NKDISK_REG_STATUS); }
    bool ready() { return (status() & NKDISK_STATUS_READY) != 0; }

    // --- Rings -------------------------------------------------------------

    // Allocates and maps fresh rings of `entries` entries (unmapping old ones).
    void make_rings(uint32_t entries)
    {
        unmap_sq();
        unmap_cq();
        m_entries = entries;
        m_sq = std::make_unique<DmaBuffer>(size_t(entries) * sizeof(nkdisk_sqe));
        m_cq = std::make_unique<DmaBuffer>(size_t(entries) * sizeof(nkdisk_cqe));
        m_sq_iova = m_iommu.map(m_sq->data(), m_sq->size(), DmaDirection::ToDevice).value();
        m_cq_iova = m_iommu.map(m_cq->data(), m_cq->size(), DmaDirection::FromDevice).value();
        m_sq_mapped = m_cq_mapped = true;
        m_sq_tail = 0;
        m_cq_head = 0;
        m_phase = 1;
    }

    // Takes a ring away from the device (the memory stays valid for the CPU).
    void unmap_sq()
    {
        if (m_sq_mapped) {
            EXPECT_TRUE(m_iommu.unmap(m_sq_iova).has_value());
        }
        m_sq_mapped = false;
    }
    void unmap_cq()
    {
        if (m_cq_mapped) {
            EXPECT_TRUE(m_iommu.unmap(m_cq_iova).has_value());
        }
        m_cq_mapped = false;
    }

    // Resets the controller and programs the current rings, without enabling.
    void program(uint32_t queue_size)
    {
        write32(NKDISK_REG_CTRL, NKDISK_CTRL_RESET);
        write64(NKDISK_REG_SQ_BASE, m_sq_iova);
        write64(NKDISK_REG_CQ_BASE, m_cq_iova);
        write32(NKDISK_REG_QUEUE_SIZE, queue_size);
    }

    // The whole bring-up sequence on fresh rings; the controller must come up ready.
    void bring_up(uint32_t entries = 8)
    {
        make_rings(entries);
        program(entries);
        write32(NKDISK_REG_CTRL, NKDISK_CTRL_ENABLE);
        ASSERT_EQ(status(), NKDISK_STATUS_READY) << "fatal code " << NKDISK_STATUS_FATAL_CODE(status());
        m_sink.clear();
    }

    // Writes `sqe` into the next SQ slot without ringing the doorbell.
    void push(nkdisk_sqe const& sqe)
    {
        std::memcpy(m_sq->data() + size_t(m_sq_tail) * sizeof(nkdisk_sqe), &sqe, sizeof(sqe));
        m_sq_tail = (m_sq_tail + 1) % m_entries;
    }
    void ring_sq() { write32(NKDISK_REG_SQ_TAIL, m_sq_tail); }
    void ring_cq() { write32(NKDISK_REG_CQ_HEAD, m_cq_head); }

    nkdisk_cqe cq_slot(uint32_t slot) const
    {
        nkdisk_cqe cqe {};
        std::memcpy(&cqe, m_cq->data() + size_t(slot) * sizeof(nkdisk_cqe), sizeof(cqe));
        return cqe;
    }

    // The next completion, if the device posted one (found by its phase, like a driver).
    std::optional<nkdisk_cqe> poll()
    {
        auto cqe = cq_slot(m_cq_head);
        if ((cqe.phase & 1u) != m_phase)
            return std::nullopt;
        m_cq_head = (m_cq_head + 1) % m_entries;
        if (m_cq_head == 0)
            m_phase ^= 1u;
        return cqe;
    }

    // Submits one command, takes its completion and returns the CQ slot to the
    // device. Returns the completion status, or 0xffff if none was posted.
    uint16_t run(nkdisk_sqe const& sqe)
    {
        push(sqe);
        ring_sq();
        auto cqe = poll();
        if (!cqe) {
            ADD_FAILURE() << "no completion for cid " << sqe.cid;
            return 0xffff;
        }
        EXPECT_EQ(cqe->cid, sqe.cid);
        ring_cq();
        return cqe->status;
    }

    // --- Commands and data -------------------------------------------------

    static nkdisk_sqe command(uint8_t opcode, uint16_t cid, uint64_t sector, uint32_t nr_sectors, uint64_t data_addr)
    {
        nkdisk_sqe sqe {};
        sqe.opcode = opcode;
        sqe.cid = cid;
        sqe.sector = sector;
        sqe.nr_sectors = nr_sectors;
        sqe.data_addr = data_addr;
        return sqe;
    }
    static nkdisk_sqe read_command(uint16_t cid, uint64_t sector, uint32_t nr_sectors, uint64_t data_addr)
    {
        return command(NKDISK_OP_READ, cid, sector, nr_sectors, data_addr);
    }
    static nkdisk_sqe write_command(uint16_t cid, uint64_t sector, uint32_t nr_sectors, uint64_t data_addr)
    {
        return command(NKDISK_OP_WRITE, cid, sector, nr_sectors, data_addr);
    }

    MappedBuffer map_buffer(size_t bytes, DmaDirection direction)
    {
        MappedBuffer mapped;
        mapped.buffer = std::make_unique<DmaBuffer>(bytes);
        mapped.iova = m_iommu.map(mapped.buffer->data(), bytes, direction).value();
        return mapped;
    }

    // A device-readable buffer of `sectors` sectors filled with a pattern derived from `seed`.
    MappedBuffer pattern_buffer(uint32_t sectors, uint8_t seed, DmaDirection direction = DmaDirection::ToDevice)
    {
        auto mapped = map_buffer(size_t(sectors) * 512, direction);
        for (size_t i = 0; i < mapped.buffer->size(); ++i)
            mapped.buffer->data()[i] = static_cast<std::byte>((i * 7 + seed) & 0xff);
        return mapped;
    }

    // The image file's bytes, read independently of the controller.
    std::vector<std::byte> image_bytes(uint64_t sector, uint32_t sectors)
    {
        std::vector<std::byte> bytes(size_t(sectors) * 512);
        std::FILE* file = std::fopen(m_dir.file("disk.img").c_str(), "rb");
        EXPECT_NE(file, nullptr);
        if (file == nullptr)
            return bytes;
        std::fseek(file, static_cast<long>(sector * 512), SEEK_SET);
        EXPECT_EQ(std::fread(bytes.data(), 1, bytes.size(), file), bytes.size());
        std::fclose(file);
        return bytes;
    }

    static std::vector<std::byte> to_vector(std::span<std::byte const> bytes) { return { bytes.begin(), bytes.end() }; }

    // --- Fatal errors --------------------------------------------------------

    // The controller is stopped with `code`, flagged in INT_STATUS, and vector 1 fired.
    void expect_fatal(uint8_t code)
    {
        auto value = status();
        EXPECT_NE(value & NKDISK_STATUS_FATAL, 0u) << "status " << value;
        EXPECT_EQ(value & NKDISK_STATUS_READY, 0u) << "status " << value;
        EXPECT_EQ(NKDISK_STATUS_FATAL_CODE(value), code);
        EXPECT_NE(read32(NKDISK_REG_INT_STATUS) & NKDISK_INT_ERROR, 0u);
        EXPECT_GE(m_sink.count(NKDISK_VECTOR_ERROR), 1u);
        EXPECT_EQ(m_controller->stats().last_fatal_code, code);
    }

    // A reset and a fresh bring-up make the controller usable again.
    void expect_recovers()
    {
        bring_up(8);
        EXPECT_EQ(status(), NKDISK_STATUS_READY);
        auto data = pattern_buffer(2, 0x42);
        EXPECT_EQ(run(write_command(900, 100, 2, data.iova)), NKDISK_SC_OK);
        auto back = map_buffer(1024, DmaDirection::FromDevice);
        EXPECT_EQ(run(read_command(901, 100, 2, back.iova)), NKDISK_SC_OK);
        EXPECT_EQ(to_vector(back.buffer->bytes()), to_vector(data.buffer->bytes()));
    }

    TempDir m_dir { "nooks-disk" };
    RecordingSink m_sink;
    Iommu m_iommu;
    std::unique_ptr<DiskController> m_controller;

    std::unique_ptr<DmaBuffer> m_sq;
    std::unique_ptr<DmaBuffer> m_cq;
    uint64_t m_sq_iova { 0 };
    uint64_t m_cq_iova { 0 };
    bool m_sq_mapped { false };
    bool m_cq_mapped { false };
    uint32_t m_entries { 0 };
    uint32_t m_sq_tail { 0 };
    uint32_t m_cq_head { 0 };
    uint16_t m_phase { 1 };
};

} // namespace nk::test
