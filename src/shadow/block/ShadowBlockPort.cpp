// SPDX-License-Identifier: MIT
#include "shadow/block/ShadowBlockPort.h"

#include "classes/block/BlockRequest.h"

namespace nk {

std::shared_ptr<BlockDriverPort> ShadowBlockPort::usable_driver() const
{
    if (m_active.load(std::memory_order_acquire) || m_owner.load(std::memory_order_acquire)->state() != ModuleState::Live)
        return nullptr;
    return m_driver.load(std::memory_order_acquire);
}

Result<int> ShadowBlockPort::open(Disk& disk)
{
    if (auto driver = usable_driver()) {
        auto result = TRY(driver->open(disk));
        if (result == 0) {
            MutexLocker lock(m_mutex);
            m_opens++;
        }
        return result;
    }
    // The driver is down: the open is the shadow's, replayed when the driver is back.
    MutexLocker lock(m_mutex);
    m_opens++;
    return 0;
}

Result<void> ShadowBlockPort::release(Disk& disk)
{
    {
        MutexLocker lock(m_mutex);
        if (m_opens > 0)
            m_opens--;
    }
    if (auto driver = usable_driver())
        return driver->release(disk);
    return {};
}

Result<int> ShadowBlockPort::ioctl(Disk& disk, uint32_t cmd, uint64_t arg)
{
    if (auto driver = usable_driver()) {
        auto result = TRY(driver->ioctl(disk, cmd, arg));
        MutexLocker lock(m_mutex);
        if (cmd == NK_BLK_IOCTL_SET_WRITE_CACHE && result == 0)
            m_write_cache = static_cast<uint32_t>(arg);
        else if (cmd == NK_BLK_IOCTL_GET_WRITE_CACHE && result >= 0)
            m_write_cache = static_cast<uint32_t>(result);
        return result;
    }
    // Answered for the driver, from the log.
    MutexLocker lock(m_mutex);
    switch (cmd) {
    case NK_BLK_IOCTL_GET_WRITE_CACHE:
        return m_write_cache ? static_cast<int>(*m_write_cache) : -EAGAIN;
    case NK_BLK_IOCTL_SET_WRITE_CACHE:
        if (arg > 1)
            return -EINVAL;
        m_write_cache = static_cast<uint32_t>(arg);
        return 0;
    default:
        return -EAGAIN; // busy: call again when the driver is back
    }
}

Result<size_t> ShadowBlockPort::queue_rqs(Disk& disk, std::span<BlockRequest* const> batch, std::span<int> statuses)
{
    auto driver = usable_driver();
    if (!driver) {
        // Held (in the request queue) for the driver's next instance.
        std::ranges::fill(statuses.first(batch.size()), NK_BLK_STS_RESOURCE);
        return batch.size();
    }
    if (!m_probation.load(std::memory_order_acquire))
        return driver->queue_rqs(disk, batch, statuses);

    // Probation: one request at a time while a suspect is in flight.
    std::ranges::fill(statuses.first(batch.size()), NK_BLK_STS_RESOURCE);
    if (m_suspects_in_flight.load() > 0)
        return batch.size();
    if (batch[0]->attempts > 0)
        m_suspects_in_flight.fetch_add(1);
    auto handed = driver->queue_rqs(disk, batch.first(1), statuses.first(1));
    if (!handed) {
        // The driver failed with this request alone in flight: it stays in
        // flight (its attempt counts), the others were never handed over.
        statuses[0] = NK_BLK_STS_OK;
        return batch.size();
    }
    if (statuses[0] != NK_BLK_STS_OK && batch[0]->attempts > 0)
        m_suspects_in_flight.fetch_sub(1);
    return batch.size();
}

void ShadowBlockPort::request_timed_out(Disk& disk, uint32_t tag, uint64_t age_ns)
{
    if (auto driver = usable_driver())
        driver->request_timed_out(disk, tag, age_ns);
}

void ShadowBlockPort::queue_stalled(Disk& disk, uint64_t stalled_ns)
{
    // Only the driver's refusals count: the shadow holds requests on purpose
    // while the driver is down.
    if (auto driver = usable_driver())
        driver->queue_stalled(disk, stalled_ns);
}

void ShadowBlockPort::completed(Disk& disk, BlockRequest& request, int status)
{
    if (request.attempts > 0 && m_probation.load(std::memory_order_acquire)) {
        if (m_suspects_in_flight.load() > 0)
            m_suspects_in_flight.fetch_sub(1);
        // The last suspect is through: back to full speed.
        if (m_suspects_outstanding.fetch_sub(1) == 1)
            m_probation.store(false, std::memory_order_release);
    }
}

void ShadowBlockPort::go_active() { m_active.store(true, std::memory_order_release); }

void ShadowBlockPort::attach(std::unique_ptr<BlockDriverPort> driver, Module& owner)
{
    m_driver.store(std::shared_ptr<BlockDriverPort>(std::move(driver)), std::memory_order_release);
    m_owner.store(&owner, std::memory_order_release);
}

Result<void> ShadowBlockPort::replay(Disk& disk)
{
    uint32_t opens = 0;
    std::optional<uint32_t> write_cache;
    {
        MutexLocker lock(m_mutex);
        opens = m_opens;
        write_cache = m_write_cache;
    }
    auto driver = m_driver.load(std::memory_order_acquire);
    // The kernel's part of the driver's initialization: what applications had configured.
    if (opens > 0) {
        auto opened = TRY(driver->open(disk));
        if (opened != 0)
            return make_error(ErrorCode::IoError, "replaying open: the driver answered {}", opened);
    }
    if (write_cache) {
        auto set = TRY(driver->ioctl(disk, NK_BLK_IOCTL_SET_WRITE_CACHE, *write_cache));
        if (set != 0)
            return make_error(ErrorCode::IoError, "replaying the write-cache setting: the driver answered {}", set);
    }
    return {};
}

void ShadowBlockPort::go_passive(uint32_t suspects)
{
    m_suspects_in_flight.store(0);
    m_suspects_outstanding.store(suspects);
    m_probation.store(suspects > 0, std::memory_order_release);
    m_active.store(false, std::memory_order_release);
}

uint32_t ShadowBlockPort::opens() const
{
    MutexLocker lock(m_mutex);
    return m_opens;
}

std::optional<uint32_t> ShadowBlockPort::write_cache() const
{
    MutexLocker lock(m_mutex);
    return m_write_cache;
}

} // namespace nk
