// SPDX-License-Identifier: MIT
#pragma once

// A child process this program started and must reap: whether it still runs,
// how it ended, and a stop that always ends it (SIGTERM, then SIGKILL after a
// grace period). Owners (KernelProcess, the tests' AgentProcess) spawn the
// program their own way, hand the pid over, and stop it in their destructor.
//
// Not thread-safe: one owner thread.

#include "base/Error.h"

#include <chrono>
#include <string>
#include <sys/types.h>

namespace nk::harness {

class ChildProcess {
public:
    // `what` names the program in errors ("kernel", "nooks agent").
    explicit ChildProcess(std::string what)
        : m_what(std::move(what))
    {
    }
    ChildProcess(ChildProcess const&) = delete;
    ChildProcess& operator=(ChildProcess const&) = delete;

    void adopt(pid_t pid) { m_pid = pid; }
    pid_t pid() const { return m_pid; }
    bool started() const { return m_pid > 0; }

    // True until the child exits (reaps it when it has).
    bool running();
    // Waits for the child to exit on its own, up to `timeout`.
    bool wait_exit(std::chrono::milliseconds timeout);
    // Sends `signal` unless the child has been reaped.
    void signal(int signal) const;
    // SIGTERM and wait; SIGKILL after `grace` (DeadlineExceeded then). Reaps it.
    Result<void> stop(std::chrono::milliseconds grace);

    // "exit 0", "killed by signal 9 (Killed)", or "running".
    std::string exit_description() const;
    int exit_status() const { return m_status; }
    bool exited_cleanly() const;

private:
    bool reap(bool block);

    std::string m_what;
    pid_t m_pid { -1 };
    bool m_exited { false };
    int m_status { 0 };
};

} // namespace nk::harness
