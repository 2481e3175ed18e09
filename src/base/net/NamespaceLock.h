// SPDX-License-Identifier: MIT
#pragma once

// Who owns a network namespace nooks created: a lock file per namespace,
// /run/nooks/netns/NAME.lock, flock'd exclusively by the owning process for as
// long as it owns the namespace, and holding its pid. The system drops an
// flock when its process dies, however it dies, so:
//   - a held lock is a live owner;
//   - a lock file whose lock is free was left by a nooks that is gone, and a
//     namespace of that name is stale (NetNamespace::create removes it);
//   - no lock file: nooks never created the name (an `ip netns add` did, or
//     nobody).
// The owner removes the file when it removes the namespace.
//
// Thread-safety: one owner; acquire() from any thread. flock locks belong to
// an open file, so a second acquire() of a name in the same process fails too.

#include "base/Error.h"
#include "base/UniqueFd.h"

#include <string>
#include <sys/types.h>

namespace nk {

class NamespaceLock {
public:
    // Where the lock files live.
    static constexpr char const* directory = "/run/nooks/netns";
    static std::string path_of(std::string const& name) { return std::string(directory) + "/" + name + ".lock"; }

    // Takes the lock of `name` (creating the directory and the file as needed)
    // and records this process's pid in it. AlreadyExists when another owner
    // holds it: "network namespace NAME is in use by a running nooks (pid N)",
    // or "(a process holds the lock PATH)" when the pid it recorded is gone
    // (a child that inherited the descriptor); FailedPrecondition or the
    // system's error, naming the namespace and the path, when the directory
    // or the file cannot be made.
    static Result<NamespaceLock> acquire(std::string const& name);

    NamespaceLock(NamespaceLock&&) = default;
    NamespaceLock& operator=(NamespaceLock&&) = default;
    // Releases the lock and leaves the file (its owner is then "gone").
    ~NamespaceLock() = default;

    // True if the lock file was there before acquire(): a nooks owned this
    // name before and is gone.
    bool was_left_behind() const { return m_left_behind; }
    // The pid the previous owner recorded, or 0 if unknown.
    pid_t previous_owner() const { return m_previous_owner; }
    // Removes the file, then releases the lock. For the owner removing its namespace.
    void remove();

private:
    NamespaceLock(std::string path, UniqueFd fd, bool left_behind, pid_t previous_owner)
        : m_path(std::move(path))
        , m_fd(std::move(fd))
        , m_left_behind(left_behind)
        , m_previous_owner(previous_owner)
    {
    }

    std::string m_path;
    UniqueFd m_fd;
    bool m_left_behind;
    pid_t m_previous_owner;
};

} // namespace nk
