// SPDX-License-Identifier: MIT
#include "harness/ChildProcess.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <sys/wait.h>
#include <thread>

namespace nk::harness {

bool ChildProcess::reap(bool block)
{
    if (m_exited || m_pid <= 0)
        return true;
    int status = 0;
    pid_t done = 0;
    do {
        done = ::waitpid(m_pid, &status, block ? 0 : WNOHANG);
    } while (done < 0 && errno == EINTR);
    if (done == m_pid) {
        m_exited = true;
        m_status = status;
        return true;
    }
    return false;
}

bool ChildProcess::running() { return !reap(false); }

bool ChildProcess::wait_exit(std::chrono::milliseconds timeout)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!reap(false)) {
        if (std::chrono::steady_clock::now() >= deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

void ChildProcess::signal(int signal) const
{
    if (m_pid > 0 && !m_exited)
        ::kill(m_pid, signal);
}

Result<void> ChildProcess::stop(std::chrono::milliseconds grace)
{
    if (m_pid <= 0 || m_exited)
        return {};
    ::kill(m_pid, SIGTERM);
    if (!wait_exit(grace)) {
        ::kill(m_pid, SIGKILL);
        reap(true);
        return make_error(ErrorCode::DeadlineExceeded, "{} did not stop within {} ms after SIGTERM; killed it", m_what, grace.count());
    }
    return {};
}

std::string ChildProcess::exit_description() const
{
    if (!m_exited)
        return "running";
    if (WIFEXITED(m_status))
        return fmt::format("exit {}", WEXITSTATUS(m_status));
    if (WIFSIGNALED(m_status))
        return fmt::format("killed by signal {} ({})", WTERMSIG(m_status), strsignal(WTERMSIG(m_status)));
    return "ended";
}

bool ChildProcess::exited_cleanly() const { return m_exited && WIFEXITED(m_status) && WEXITSTATUS(m_status) == 0; }

} // namespace nk::harness
