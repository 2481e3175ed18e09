// SPDX-License-Identifier: MIT
#include "classes/block/BlockIo.h"

#include "base/Mutex.h"

#include <cstring>
#include <vector>

namespace nk::block_io {

static constexpr uint64_t sector_size = NK_BLK_SECTOR_SIZE;

static char const* status_name(int status)
{
    switch (status) {
    case NK_BLK_STS_OK: return "ok";
    case NK_BLK_STS_IOERR: return "I/O error";
    case NK_BLK_STS_RESOURCE: return "no resources";
    case NK_BLK_STS_NOTSUPP: return "not supported";
    default: return "unknown status";
    }
}

static Result<void> check_range(Disk& disk, uint64_t offset, uint64_t length, char const* what)
{
    auto capacity = disk.geometry().capacity_bytes();
    if (offset > capacity || length > capacity - offset)
        return make_error(ErrorCode::InvalidArgument, "{} {}: range {}+{} leaves the disk ({} bytes)", what, disk.name(),
            offset, length, capacity);
    return {};
}

// Submits sector-aligned I/O over `buffer` as one batch of requests and waits.
static Result<void> transfer(Disk& disk, BlockOp op, uint64_t sector, uint64_t sectors, std::byte* buffer, bool fua)
{
    auto max = uint64_t(disk.geometry().max_sectors);
    auto count = (sectors + max - 1) / max;
    std::vector<BlockRequest> requests(count);
    std::vector<BlockRequest*> pointers(count);
    BlockCompletion completion(static_cast<uint32_t>(count));
    for (uint64_t i = 0; i < count; ++i) {
        auto& request = requests[i];
        auto first = sector + i * max;
        request.op = op;
        request.fua = fua;
        request.sector = first;
        request.nr_sectors = static_cast<uint32_t>(std::min(max, sector + sectors - first));
        request.buffer = buffer + (first - sector) * sector_size;
        request.completion = &completion;
        pointers[i] = &request;
    }
    disk.queue().submit(pointers);
    completion.wait();
    for (auto const& request : requests) {
        if (request.status != NK_BLK_STS_OK)
            return make_error(ErrorCode::IoError, "{} {}: {} of {} sectors at sector {} failed: {}", block_op_name(op),
                disk.name(), block_op_name(op), request.nr_sectors, request.sector, status_name(request.status));
    }
    return {};
}

static Result<void> submit_flush(Disk& disk)
{
    BlockRequest request;
    BlockCompletion completion(1);
    request.op = BlockOp::Flush;
    request.completion = &completion;
    BlockRequest* pointer = &request;
    disk.queue().submit(std::span(&pointer, 1));
    completion.wait();
    if (request.status != NK_BLK_STS_OK)
        return make_error(ErrorCode::IoError, "flush {}: {}", disk.name(), status_name(request.status));
    return {};
}

Result<void> read(Disk& disk, uint64_t offset, std::span<std::byte> out)
{
    TRY(check_range(disk, offset, out.size(), "read"));
    if (out.empty())
        return {};
    if (offset % sector_size == 0 && out.size() % sector_size == 0)
        return transfer(disk, BlockOp::Read, offset / sector_size, out.size() / sector_size, out.data(), false);
    auto first = offset / sector_size;
    auto last = (offset + out.size() + sector_size - 1) / sector_size;
    std::vector<std::byte> bounce((last - first) * sector_size);
    TRY(transfer(disk, BlockOp::Read, first, last - first, bounce.data(), false));
    std::memcpy(out.data(), bounce.data() + (offset - first * sector_size), out.size());
    return {};
}

Result<void> write(Disk& disk, uint64_t offset, std::span<std::byte const> data, bool fua)
{
    TRY(check_range(disk, offset, data.size(), "write"));
    if (data.empty())
        return {};
    bool device_fua = (disk.geometry().features & NK_BLK_FEAT_FUA) != 0;
    if (offset % sector_size == 0 && data.size() % sector_size == 0) {
        // The device only reads a write buffer (the mapping is to-device).
        TRY(transfer(disk, BlockOp::Write, offset / sector_size, data.size() / sector_size,
            const_cast<std::byte*>(data.data()), fua && device_fua));
    } else {
        // Read-modify-write of the covering sectors. Serialized per process so two
        // partial writes to one sector cannot lose each other's bytes. It guards
        // the disk's contents, not a member: nothing to mark NK_GUARDED_BY.
        static Mutex rmw_mutex;
        MutexLocker lock(rmw_mutex);
        auto first = offset / sector_size;
        auto last = (offset + data.size() + sector_size - 1) / sector_size;
        std::vector<std::byte> bounce((last - first) * sector_size);
        if (offset % sector_size != 0)
            TRY(transfer(disk, BlockOp::Read, first, 1, bounce.data(), false));
        if ((offset + data.size()) % sector_size != 0 && (last - 1 != first || offset % sector_size == 0))
            TRY(transfer(disk, BlockOp::Read, last - 1, 1, bounce.data() + (last - 1 - first) * sector_size, false));
        std::memcpy(bounce.data() + (offset - first * sector_size), data.data(), data.size());
        TRY(transfer(disk, BlockOp::Write, first, last - first, bounce.data(), fua && device_fua));
    }
    if (fua && !device_fua)
        return flush(disk);
    return {};
}

Result<void> flush(Disk& disk)
{
    if ((disk.geometry().features & NK_BLK_FEAT_FLUSH) == 0)
        return {}; // no volatile cache: every completed write is durable
    return submit_flush(disk);
}

} // namespace nk::block_io
