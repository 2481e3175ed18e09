// SPDX-License-Identifier: MIT
#include "base/net/NamespaceLock.h"

#include <cerrno>
#include <charconv>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace nk {

namespace {

// The pid recorded in an open lock file, or 0.
pid_t recorded_pid(int fd)
{
    char text[32] = {};
    auto size = ::pread(fd, text, sizeof text - 1, 0);
    if (size <= 0)
        return 0;
    pid_t pid = 0;
    std::from_chars(text, text + size, pid);
    return pid > 0 ? pid : 0;
}

bool same_file(int fd, std::string const& path)
{
    struct stat opened { };
    struct stat named { };
    return ::fstat(fd, &opened) == 0 && ::stat(path.c_str(), &named) == 0 && opened.st_dev == named.st_dev
        && opened.st_ino == named.st_ino;
}

} // namespace

Result<NamespaceLock> NamespaceLock::acquire(std::string const& name)
{
    std::error_code error;
    std::filesystem::create_directories(directory, error);
    if (error)
        return make_error(ErrorCode::FailedPrecondition, "network namespace {}: creating {}: {}", name, directory, error.message());
    auto path = path_of(name);
    // An owner removing its file may unlink it between our open and our flock:
    // then the lock we got is on a file nobody else will look at, so retry.
    for (;;) {
        bool left_behind = true;
        UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
        if (!fd && errno == ENOENT) {
            left_behind = false;
            fd.reset(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
            if (!fd && errno == EEXIST)
                continue;
        }
        if (!fd)
            return errno_error(fmt::format("network namespace {}: open {}", name, path));
        if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
            if (errno != EWOULDBLOCK)
                return errno_error(fmt::format("network namespace {}: flock {}", name, path));
            pid_t owner = recorded_pid(fd.get());
            if (owner > 0 && (::kill(owner, 0) == 0 || errno == EPERM))
                return make_error(ErrorCode::AlreadyExists, "network namespace {} is in use by a running nooks (pid {})", name, owner);
            return make_error(ErrorCode::AlreadyExists, "network namespace {} is in use by a running nooks (a process holds the lock {})", name,
                path);
        }
        if (!same_file(fd.get(), path))
            continue;
        pid_t previous = left_behind ? recorded_pid(fd.get()) : 0;
        auto pid = fmt::format("{}\n", ::getpid());
        if (::ftruncate(fd.get(), 0) != 0 || ::pwrite(fd.get(), pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size()))
            return errno_error(fmt::format("network namespace {}: writing {}", name, path));
        return NamespaceLock(std::move(path), std::move(fd), left_behind, previous);
    }
}

void NamespaceLock::remove()
{
    if (!m_fd)
        return;
    ::unlink(m_path.c_str());
    m_fd.reset();
}

} // namespace nk
