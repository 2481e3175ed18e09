// SPDX-License-Identifier: MIT
#include "base/net/NamespaceProcess.h"

#include "base/UniqueFd.h"
#include "base/net/NetNamespace.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace nk {

namespace {

// What the child reports through its error pipe when it cannot go on.
struct ChildFailure {
    enum Step : int { EnterNamespace, Execute } step;
    int error;
};

Result<std::string> find_program(std::string const& program)
{
    auto executable = [](std::string const& path) {
        struct stat st { };
        return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
    };
    if (program.find('/') != std::string::npos) {
        if (executable(program))
            return program;
        return make_error(ErrorCode::NotFound, "program {}: not an executable file", program);
    }
    char const* path = ::getenv("PATH");
    std::string_view dirs = path != nullptr ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    while (!dirs.empty()) {
        auto colon = dirs.find(':');
        auto dir = dirs.substr(0, colon);
        dirs = colon == std::string_view::npos ? std::string_view {} : dirs.substr(colon + 1);
        auto candidate = fmt::format("{}/{}", dir.empty() ? "." : dir, program);
        if (executable(candidate))
            return candidate;
    }
    return make_error(ErrorCode::NotFound, "program {}: not found in PATH", program);
}

// The child, between fork and exec: async-signal-safe calls only.
[[noreturn]] void child_main(int ns_fd, int devnull, bool quiet, int report, char const* path, char* const* argv, char* const* envp)
{
    auto fail = [&](ChildFailure::Step step) {
        ChildFailure failure { step, errno };
        (void)!::write(report, &failure, sizeof failure);
        ::_exit(127);
    };
    ::setpgid(0, 0);
    if (::setns(ns_fd, CLONE_NEWNET) != 0)
        fail(ChildFailure::EnterNamespace);
    // /sys of the namespace, in a mount namespace of the child's own (as `ip
    // netns exec`). Best effort: without it /sys shows the host's devices.
    if (::unshare(CLONE_NEWNS) == 0 && ::mount("", "/", nullptr, MS_SLAVE | MS_REC, nullptr) == 0)
        ::mount("sysfs", "/sys", "sysfs", 0, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction default_action { };
    default_action.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig)
        ::sigaction(sig, &default_action, nullptr);
    ::dup2(devnull, STDIN_FILENO);
    if (quiet) {
        ::dup2(devnull, STDOUT_FILENO);
        ::dup2(devnull, STDERR_FILENO);
    }
    // Nothing of ours beyond stdio leaks into the program.
    ::syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC);
    ::execve(path, argv, envp);
    fail(ChildFailure::Execute);
    ::_exit(127);
}

std::string join(std::vector<std::string> const& argv) { return fmt::format("{}", fmt::join(argv, " ")); }

} // namespace

std::string ExitStatus::describe() const
{
    if (!exited)
        return "running";
    if (signal != 0)
        return fmt::format("killed by signal {} ({})", signal, ::strsignal(signal));
    return fmt::format("exit status {}", code);
}

Result<NamespaceProcess> NamespaceProcess::start(NetNamespace const& ns, std::vector<std::string> const& argv,
    NamespaceProcessOptions const& options)
{
    if (argv.empty())
        return make_error(ErrorCode::InvalidArgument, "network namespace {}: no program to run", ns.name());
    auto command = join(argv);
    if (ns.fd() < 0)
        return make_error(ErrorCode::FailedPrecondition, "{} in network namespace {}: the namespace was removed", command, ns.name());
    auto path = find_program(argv[0]);
    if (!path)
        return std::unexpected(std::move(path).error().with_context(fmt::format("network namespace {}", ns.name())));

    // Everything the child needs is made before fork: it may not allocate.
    std::vector<char*> child_argv;
    for (auto const& arg : argv)
        child_argv.push_back(const_cast<char*>(arg.c_str()));
    child_argv.push_back(nullptr);
    std::vector<char*> child_env;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e)
        child_env.push_back(*e);
    for (auto const& e : options.environment)
        child_env.push_back(const_cast<char*>(e.c_str()));
    child_env.push_back(nullptr);
    UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!devnull)
        return errno_error("open /dev/null");
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0)
        return errno_error("pipe2");
    UniqueFd report_read(pipe_fds[0]);
    UniqueFd report_write(pipe_fds[1]);

    pid_t pid = ::fork();
    if (pid < 0)
        return errno_error(fmt::format("{} in network namespace {}: fork", command, ns.name()));
    if (pid == 0)
        child_main(ns.fd(), devnull.get(), options.quiet, report_write.get(), path->c_str(), child_argv.data(), child_env.data());
    ::setpgid(pid, pid); // also in the child: whichever runs first
    report_write.reset();

    NamespaceProcess process(pid, command);
    ChildFailure failure {};
    ssize_t got;
    do {
        got = ::read(report_read.get(), &failure, sizeof failure);
    } while (got < 0 && errno == EINTR);
    if (got == static_cast<ssize_t>(sizeof failure)) {
        process.reap(true);
        auto what = failure.step == ChildFailure::EnterNamespace ? fmt::format("{}: entering network namespace {}", command, ns.name())
                                                                  : fmt::format("exec {} in network namespace {}", command, ns.name());
        return std::unexpected(Error::from_errno(failure.error, what));
    }
    return process;
}

Result<ExitStatus> NamespaceProcess::run(NetNamespace const& ns, std::vector<std::string> const& argv, std::chrono::milliseconds timeout,
    NamespaceProcessOptions const& options)
{
    auto process = TRY(start(ns, argv, options));
    auto status = process.wait_for(timeout);
    if (!status.exited) {
        process.stop();
        return make_error(ErrorCode::DeadlineExceeded, "{} in network namespace {}: still running after {} ms (stopped)", process.command(),
            ns.name(), timeout.count());
    }
    return status;
}

NamespaceProcess::NamespaceProcess(NamespaceProcess&& other) noexcept
    : m_pid(std::exchange(other.m_pid, -1))
    , m_command(std::move(other.m_command))
    , m_status(other.m_status)
{
}

NamespaceProcess& NamespaceProcess::operator=(NamespaceProcess&& other) noexcept
{
    if (this != &other) {
        stop();
        m_pid = std::exchange(other.m_pid, -1);
        m_command = std::move(other.m_command);
        m_status = other.m_status;
    }
    return *this;
}

NamespaceProcess::~NamespaceProcess() { stop(); }

bool NamespaceProcess::reap(bool block)
{
    if (m_pid <= 0 || m_status.exited)
        return true;
    int status = 0;
    pid_t got;
    do {
        got = ::waitpid(m_pid, &status, block ? 0 : WNOHANG);
    } while (got < 0 && errno == EINTR);
    if (got == 0)
        return false;
    m_status.exited = true;
    if (got < 0) // reaped by someone else: how it ended is unknown
        return true;
    if (WIFSIGNALED(status)) {
        m_status.signal = WTERMSIG(status);
        m_status.code = -1;
    } else {
        m_status.code = WEXITSTATUS(status);
    }
    return true;
}

bool NamespaceProcess::running() { return !reap(false); }

ExitStatus NamespaceProcess::wait_for(std::chrono::milliseconds timeout)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!reap(false) && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return m_status;
}

ExitStatus NamespaceProcess::stop(std::chrono::milliseconds grace)
{
    if (m_pid <= 0 || reap(false))
        return m_status;
    // The whole group: what the program started goes with it.
    if (::kill(-m_pid, SIGTERM) != 0)
        ::kill(m_pid, SIGTERM);
    if (!wait_for(grace).exited) {
        if (::kill(-m_pid, SIGKILL) != 0)
            ::kill(m_pid, SIGKILL);
        reap(true);
    }
    return m_status;
}

} // namespace nk
