// SPDX-License-Identifier: MIT
#pragma once

// The application of the recovery benchmark: threads doing 4 KiB O_DIRECT
// reads and writes at random offsets of the kernel's disk file, one at a time
// each, and recording when every operation started and ended and whether it
// succeeded. A driver failure shows up here the way an application sees it:
// as a slow operation (a stall) or, in nooks mode, as an error. After an
// error a thread opens the file again, as a restarted application would: in
// nooks mode recovery replaces the disk, and the old open file stays dead.
//
// Thread-safety: start() and stop() from one thread; operations() after stop().

#include "base/Error.h"

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace nk::bench {

struct IoOperation {
    uint64_t start_ns { 0 }; // monotonic clock
    uint64_t end_ns { 0 };
    bool write { false };
    int error { 0 }; // errno, 0 on success
    uint64_t latency_ns() const { return end_ns - start_ns; }
};

class IoProbe {
public:
    // `span_bytes`: how much of the file the offsets cover.
    static Result<std::unique_ptr<IoProbe>> start(std::string const& path, uint64_t span_bytes, unsigned threads);
    ~IoProbe();
    IoProbe(IoProbe const&) = delete;
    IoProbe& operator=(IoProbe const&) = delete;

    void stop();
    // Every operation of every thread, sorted by start time.
    std::vector<IoOperation> operations() const;
    uint64_t completed() const { return m_completed.load(std::memory_order_relaxed); }
    uint64_t reopens() const { return m_reopens.load(std::memory_order_relaxed); }

private:
    IoProbe() = default;
    void run(unsigned index);

    std::string m_path;
    uint64_t m_span_blocks { 0 };
    std::atomic<bool> m_stop { false };
    std::atomic<uint64_t> m_completed { 0 };
    std::atomic<uint64_t> m_reopens { 0 };
    std::vector<std::thread> m_threads;
    std::vector<std::vector<IoOperation>> m_logs; // one per thread, written only by it
};

} // namespace nk::bench
