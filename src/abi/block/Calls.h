// SPDX-License-Identifier: MIT
#pragma once

// The block class's crossings (<nooks/block.h>). Same conventions as
// src/abi/core/Calls.h; the kernel's bodies are src/nooks/wrappers/block, the
// domain's stubs and thunks src/nooks/runtime/block.

#include "abi/core/Calls.h"

#include <nooks/block.h>

namespace nk::abi {

// --- driver -> kernel ------------------------------------------------------------

struct BlkDiskParams {
    char name[name_size]; // NUL-terminated
    uint64_t capacity_sectors;
    uint32_t logical_block_size;
    uint32_t max_sectors;
    uint32_t queue_depth;
    uint32_t features;
};
// struct nk_blk_ops, as the domain named its functions (0: none).
struct BlkOps {
    FunctionHandle open;
    FunctionHandle release;
    FunctionHandle ioctl;
    FunctionHandle queue_rq;
    FunctionHandle commit_rqs;
};
struct BlkRegisterDiskArgs {
    ObjectHandle dev; // 0: a disk on no device
    BlkDiskParams params;
    BlkOps ops;
};
struct BlkDiskArgs {
    ObjectHandle disk;
};
struct BlkEndRequestArgs {
    ObjectHandle disk;
    uint32_t tag;
    int32_t status; // enum nk_blk_status
};

// --- kernel -> driver ------------------------------------------------------------

struct BlkOpArgs {
    FunctionHandle fn;
    ObjectHandle disk;
};
struct BlkIoctlArgs {
    FunctionHandle fn;
    ObjectHandle disk;
    uint32_t cmd;
    uint32_t reserved;
    uint64_t arg;
};
// The request travels by value in the kernel's half of the channel (or the
// kernel's deferred ring), read-only in the domain: the driver gets a pointer
// to it, the copy the ABI promises, and a write to it is a fault.
struct BlkQueueRqArgs {
    FunctionHandle fn;
    ObjectHandle disk;
    nk_blk_request request;
    uint32_t last;
    uint32_t reserved;
};

#define NOOKS_BLOCK_KERNEL_CALLS(X)                                                     \
    X(block, blk_register_disk, Sync, BlkRegisterDiskArgs)                              \
    X(block, blk_unregister_disk, Sync, BlkDiskArgs)                                    \
    X(block, blk_end_request, Deferred, BlkEndRequestArgs)                              \
    X(block, blk_run_queue, Deferred, BlkDiskArgs)                                      \
    /* sent by nk_blk_register_disk before it returns: the driver knows the handle */ \
    X(block, blk_disk_ready, Deferred, BlkDiskArgs)

#define NOOKS_BLOCK_DRIVER_ENTRIES(X)        \
    X(block, blk_open, BlkOpArgs)            \
    X(block, blk_release, BlkOpArgs)         \
    X(block, blk_ioctl, BlkIoctlArgs)        \
    X(block, blk_queue_rq, BlkQueueRqArgs)   \
    X(block, blk_commit_rqs, BlkOpArgs)

} // namespace nk::abi
