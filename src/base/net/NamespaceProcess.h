// SPDX-License-Identifier: MIT
#pragma once

// A program run inside a network namespace, as `ip netns exec` runs it: a
// child forked by this process that enters the namespace (setns), gets a
// mount namespace of its own with /sys remounted for the network namespace
// (so /sys/class/net lists its interfaces), a clean signal state, stdin from
// /dev/null, its own process group, then executes the program. The object
// owns the child: destroying it stops the child (SIGTERM to its process
// group, SIGKILL after a grace period) and reaps it.
//
// Not thread-safe: one owner thread at a time (moves hand it over).

#include "base/Error.h"

#include <chrono>
#include <string>
#include <sys/types.h>
#include <vector>

namespace nk {

class NetNamespace;

// How a child ended, or that it has not.
struct ExitStatus {
    bool exited { false };   // it has ended (exit or signal)
    int code { -1 };         // exit code, -1 if a signal ended it
    int signal { 0 };        // the signal that ended it, or 0

    bool success() const { return exited && code == 0; }
    // "exit status 3", "killed by signal 9 (Killed)", "running".
    std::string describe() const;
};

struct NamespaceProcessOptions {
    // Send the child's stdout and stderr to /dev/null instead of inheriting ours.
    bool quiet { false };
    // Extra environment ("NAME=value"), added to ours.
    std::vector<std::string> environment;
};

class NamespaceProcess {
public:
    // Starts argv[0] (looked up in PATH unless it has a '/') inside `ns`.
    // InvalidArgument for an empty argv; NotFound if the program is not
    // found; the child's error if it cannot enter the namespace or execute
    // the program (the child is reaped then): "exec foo in network namespace
    // N: No such file or directory".
    static Result<NamespaceProcess> start(NetNamespace const& ns, std::vector<std::string> const& argv,
        NamespaceProcessOptions const& options = {});
    // Starts it and waits for it to end (up to `timeout`; then it is stopped
    // and the error is DeadlineExceeded).
    static Result<ExitStatus> run(NetNamespace const& ns, std::vector<std::string> const& argv,
        std::chrono::milliseconds timeout = std::chrono::seconds(30), NamespaceProcessOptions const& options = {});

    NamespaceProcess(NamespaceProcess&& other) noexcept;
    NamespaceProcess& operator=(NamespaceProcess&& other) noexcept;
    NamespaceProcess(NamespaceProcess const&) = delete;
    NamespaceProcess& operator=(NamespaceProcess const&) = delete;
    // stop() with the default grace.
    ~NamespaceProcess();

    pid_t pid() const { return m_pid; }
    // "python3 -m http.server" (argv joined), for messages.
    std::string const& command() const { return m_command; }

    // True until the child has ended (it is reaped when it has).
    bool running();
    // Waits up to `timeout` for the child to end on its own; its status (exited
    // false if it still runs).
    ExitStatus wait_for(std::chrono::milliseconds timeout);
    // How it ended so far (exited false while it runs).
    ExitStatus const& status() const { return m_status; }
    // SIGTERM to its process group; SIGKILL after `grace`; reaps it. Returns
    // how it ended. Does nothing more once it has ended.
    ExitStatus stop(std::chrono::milliseconds grace = std::chrono::seconds(2));

private:
    NamespaceProcess(pid_t pid, std::string command)
        : m_pid(pid)
        , m_command(std::move(command))
    {
    }
    // Reaps the child if it has ended; true if it has.
    bool reap(bool block);

    pid_t m_pid { -1 };
    std::string m_command;
    ExitStatus m_status;
};

} // namespace nk
