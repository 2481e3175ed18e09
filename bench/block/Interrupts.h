// SPDX-License-Identifier: MIT
#pragma once

// Ctrl-C, SIGTERM and SIGHUP stop the benchmark cleanly. The signals are
// blocked in every thread and taken by one watcher thread, which records the
// request and ends the helper program running at that moment (fio, mkfs), so
// the benchmark returns to its normal error path within a second and tears
// down in order: ext4, loop device, kernel, work directory.
//
// The kernel process is "protected": it is never signalled here, because
// stopping it before the loop device is detached would pull the disk file
// from under the loop device.

#include <atomic>
#include <mutex>
#include <set>
#include <sys/types.h>
#include <thread>

namespace nk::bench {

class Interrupts {
public:
    // Blocks the signals; construct it before any other thread starts, so
    // they all inherit the mask.
    Interrupts();
    ~Interrupts();
    Interrupts(Interrupts const&) = delete;
    Interrupts& operator=(Interrupts const&) = delete;

    bool requested() const { return m_requested.load(); }
    void protect(pid_t pid);
    void unprotect(pid_t pid);

private:
    void watch();
    void stop_helpers();

    std::atomic<bool> m_requested { false };
    std::atomic<bool> m_stopping { false };
    std::mutex m_mutex;
    std::set<pid_t> m_protected;
    std::thread m_watcher;
};

} // namespace nk::bench
