// SPDX-License-Identifier: MIT
#pragma once

// A kernel running as a child process (`nooks run ...`), as the demo, the
// integration tests and the evaluation use it: the child owns the FUSE mount,
// so a native-mode driver crash kills the child, not the harness.
//
// start() returns once the child printed its `ready` line. The destructor
// stops the child (SIGTERM, then SIGKILL after a grace period) so no process
// is ever left behind. Its stderr (the kernel log) goes to a file.

#include "base/Error.h"
#include "base/Mutex.h"
#include "harness/ChildProcess.h"

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace nk::harness {

class KernelProcess {
public:
    struct Options {
        std::string nooks_binary;       // path of the `nooks` executable
        std::vector<std::string> args;  // after `nooks run`
        std::string log_path;           // the child's stderr goes here
        std::chrono::milliseconds ready_timeout { std::chrono::seconds(60) };
    };

    static Result<std::unique_ptr<KernelProcess>> start(Options options);
    ~KernelProcess();
    KernelProcess(KernelProcess const&) = delete;
    KernelProcess& operator=(KernelProcess const&) = delete;

    // SIGTERM and wait; SIGKILL after `grace`. Returns how it ended.
    Result<void> stop(std::chrono::milliseconds grace = std::chrono::seconds(20)) { return m_child.stop(grace); }
    // Sends `signal` without waiting.
    void signal(int signal) { m_child.signal(signal); }
    // True if the child has not exited yet (reaps it if it has).
    bool running() { return m_child.running(); }
    // Waits for the child to exit on its own, up to `timeout`.
    bool wait_exit(std::chrono::milliseconds timeout) { return m_child.wait_exit(timeout); }

    pid_t pid() const { return m_child.pid(); }
    // Exit description once it ended: "exit 0", "killed by signal 6 (Aborted)".
    std::string exit_description() const { return m_child.exit_description(); }
    int exit_status() const { return m_child.exit_status(); }
    std::string const& log_path() const { return m_options.log_path; }
    // The last `lines` lines of the kernel log, for error messages.
    std::string log_tail(size_t lines = 30) const;
    // Everything the child printed on stdout so far.
    std::string stdout_text() const;

private:
    explicit KernelProcess(Options options)
        : m_options(std::move(options))
    {
    }
    void drain_stdout();

    Options m_options;
    ChildProcess m_child { "kernel" };
    int m_stdout { -1 };
    mutable Mutex m_mutex;
    std::string m_stdout_text NK_GUARDED_BY(m_mutex);
    std::thread m_reader;
};

// The `nooks` executable next to the running program (tests, benchmarks), or
// the running program itself if it is `nooks`.
std::string find_nooks_binary();

} // namespace nk::harness
