// SPDX-License-Identifier: MIT
#include "classes/block/Disk.h"

#include "base/Log.h"
#include "kernel/bus/BusDevice.h"

#include <bit>
#include <cstring>

namespace nk {

Result<DiskGeometry> DiskGeometry::from_params(nk_blk_disk_params const& params)
{
    DiskGeometry geometry;
    if (params.name == nullptr)
        return make_error(ErrorCode::InvalidArgument, "blk_register_disk: params.name is null");
    auto name_length = strnlen(params.name, 32);
    if (name_length == 0 || name_length >= 32)
        return make_error(ErrorCode::InvalidArgument, "blk_register_disk: params.name must be 1..31 characters");
    geometry.name.assign(params.name, name_length);
    for (char c : geometry.name) {
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
            return make_error(ErrorCode::InvalidArgument, "blk_register_disk: params.name '{}' has a character other than [A-Za-z0-9._-]",
                geometry.name);
    }
    if (geometry.name == "." || geometry.name == "..")
        return make_error(ErrorCode::InvalidArgument, "blk_register_disk: params.name '{}' is reserved", geometry.name);
    if (params.capacity_sectors == 0 || params.capacity_sectors > (1ull << 48))
        return make_error(ErrorCode::InvalidArgument, "blk_register_disk: params.capacity_sectors {} out of range",
            params.capacity_sectors);
    if (params.logical_block_size != 512 && params.logical_block_size != 4096)
        return make_error(ErrorCode::InvalidArgument, "blk_register_disk: params.logical_block_size {} is not 512 or 4096",
            params.logical_block_size);
    if (params.max_sectors == 0 || params.max_sectors > 65536 || params.max_sectors % (params.logical_block_size / 512) != 0)
        return make_error(ErrorCode::InvalidArgument, "blk_register_disk: params.max_sectors {} out of range", params.max_sectors);
    if (params.queue_depth == 0 || params.queue_depth > 1024)
        return make_error(ErrorCode::InvalidArgument, "blk_register_disk: params.queue_depth {} not in 1..1024", params.queue_depth);
    if ((params.features & ~(NK_BLK_FEAT_FLUSH | NK_BLK_FEAT_FUA)) != 0)
        return make_error(ErrorCode::InvalidArgument, "blk_register_disk: params.features {:#x} has unknown bits", params.features);
    geometry.capacity_sectors = params.capacity_sectors;
    geometry.logical_block_size = params.logical_block_size;
    geometry.max_sectors = params.max_sectors;
    geometry.queue_depth = params.queue_depth;
    geometry.features = params.features;
    return geometry;
}

Disk::Disk(uint64_t id, DiskGeometry geometry, Module& owner, BusDevice* device, std::unique_ptr<BlockDriverPort> port,
    void* private_data)
    : m_id(id)
    , m_geometry(std::move(geometry))
    , m_owner(&owner)
    , m_device(device)
    , m_port(std::move(port))
    , m_private_data(private_data)
    , m_queue(*this, *m_port, device != nullptr ? &device->iommu() : nullptr, m_geometry.queue_depth, m_geometry.max_sectors)
{
}

Disk::~Disk() = default;

void BlockDriverPort::request_timed_out(Disk& disk, uint32_t tag, uint64_t age_ns)
{
    log::get("block")->warn("{}: request {} has not completed after {} ms (the driver lost it?)", disk.name(), tag, age_ns / 1'000'000);
}

void BlockDriverPort::queue_stalled(Disk& disk, uint64_t stalled_ns)
{
    log::get("block")->warn("{}: the driver has refused every request for {} ms with none in flight", disk.name(), stalled_ns / 1'000'000);
}

Result<void> Disk::open()
{
    MutexLocker lock(m_open_mutex);
    if (!alive())
        return make_error(ErrorCode::NotFound, "disk {} is gone", name());
    if (m_open_count == 0) {
        auto result = TRY(m_port->open(*this));
        if (result < 0)
            return std::unexpected(Error::from_errno(-result, fmt::format("open {}", name())));
    }
    m_open_count++;
    return {};
}

void Disk::release()
{
    MutexLocker lock(m_open_mutex);
    if (m_open_count == 0)
        return;
    if (--m_open_count == 0 && alive())
        (void)m_port->release(*this);
}

uint32_t Disk::open_count() const
{
    MutexLocker lock(m_open_mutex);
    return m_open_count;
}

Result<int> Disk::ioctl(uint32_t cmd, uint64_t arg)
{
    if (!alive())
        return make_error(ErrorCode::NotFound, "disk {} is gone", name());
    return m_port->ioctl(*this, cmd, arg);
}

void Disk::kill()
{
    if (m_alive.exchange(false, std::memory_order_acq_rel))
        m_queue.kill();
}

} // namespace nk
