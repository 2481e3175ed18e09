// SPDX-License-Identifier: MIT
#include "devices/disk/DiskController.h"

#include "kernel/exec/Context.h"

#include <hw/nkdisk.h>

#include <bit>
#include <cstring>

namespace nk {

static_assert(sizeof(nkdisk_sqe) == 32);
static_assert(sizeof(nkdisk_cqe) == 16);

struct DiskController::Command {
    nkdisk_sqe sqe;
};

Result<std::unique_ptr<DiskController>> DiskController::create(std::unique_ptr<DiskImage> image, Options options)
{
    if (!image)
        return make_error(ErrorCode::InvalidArgument, "disk controller: no image");
    // Ring indexes travel in 16-bit CQ fields: at most 32768 entries.
    if (options.max_sectors == 0 || options.max_queue < 2 || options.max_queue > 32768 || !std::has_single_bit(options.max_queue))
        return make_error(ErrorCode::InvalidArgument, "disk controller {}: bad geometry", options.name);
    return std::unique_ptr<DiskController>(new DiskController(std::move(image), std::move(options)));
}

DiskController::DiskController(std::unique_ptr<DiskImage> image, Options options)
    : m_image(std::move(image))
    , m_options(std::move(options))
    , m_capacity_sectors(m_image->size() / 512)
{
    MutexLocker lock(m_mutex);
    reset_locked(true);
}

DiskController::~DiskController() = default;

uint16_t DiskController::vendor_id() const { return NKDISK_VENDOR_ID; }
uint16_t DiskController::device_id() const { return NKDISK_DEVICE_ID; }
uint32_t DiskController::window_size(uint32_t) const { return NKDISK_WINDOW_SIZE; }
uint32_t DiskController::vector_count() const { return NKDISK_NR_VECTORS; }

DiskController::Stats DiskController::stats() const
{
    MutexLocker lock(m_mutex);
    return m_stats;
}

void DiskController::inject_media_error(uint64_t sector, uint64_t count)
{
    MutexLocker lock(m_mutex);
    m_media_errors.emplace_back(sector, count);
}

void DiskController::clear_media_errors()
{
    MutexLocker lock(m_mutex);
    m_media_errors.clear();
}

// --- Registers -------------------------------------------------------------

uint64_t DiskController::read_register(uint32_t, uint32_t offset, unsigned width)
{
    MutexLocker lock(m_mutex);
    uint64_t status = (m_enabled && m_fatal == 0 ? NKDISK_STATUS_READY : 0u)
        | (m_fatal != 0 ? NKDISK_STATUS_FATAL | (uint32_t(m_fatal) << 8) : 0u);
    uint64_t value = 0;
    // 64-bit registers can also be read as two 32-bit halves.
    auto const base = width == 4 && (offset == NKDISK_REG_CAPACITY + 4 || offset == NKDISK_REG_SQ_BASE + 4
                                        || offset == NKDISK_REG_CQ_BASE + 4)
        ? offset - 4
        : offset;
    switch (base) {
    case NKDISK_REG_MAGIC: value = NKDISK_MAGIC; break;
    case NKDISK_REG_VERSION: value = NKDISK_VERSION; break;
    case NKDISK_REG_CAPACITY: value = m_capacity_sectors; break;
    case NKDISK_REG_MAX_SECTORS: value = m_options.max_sectors; break;
    case NKDISK_REG_MAX_QUEUE: value = m_options.max_queue; break;
    case NKDISK_REG_CONFIG: value = m_config; break;
    case NKDISK_REG_CTRL: value = m_enabled ? NKDISK_CTRL_ENABLE : 0u; break;
    case NKDISK_REG_STATUS: value = status; break;
    case NKDISK_REG_SQ_BASE: value = m_sq_base; break;
    case NKDISK_REG_CQ_BASE: value = m_cq_base; break;
    case NKDISK_REG_QUEUE_SIZE: value = m_queue_size; break;
    case NKDISK_REG_INT_STATUS: value = m_int_status; break;
    case NKDISK_REG_INT_MASK: value = m_int_mask; break;
    case NKDISK_REG_SQ_HEAD: value = m_sq_head; break;
    default: value = 0; break; // write-only and unassigned registers read as zero
    }
    if (base != offset)
        value >>= 32;
    return width == 4 ? value & 0xffff'ffffu : value;
}

void DiskController::write_register(uint32_t, uint32_t offset, unsigned width, uint64_t value)
{
    bool raise_error = false;
    bool raise_completion = false;
    bool start_engine = false;
    if (offset == NKDISK_REG_CTRL && (value & NKDISK_CTRL_RESET) != 0) {
        // Wait for the command being executed, then forget everything.
        MutexLocker engine(m_engine_mutex);
        MutexLocker lock(m_mutex);
        reset_locked(false);
        return;
    }
    {
        MutexLocker lock(m_mutex);
        auto set_half = [&](uint64_t& reg) {
            if (width == 8)
                reg = value;
            else if (offset % 8 == 0)
                reg = (reg & ~0xffff'ffffull) | (value & 0xffff'ffffu);
            else
                reg = (reg & 0xffff'ffffull) | (value << 32);
        };
        auto const base = (offset == NKDISK_REG_SQ_BASE + 4 || offset == NKDISK_REG_CQ_BASE + 4) ? offset - 4 : offset;
        switch (base) {
        case NKDISK_REG_CONFIG:
            m_config = static_cast<uint32_t>(value) & NKDISK_CONFIG_WCE;
            break;
        case NKDISK_REG_CTRL:
            if ((value & NKDISK_CTRL_ENABLE) != 0 && !m_enabled && m_fatal == 0) {
                enable_locked();
                raise_error = m_fatal != 0;
            } else if ((value & NKDISK_CTRL_ENABLE) == 0) {
                m_enabled = false;
            }
            break;
        case NKDISK_REG_SQ_BASE:
            if (!m_enabled)
                set_half(m_sq_base);
            break;
        case NKDISK_REG_CQ_BASE:
            if (!m_enabled)
                set_half(m_cq_base);
            break;
        case NKDISK_REG_QUEUE_SIZE:
            if (!m_enabled)
                m_queue_size = static_cast<uint32_t>(value);
            break;
        case NKDISK_REG_SQ_TAIL:
            start_engine = write_sq_tail_locked(static_cast<uint32_t>(value));
            raise_error = m_fatal != 0 && !start_engine;
            break;
        case NKDISK_REG_CQ_HEAD:
            start_engine = write_cq_head_locked(static_cast<uint32_t>(value));
            raise_error = m_fatal != 0 && !start_engine;
            break;
        case NKDISK_REG_INT_STATUS:
            m_int_status &= ~static_cast<uint32_t>(value);
            break;
        case NKDISK_REG_INT_MASK: {
            auto unmasked = m_int_mask & ~static_cast<uint32_t>(value);
            m_int_mask = static_cast<uint32_t>(value) & (NKDISK_INT_COMPLETION | NKDISK_INT_ERROR);
            // Unmasking a cause that is pending delivers it now.
            raise_completion = (unmasked & m_int_status & NKDISK_INT_COMPLETION) != 0;
            raise_error = (unmasked & m_int_status & NKDISK_INT_ERROR) != 0;
            break;
        }
        default:
            break; // writes to read-only or unassigned registers are ignored, as on real hardware
        }
        if (raise_error && (m_int_mask & NKDISK_INT_ERROR) != 0)
            raise_error = false;
        if (raise_error || raise_completion)
            m_stats.interrupts++;
    }
    if (raise_error)
        raise_interrupt(NKDISK_VECTOR_ERROR);
    if (raise_completion)
        raise_interrupt(NKDISK_VECTOR_COMPLETION);
    if (start_engine)
        kick();
}

void DiskController::hard_reset()
{
    MutexLocker engine(m_engine_mutex);
    MutexLocker lock(m_mutex);
    reset_locked(true);
}

void DiskController::reset_locked(bool power_on)
{
    m_was_reset = !power_on;
    m_enabled = false;
    m_fatal = 0;
    m_config = NKDISK_CONFIG_WCE;
    m_sq_base = m_cq_base = 0;
    m_queue_size = 0;
    m_sq_tail = m_sq_head = m_cq_tail = m_cq_head = 0;
    m_phase = 1;
    m_int_status = 0;
    m_int_mask = 0;
    ++m_generation;
}

void DiskController::enable_locked()
{
    if (!m_was_reset) {
        fail_locked(NKDISK_FATAL_NOT_RESET);
        return;
    }
    if (m_queue_size < 2 || m_queue_size > m_options.max_queue || !std::has_single_bit(m_queue_size)) {
        fail_locked(NKDISK_FATAL_BAD_QUEUE_SIZE);
        return;
    }
    // The rings must be whole DMA memory the device may read (SQ) and write (CQ).
    bool rings_ok = m_sq_base % 64 == 0 && m_cq_base % 64 == 0
        && iommu().pin(m_sq_base, size_t(m_queue_size) * sizeof(nkdisk_sqe), DmaDirection::ToDevice).has_value()
        && iommu().pin(m_cq_base, size_t(m_queue_size) * sizeof(nkdisk_cqe), DmaDirection::FromDevice).has_value();
    if (!rings_ok) {
        fail_locked(NKDISK_FATAL_BAD_RING);
        return;
    }
    m_enabled = true;
}

bool DiskController::fail_locked(uint8_t code)
{
    // The first cause is what the driver needs to see; later misuse does not hide it.
    if (m_fatal == 0)
        m_fatal = code;
    m_enabled = false;
    m_int_status |= NKDISK_INT_ERROR;
    m_stats.fatal_errors++;
    m_stats.last_fatal_code = code;
    return (m_int_mask & NKDISK_INT_ERROR) == 0;
}

bool DiskController::write_sq_tail_locked(uint32_t value)
{
    if (!m_enabled || m_fatal != 0) {
        fail_locked(m_was_reset ? NKDISK_FATAL_NOT_READY : NKDISK_FATAL_NOT_RESET);
        return false;
    }
    auto const mask = m_queue_size - 1;
    if (value >= m_queue_size) {
        fail_locked(NKDISK_FATAL_RING_OVERFLOW);
        return false;
    }
    // A ring holds at most size-1 unfetched entries; more means the driver overwrote
    // entries the device has not read yet.
    auto const pending = (m_sq_tail - m_sq_head) & mask;
    auto const added = (value - m_sq_tail) & mask;
    if (pending + added > mask) {
        fail_locked(NKDISK_FATAL_RING_OVERFLOW);
        return false;
    }
    m_sq_tail = value;
    return added != 0;
}

bool DiskController::write_cq_head_locked(uint32_t value)
{
    if (!m_enabled || m_fatal != 0) {
        fail_locked(m_was_reset ? NKDISK_FATAL_NOT_READY : NKDISK_FATAL_NOT_RESET);
        return false;
    }
    auto const mask = m_queue_size - 1;
    // The driver may only return slots the device has filled.
    if (value >= m_queue_size || ((value - m_cq_head) & mask) > ((m_cq_tail - m_cq_head) & mask)) {
        fail_locked(NKDISK_FATAL_BAD_DOORBELL);
        return false;
    }
    m_cq_head = value;
    // Returned slots may let a stalled engine continue.
    return m_sq_head != m_sq_tail;
}

// --- Engine ----------------------------------------------------------------

void DiskController::kick() { raise_softirq(&DiskController::engine_softirq, this); }

void DiskController::engine_softirq(void* self) { static_cast<DiskController*>(self)->run_engine(); }

void DiskController::run_engine()
{
    m_engine_requested.store(true, std::memory_order_release);
    while (m_engine_requested.load(std::memory_order_acquire)) {
        if (!m_engine_mutex.try_lock())
            return; // The running engine re-checks the request after it unlocks.
        MutexLocker engine(m_engine_mutex, std::adopt_lock);
        m_engine_requested.store(false, std::memory_order_release);
        bool posted = run_engine_pass();
        engine.unlock();

        bool raise = false;
        if (posted) {
            MutexLocker lock(m_mutex);
            m_int_status |= NKDISK_INT_COMPLETION;
            raise = (m_int_mask & NKDISK_INT_COMPLETION) == 0;
            if (raise)
                m_stats.interrupts++;
        }
        if (raise)
            raise_interrupt(NKDISK_VECTOR_COMPLETION);
    }
}

// Executes every submitted command that has a completion slot. Returns true if
// it posted completions. Called with m_engine_mutex held.
bool DiskController::run_engine_pass()
{
    bool posted = false;
    bool raise_error = false;
    for (;;) {
        Command command {};
        uint64_t generation = 0;
        {
            MutexLocker lock(m_mutex);
            auto const mask = m_queue_size - 1;
            if (!m_enabled || m_fatal != 0 || m_sq_head == m_sq_tail)
                break;
            if (((m_cq_tail + 1) & mask) == m_cq_head)
                break; // completion ring full: wait for the CQ_HEAD doorbell
            auto entry = iommu().pin(m_sq_base + uint64_t(m_sq_head) * sizeof(nkdisk_sqe), sizeof(nkdisk_sqe),
                DmaDirection::ToDevice);
            if (!entry) {
                raise_error = fail_locked(NKDISK_FATAL_RING_DMA);
                break;
            }
            std::memcpy(&command.sqe, entry->bytes().data(), sizeof(nkdisk_sqe));
            m_sq_head = (m_sq_head + 1) & mask;
            generation = m_generation;
        }

        auto status = execute(command);

        MutexLocker lock(m_mutex);
        if (generation != m_generation || !m_enabled || m_fatal != 0)
            break; // reset or disabled while the command ran: its completion is lost, as on hardware
        auto slot = iommu().pin(m_cq_base + uint64_t(m_cq_tail) * sizeof(nkdisk_cqe), sizeof(nkdisk_cqe),
            DmaDirection::FromDevice);
        if (!slot) {
            raise_error = fail_locked(NKDISK_FATAL_RING_DMA);
            break;
        }
        nkdisk_cqe cqe {};
        cqe.cid = command.sqe.cid;
        cqe.status = status;
        cqe.sq_head = static_cast<uint16_t>(m_sq_head);
        cqe.phase = m_phase;
        // The phase word is written last so a driver polling it sees a complete entry.
        auto* out = slot->bytes().data();
        std::memcpy(out, &cqe, offsetof(nkdisk_cqe, phase));
        std::memcpy(out + offsetof(nkdisk_cqe, reserved), &cqe.reserved, sizeof(cqe.reserved));
        std::atomic_ref<uint16_t>(*reinterpret_cast<uint16_t*>(out + offsetof(nkdisk_cqe, phase)))
            .store(cqe.phase, std::memory_order_release);
        m_cq_tail = (m_cq_tail + 1) & (m_queue_size - 1);
        if (m_cq_tail == 0)
            m_phase ^= 1;
        m_stats.commands++;
        m_stats.last_command_status = status;
        if (status != NKDISK_SC_OK)
            m_stats.command_errors++;
        posted = true;
    }
    if (raise_error) {
        {
            MutexLocker lock(m_mutex);
            m_stats.interrupts++;
        }
        raise_interrupt(NKDISK_VECTOR_ERROR);
    }
    return posted;
}

bool DiskController::touches_media_error(uint64_t sector, uint64_t count) const
{
    for (auto [bad, length] : m_media_errors) {
        if (sector < bad + length && bad < sector + count)
            return true;
    }
    return false;
}

uint16_t DiskController::execute(Command const& command)
{
    auto const& sqe = command.sqe;
    bool write_cache = false;
    bool media_error = false;
    {
        MutexLocker lock(m_mutex);
        write_cache = (m_config & NKDISK_CONFIG_WCE) != 0;
        if (sqe.opcode == NKDISK_OP_READ)
            m_stats.reads++;
        else if (sqe.opcode == NKDISK_OP_WRITE)
            m_stats.writes++;
        else if (sqe.opcode == NKDISK_OP_FLUSH)
            m_stats.flushes++;
        media_error = !m_media_errors.empty() && touches_media_error(sqe.sector, sqe.nr_sectors);
    }
    if ((sqe.flags & ~NKDISK_SQE_FUA) != 0)
        return NKDISK_SC_INVALID_FIELD;

    switch (sqe.opcode) {
    case NKDISK_OP_READ:
    case NKDISK_OP_WRITE: {
        if (sqe.nr_sectors == 0 || sqe.nr_sectors > m_options.max_sectors)
            return NKDISK_SC_LBA_RANGE;
        if (sqe.sector >= m_capacity_sectors || sqe.nr_sectors > m_capacity_sectors - sqe.sector)
            return NKDISK_SC_LBA_RANGE;
        bool is_read = sqe.opcode == NKDISK_OP_READ;
        auto length = size_t(sqe.nr_sectors) * 512;
        auto data = iommu().pin(sqe.data_addr, length, is_read ? DmaDirection::FromDevice : DmaDirection::ToDevice);
        if (!data)
            return NKDISK_SC_DMA_ERROR;
        if (media_error)
            return NKDISK_SC_MEDIA_ERROR;
        auto offset = sqe.sector * 512;
        if (is_read)
            return m_image->read(offset, data->bytes()) ? NKDISK_SC_OK : NKDISK_SC_MEDIA_ERROR;
        if (!m_image->write(offset, data->bytes()))
            return NKDISK_SC_MEDIA_ERROR;
        if ((sqe.flags & NKDISK_SQE_FUA) != 0 || !write_cache)
            return m_image->sync() ? NKDISK_SC_OK : NKDISK_SC_MEDIA_ERROR;
        return NKDISK_SC_OK;
    }
    case NKDISK_OP_FLUSH:
        if (media_error)
            return NKDISK_SC_MEDIA_ERROR;
        return m_image->sync() ? NKDISK_SC_OK : NKDISK_SC_MEDIA_ERROR;
    default:
        return NKDISK_SC_INVALID_OPCODE;
    }
}

} // namespace nk
