// SPDX-License-Identifier: MIT
#pragma once

// `nooks agent` running as a child of a test. start() returns once the child
// printed its `agent ready` line (or fails with its log if it exited or took
// too long). The destructor stops it (SIGTERM, SIGKILL after a grace period)
// and reaps it, so no test leaves a process behind.
//
// stdout and stderr go to files, so the test can read what the agent said at
// any time without a reader thread.

#include "base/Error.h"
#include "harness/ChildProcess.h"
#include "support/TestSupport.h"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

namespace nk::test {

class AgentProcess {
public:
    struct Options {
        std::vector<std::string> prefix; // run through this first ("setpriv", ...), found in PATH
        std::vector<std::string> args;   // after `nooks agent`
        std::string stdout_path;
        std::string log_path;            // stderr
        std::chrono::milliseconds ready_timeout { std::chrono::seconds(20) };
    };

    static Result<std::unique_ptr<AgentProcess>> start(Options options);
    ~AgentProcess();
    AgentProcess(AgentProcess const&) = delete;
    AgentProcess& operator=(AgentProcess const&) = delete;

    // SIGTERM and wait; SIGKILL after `grace` (an error then). Reaps it.
    Result<void> stop(std::chrono::milliseconds grace = std::chrono::seconds(10)) { return m_child.stop(grace); }
    void signal(int signal) const { m_child.signal(signal); }
    // True until the child exits (reaps it when it has).
    bool running() { return m_child.running(); }
    // Waits for the child to exit on its own.
    bool wait_exit(std::chrono::milliseconds timeout) { return m_child.wait_exit(timeout); }
    // "exit 0", "killed by signal 9 (Killed)", or "running".
    std::string exit_description() const { return m_child.exit_description(); }
    bool exited_cleanly() const { return m_child.exited_cleanly(); }

    std::string log() const;
    std::string output() const;
    pid_t pid() const { return m_child.pid(); }

private:
    explicit AgentProcess(Options options)
        : m_options(std::move(options))
    {
    }
    Options m_options;
    harness::ChildProcess m_child { "nooks agent" };
};

// The whole content of a file ("" if it cannot be read).
std::string read_text(std::string const& path);

} // namespace nk::test
