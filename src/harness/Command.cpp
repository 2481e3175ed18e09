// SPDX-License-Identifier: MIT
#include "harness/Command.h"

#include "base/Spawn.h"
#include "harness/Interrupt.h"

#include "base/Clock.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace nk::harness {

std::string CommandResult::describe() const
{
    std::string status = timed_out ? "timed out" : interrupted ? "interrupted" : signal != 0 ? fmt::format("killed by signal {}", signal) : fmt::format("exit {}", exit_code);
    // The tail of the output is where tools say what went wrong.
    auto tail = output.size() > 2000 ? output.substr(output.size() - 2000) : output;
    while (!tail.empty() && tail.back() == '\n')
        tail.pop_back();
    return tail.empty() ? status : fmt::format("{}: {}", status, tail);
}

bool have_program(std::string const& program)
{
    char const* path = std::getenv("PATH");
    std::string paths = path != nullptr ? path : "/usr/sbin:/usr/bin:/sbin:/bin";
    size_t start = 0;
    while (start <= paths.size()) {
        auto end = paths.find(':', start);
        auto dir = paths.substr(start, end == std::string::npos ? std::string::npos : end - start);
        if (!dir.empty() && ::access((dir + "/" + program).c_str(), X_OK) == 0)
            return true;
        if (end == std::string::npos)
            break;
        start = end + 1;
    }
    return false;
}

Result<CommandResult> run_command(std::vector<std::string> const& argv, CommandOptions const& options)
{
    if (argv.empty())
        return make_error(ErrorCode::InvalidArgument, "run_command: empty argv");
    int out[2];
    int in[2];
    if (::pipe2(out, O_CLOEXEC) != 0)
        return errno_error("pipe");
    if (::pipe2(in, O_CLOEXEC) != 0) {
        ::close(out[0]);
        ::close(out[1]);
        return errno_error("pipe");
    }

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDERR_FILENO);
    if (!options.cwd.empty())
        posix_spawn_file_actions_addchdir_np(&actions, options.cwd.c_str());
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    // Its own process group, so a timeout kills everything it started (make -> gcc).
    set_clean_spawn_state(attributes, ProcessGroup::Own);

    std::vector<std::string> environment;
    for (char** entry = environ; *entry != nullptr; ++entry) {
        std::string variable(*entry);
        auto name = variable.substr(0, variable.find('='));
        if (!options.env.contains(name))
            environment.push_back(std::move(variable));
    }
    for (auto const& [name, value] : options.env)
        environment.push_back(name + "=" + value);
    std::vector<char*> envp;
    for (auto& variable : environment)
        envp.push_back(variable.data());
    envp.push_back(nullptr);
    std::vector<char*> args;
    for (auto const& arg : argv)
        args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);

    auto start = monotonic_ns();
    pid_t pid = 0;
    int spawned = ::posix_spawnp(&pid, args[0], &actions, &attributes, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    ::close(out[1]);
    ::close(in[0]);
    if (spawned != 0) {
        ::close(out[0]);
        ::close(in[1]);
        return std::unexpected(Error::from_errno(spawned, fmt::format("start {}", argv[0])));
    }

    // Feed stdin (small inputs: scripts) and collect output until EOF or timeout.
    if (!options.input.empty()) {
        size_t written = 0;
        while (written < options.input.size()) {
            auto n = ::write(in[1], options.input.data() + written, options.input.size() - written);
            if (n <= 0 && errno != EINTR)
                break;
            if (n > 0)
                written += static_cast<size_t>(n);
        }
    }
    ::close(in[1]);

    CommandResult result;
    auto deadline = start + static_cast<uint64_t>(std::chrono::nanoseconds(options.timeout).count());
    char buffer[8192];
    for (;;) {
        auto now = monotonic_ns();
        if (now >= deadline || interrupted()) {
            result.timed_out = now >= deadline;
            result.interrupted = !result.timed_out;
            // SIGTERM first: a timed-out `nooks run` then unmounts its disks
            // instead of leaving a dead FUSE mount behind. SIGKILL after a grace.
            ::kill(-pid, SIGTERM);
            for (int i = 0; i < 50; ++i) {
                siginfo_t info {};
                if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid != 0)
                    break;
                ::usleep(100'000);
            }
            ::kill(-pid, SIGKILL);
            break;
        }
        pollfd pfd { out[0], POLLIN, 0 };
        int ready = ::poll(&pfd, 1, static_cast<int>(std::min<uint64_t>((deadline - now) / 1'000'000 + 1, 200)));
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0)
            continue;
        auto n = ::read(out[0], buffer, sizeof(buffer));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        result.output.append(buffer, static_cast<size_t>(n));
    }
    ::close(out[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) { }
    result.duration_ns = monotonic_ns() - start;
    if (WIFEXITED(status))
        result.exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        result.signal = WTERMSIG(status);
    return result;
}

Result<CommandResult> run_checked(std::vector<std::string> const& argv, CommandOptions const& options)
{
    auto result = TRY(run_command(argv, options));
    if (!result.ok()) {
        std::string line;
        for (auto const& arg : argv)
            line += (line.empty() ? "" : " ") + arg;
        return make_error(ErrorCode::FailedPrecondition, "`{}` failed: {}", line, result.describe());
    }
    return result;
}

} // namespace nk::harness
