// SPDX-License-Identifier: MIT
#pragma once

// Synchronous byte-addressed I/O on a disk, for frontends: splits a range into
// requests the driver accepts, submits them as one batch and waits. Unaligned
// edges are read-modify-written. A failed request makes the whole call fail
// with IoError (the application sees EIO).
//
// Called from any kernel thread that may sleep. The caller's buffer is handed
// to the device as-is when the range is sector-aligned (no copy).

#include "base/Error.h"
#include "classes/block/Disk.h"

#include <cstddef>
#include <span>

namespace nk::block_io {

// Reads out.size() bytes at `offset`. InvalidArgument if the range leaves the disk.
Result<void> read(Disk& disk, uint64_t offset, std::span<std::byte> out);
// Writes data at `offset`; with `fua`, durable when this returns.
Result<void> write(Disk& disk, uint64_t offset, std::span<std::byte const> data, bool fua);
// Makes every write completed so far durable.
Result<void> flush(Disk& disk);

} // namespace nk::block_io
