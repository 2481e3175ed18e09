// SPDX-License-Identifier: MIT
#include "AgentProcess.h"

#include "base/Spawn.h"

#include "harness/KernelProcess.h"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace nk::test {

std::string read_text(std::string const& path)
{
    std::ifstream file(path);
    std::stringstream text;
    text << file.rdbuf();
    return text.str();
}

Result<std::unique_ptr<AgentProcess>> AgentProcess::start(Options options)
{
    auto process = std::unique_ptr<AgentProcess>(new AgentProcess(std::move(options)));
    auto const& opts = process->m_options;
    std::vector<std::string> argv = opts.prefix;
    argv.push_back(harness::find_nooks_binary());
    argv.push_back("agent");
    argv.insert(argv.end(), opts.args.begin(), opts.args.end());
    std::vector<char*> args;
    for (auto& arg : argv)
        args.push_back(arg.data());
    args.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, opts.stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, opts.log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    set_clean_spawn_state(attributes, ProcessGroup::Inherit);
    pid_t pid = -1;
    int spawned = ::posix_spawnp(&pid, args[0], &actions, &attributes, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    if (spawned != 0)
        return std::unexpected(Error::from_errno(spawned, fmt::format("start {}", argv[0])));
    process->m_child.adopt(pid);

    bool ready = wait_until(opts.ready_timeout, [&] {
        return read_text(opts.stdout_path).find("agent ready") != std::string::npos || !process->running();
    });
    if (!process->running())
        return make_error(ErrorCode::FailedPrecondition, "nooks agent exited before it was ready ({}): {}{}", process->exit_description(),
            process->output(), process->log());
    if (!ready) {
        (void)process->stop(std::chrono::seconds(2));
        return make_error(ErrorCode::DeadlineExceeded, "nooks agent was not ready in time: {}", process->log());
    }
    return process;
}

AgentProcess::~AgentProcess() { (void)m_child.stop(std::chrono::seconds(5)); }

std::string AgentProcess::log() const { return read_text(m_options.log_path); }

std::string AgentProcess::output() const { return read_text(m_options.stdout_path); }

} // namespace nk::test
