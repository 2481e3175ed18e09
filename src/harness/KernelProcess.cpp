// SPDX-License-Identifier: MIT
#include "harness/KernelProcess.h"

#include "base/Spawn.h"

#include "base/Clock.h"

#include <cerrno>
#include <csignal>
#include <deque>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace nk::harness {

std::string find_nooks_binary()
{
    std::error_code error;
    auto self = std::filesystem::read_symlink("/proc/self/exe", error);
    if (error)
        return "nooks";
    if (self.filename() == "nooks")
        return self.string();
    return (self.parent_path() / "nooks").string();
}

Result<std::unique_ptr<KernelProcess>> KernelProcess::start(Options options)
{
    auto process = std::unique_ptr<KernelProcess>(new KernelProcess(std::move(options)));
    auto& opts = process->m_options;
    if (::access(opts.nooks_binary.c_str(), X_OK) != 0)
        return errno_error(fmt::format("kernel binary {}", opts.nooks_binary));

    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0)
        return errno_error("pipe");
    int log_fd = ::open(opts.log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (log_fd < 0) {
        ::close(out[0]);
        ::close(out[1]);
        return errno_error(fmt::format("kernel log {}", opts.log_path));
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, log_fd, STDERR_FILENO);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    // Its own process group: a Ctrl-C at the terminal reaches the tool, which
    // stops the kernel last (after the loop device on its FUSE file is gone).
    set_clean_spawn_state(attributes, ProcessGroup::Own);

    std::vector<std::string> argv { opts.nooks_binary, "run" };
    argv.insert(argv.end(), opts.args.begin(), opts.args.end());
    std::vector<char*> args;
    for (auto& arg : argv)
        args.push_back(arg.data());
    args.push_back(nullptr);
    pid_t pid = -1;
    int spawned = ::posix_spawn(&pid, args[0], &actions, &attributes, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    ::close(out[1]);
    ::close(log_fd);
    if (spawned != 0) {
        ::close(out[0]);
        return std::unexpected(Error::from_errno(spawned, "start the kernel"));
    }
    process->m_child.adopt(pid);
    process->m_stdout = out[0];

    // Wait for the `ready` line (or for the child to die trying).
    auto deadline = monotonic_ns() + static_cast<uint64_t>(std::chrono::nanoseconds(opts.ready_timeout).count());
    std::string text;
    char buffer[1024];
    while (text.find("ready") == std::string::npos) {
        auto now = monotonic_ns();
        if (now >= deadline) {
            (void)process->stop(std::chrono::seconds(5));
            return make_error(ErrorCode::DeadlineExceeded, "kernel did not become ready in time; log:\n{}", process->log_tail());
        }
        pollfd pfd { process->m_stdout, POLLIN, 0 };
        if (::poll(&pfd, 1, 100) <= 0)
            continue;
        auto n = ::read(process->m_stdout, buffer, sizeof(buffer));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            process->wait_exit(std::chrono::seconds(5));
            return make_error(ErrorCode::FailedPrecondition, "kernel exited before it was ready ({}); log:\n{}",
                process->exit_description(), process->log_tail());
        }
        text.append(buffer, static_cast<size_t>(n));
    }
    {
        MutexLocker lock(process->m_mutex);
        process->m_stdout_text = text;
    }
    process->m_reader = std::thread([raw = process.get()] { raw->drain_stdout(); });
    return process;
}

void KernelProcess::drain_stdout()
{
    char buffer[1024];
    for (;;) {
        auto n = ::read(m_stdout, buffer, sizeof(buffer));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        MutexLocker lock(m_mutex);
        m_stdout_text.append(buffer, static_cast<size_t>(n));
    }
}

std::string KernelProcess::stdout_text() const
{
    MutexLocker lock(m_mutex);
    return m_stdout_text;
}

KernelProcess::~KernelProcess()
{
    (void)m_child.stop(std::chrono::seconds(10));
    if (m_reader.joinable())
        m_reader.join();
    if (m_stdout >= 0)
        ::close(m_stdout);
}

std::string KernelProcess::log_tail(size_t lines) const
{
    std::ifstream file(m_options.log_path);
    std::deque<std::string> tail;
    std::string line;
    while (std::getline(file, line)) {
        tail.push_back(line);
        if (tail.size() > lines)
            tail.pop_front();
    }
    std::string result;
    for (auto const& entry : tail)
        result += entry + "\n";
    return result;
}

} // namespace nk::harness
