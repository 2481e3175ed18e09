// SPDX-License-Identifier: MIT
#pragma once

// The FUSE frontend of the block class: a mount point holding one regular file
// per registered disk ("disk0"), readable and writable at any offset and
// length, so real applications (losetup, mkfs.ext4, dd, fio) use the disks.
//
//   read/write  -> BlockIo (split into block requests)   fsync -> device flush
//   open/close  -> the driver's open/release              ioctl -> driver ioctl
//   setattr     -> times, mode and owner kept in memory; size only to itself
//
// The kernel process owns /dev/fuse, so a driver failure never tears down the
// mount. Files are root-only (0600) by default.
//
// Threads: `threads` workers each receive and process requests; the listener
// callbacks come from whichever kernel thread (un)registers a disk.

#include "base/Error.h"
#include "base/Mutex.h"
#include "classes/block/BlockLayer.h"
#include "frontends/Frontend.h"

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <pthread.h>
#include <vector>

struct fuse_session;

namespace nk {

class FuseDiskFs final : public Frontend, public BlockLayerListener {
public:
    struct Options {
        std::string mountpoint;
        unsigned threads { 4 };
        uint32_t file_mode { 0600 };
    };

    // Mounts at options.mountpoint (which must be an existing, unused
    // directory) and starts the workers. Disks already registered appear at once.
    static Result<std::unique_ptr<FuseDiskFs>> mount(BlockLayer& block, Options options);
    ~FuseDiskFs() override;
    FuseDiskFs(FuseDiskFs const&) = delete;
    FuseDiskFs& operator=(FuseDiskFs const&) = delete;

    // Unmounts and stops the workers. If a disk file is still in use (a loop
    // device), it is detached lazily and its users get EIO from then on.
    void unmount();

    // Frontend
    void stop() override { unmount(); }
    std::vector<std::pair<std::string, std::string>> endpoints() const override;

    std::string const& mountpoint() const { return m_options.mountpoint; }
    // Path of the file for disk `name`.
    std::string file_path(std::string const& name) const { return m_options.mountpoint + "/" + name; }

    // BlockLayerListener
    void disk_added(std::shared_ptr<Disk> const& disk) override;
    void disk_removed(std::shared_ptr<Disk> const& disk) override;

    struct Node;
    struct OpenFile;

private:
    FuseDiskFs(BlockLayer& block, Options options);
    void worker();

    BlockLayer& m_block;
    Options m_options;
    fuse_session* m_session { nullptr };
    std::atomic<bool> m_stopping { false };
    std::vector<pthread_t> m_workers; // raw pthreads: they are joined with a timeout
    bool m_mounted { false };

public:
    // Used by the static FUSE callbacks (FuseDiskFs.cpp).
    std::shared_ptr<Node> node_by_ino(uint64_t ino) const;
    std::shared_ptr<Node> node_by_name(std::string const& name) const;
    std::vector<std::shared_ptr<Node>> listed_nodes() const;
    uint32_t file_mode() const { return m_options.file_mode; }

private:
    mutable Mutex m_mutex;
    std::map<uint64_t, std::shared_ptr<Node>> m_nodes NK_GUARDED_BY(m_mutex);    // every node ever, by inode
    std::map<std::string, std::shared_ptr<Node>> m_names NK_GUARDED_BY(m_mutex); // live disks, by name
};

} // namespace nk
