// SPDX-License-Identifier: MIT
#include "Interrupts.h"

#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace nk::bench {

static sigset_t stop_signals()
{
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGHUP);
    return signals;
}

Interrupts::Interrupts()
{
    auto signals = stop_signals();
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    m_watcher = std::thread([this] { watch(); });
}

Interrupts::~Interrupts()
{
    m_stopping = true;
    m_watcher.join();
}

void Interrupts::protect(pid_t pid)
{
    std::scoped_lock lock(m_mutex);
    m_protected.insert(pid);
}

void Interrupts::unprotect(pid_t pid)
{
    std::scoped_lock lock(m_mutex);
    m_protected.erase(pid);
}

void Interrupts::watch()
{
    auto signals = stop_signals();
    // A short timeout, so the destructor never waits long for this thread.
    timespec const poll_interval { 0, 200'000'000 };
    while (!m_stopping) {
        int signal = ::sigtimedwait(&signals, nullptr, &poll_interval);
        if (signal <= 0)
            continue;
        if (!m_requested.exchange(true))
            std::fprintf(stderr, "\nnooks-bench-block: %s: stopping the current job and tearing down\n", ::strsignal(signal));
        stop_helpers();
    }
}

// Helpers are our direct children, each leading its own process group
// (run_command starts them so); the group also holds what they started.
void Interrupts::stop_helpers()
{
    auto self = ::getpid();
    std::error_code error;
    for (auto const& entry : std::filesystem::directory_iterator("/proc", error)) {
        auto name = entry.path().filename().string();
        pid_t pid = 0;
        auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
        if (ec != std::errc() || end != name.data() + name.size())
            continue;
        std::ifstream stat(entry.path() / "stat");
        std::string line;
        if (!std::getline(stat, line))
            continue;
        auto close = line.rfind(')');
        if (close == std::string::npos || close + 4 >= line.size())
            continue;
        // ") S 1234 ...": state, then the parent pid.
        pid_t parent = static_cast<pid_t>(std::atol(line.c_str() + close + 4));
        if (parent != self)
            continue;
        {
            std::scoped_lock lock(m_mutex);
            if (m_protected.contains(pid))
                continue;
        }
        if (::getpgid(pid) == pid)
            ::kill(-pid, SIGTERM);
        else
            ::kill(pid, SIGTERM);
    }
}

} // namespace nk::bench
