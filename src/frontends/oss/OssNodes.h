// SPDX-License-Identifier: MIT
#pragma once

// The OSS frontend's files (nodes) and open files, shared by the frontend
// (OssFrontend.cpp) and its FUSE callbacks (OssFuseOps.cpp). Internal.
//
// A Node is one file of one card (its dsp or its mixer); it outlives the
// card's presence in the directory for as long as files opened on it exist.
// An OpenFile is one FUSE open (fi->fh points at it; the frontend keeps a
// shared reference until release). PollState is the open file's poll handle,
// shared with the streams' notifier, which may run after release.

#include "base/Mutex.h"
#include "frontends/oss/OssFile.h"
#include "frontends/oss/OssFrontend.h"

#include <atomic>
#include <ctime>
#include <fcntl.h>
#include <memory>
#include <string>
#include <sys/types.h>

struct fuse_pollhandle;
struct fuse_lowlevel_ops;

namespace nk {

enum class OssNodeKind : uint8_t { Dsp, Mixer };

struct OssFrontend::Node {
    uint64_t ino;
    OssNodeKind kind;
    std::string name;
    std::shared_ptr<oss::OssCard> card;

    Mutex mutex;
    uint32_t mode NK_GUARDED_BY(mutex);
    uid_t uid NK_GUARDED_BY(mutex) { 0 };
    gid_t gid NK_GUARDED_BY(mutex) { 0 };
    timespec atime NK_GUARDED_BY(mutex) {};
    timespec mtime NK_GUARDED_BY(mutex) {};
    timespec ctime NK_GUARDED_BY(mutex) {};
    // Open files on this node that were closed once (flushed) but not
    // released yet: a new opener waits for them instead of getting EBUSY,
    // since FUSE sends release after close() has returned.
    int closing NK_GUARDED_BY(mutex) { 0 };
    ConditionVariable released;
};

// An open file's poll handle (the last FUSE_POLL's); notify() wakes the pollers.
class OssPollState {
public:
    ~OssPollState();
    // Keeps `handle` (taking ownership), replacing the previous one.
    void replace(fuse_pollhandle* handle);
    // Wakes the file's pollers, if any polled.
    void notify();
    // Drops the handle; notify() does nothing afterwards.
    void close();

private:
    Mutex m_mutex;
    fuse_pollhandle* m_handle NK_GUARDED_BY(m_mutex) { nullptr };
    bool m_closed NK_GUARDED_BY(m_mutex) { false };
};

struct OssFrontend::OpenFile {
    std::shared_ptr<Node> node;
    oss::OssDsp dsp;                              // streams (dsp files only)
    std::shared_ptr<OssPollState> poll { std::make_shared<OssPollState>() };
    std::atomic<int> flags { 0 };                 // the open flags as the last request carried them
    std::atomic<bool> flushed { false };
    std::atomic<bool> closed { false };

    bool nonblocking() const { return (flags.load(std::memory_order_relaxed) & O_NONBLOCK) != 0 || dsp.nonblock.load(std::memory_order_relaxed); }
    // Stops notifications and closes the streams the file opened. Idempotent.
    void close_streams();
};

// The FUSE low-level callbacks (OssFuseOps.cpp); their userdata is the OssFrontend.
fuse_lowlevel_ops const& oss_fuse_operations();

} // namespace nk
