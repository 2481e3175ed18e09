// SPDX-License-Identifier: MIT
#pragma once

// A named network namespace, as `ip netns` names them: the namespace file
// bind-mounted at /run/netns/NAME, so `ip netns list`, `ip -n NAME ...` and
// `ip netns exec NAME ...` see it.
//
// create() makes one and owns it: the object removes it when destroyed (or
// at remove()), and holds its NamespaceLock meanwhile, so a second nooks
// cannot take the name and a namespace left by a nooks that died is known as
// stale and replaced (the processes still in it are killed first, with a
// warning naming the namespace). open() gives a handle on an existing
// namespace and never removes it unless remove() is called.
//
// Threads: nothing here changes the calling thread's namespace. run_in()
// runs a function on a short-lived thread that entered the namespace; a
// socket or a TAP opened there belongs to the namespace for good (the way to
// open one "inside" it). Processes are started in it by NamespaceProcess.
// The const members may be called from any thread; create/remove/moves from
// the owner's.

#include "base/Error.h"
#include "base/UniqueFd.h"
#include "base/net/NamespaceLock.h"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <type_traits>
#include <vector>

namespace nk {

class NetNamespace {
public:
    // Where `ip netns` keeps the namespaces.
    static constexpr char const* directory = "/run/netns";
    static std::string path_of(std::string const& name) { return std::string(directory) + "/" + name; }

    // A name is 1..64 of [A-Za-z0-9._-], not "." or "..". InvalidArgument otherwise.
    static Result<void> check_name(std::string_view name);
    // True if /run/netns/NAME exists.
    static bool exists(std::string const& name);

    // Creates the namespace NAME and owns it. AlreadyExists if a running nooks
    // owns the name ("in use by a running nooks (pid N)") or if a namespace of
    // that name exists that nooks did not create (left alone). Needs root.
    static Result<NetNamespace> create(std::string name);
    // A handle on the existing namespace NAME (not owned). NotFound if there is
    // none; FailedPrecondition if the file is not a network namespace.
    static Result<NetNamespace> open(std::string name);

    NetNamespace(NetNamespace&& other) noexcept;
    NetNamespace& operator=(NetNamespace&& other) noexcept;
    // An owned namespace is removed (errors are logged).
    ~NetNamespace();

    std::string const& name() const { return m_name; }
    std::string path() const { return path_of(m_name); }
    bool owned() const { return m_lock.has_value(); }
    // The namespace's descriptor (for setns), -1 once removed.
    int fd() const { return m_fd.get(); }

    // Unmounts (MNT_DETACH) and unlinks /run/netns/NAME, closes fd() and
    // drops the lock (removing its file). The namespace itself goes once
    // nothing uses it any more (no process in it, no socket or TAP of it
    // open). Idempotent: after a success, or on a moved-from object, does
    // nothing (the name may be someone else's by then). On failure ("removing
    // network namespace NAME: umount /run/netns/NAME: ...") the handle and the
    // lock are kept, so a later call (or the destructor) tries again.
    Result<void> remove();

    // The processes whose network namespace this is (as `ip netns pids`).
    std::vector<pid_t> pids() const;

    // Runs `fn` on a new thread that entered the namespace, and waits for it.
    // The calling thread's own namespace never changes. Fails only if the
    // thread cannot be made or cannot enter the namespace.
    Result<void> run_in(std::function<void()> const& fn) const;
    // The same, returning what `fn` returns (a Result<T> is passed through).
    template<typename Fn>
    auto call_in(Fn&& fn) const
    {
        using R = std::invoke_result_t<Fn&>;
        if constexpr (std::is_void_v<R>) {
            return run_in(fn);
        } else if constexpr (requires { typename R::error_type; }) {
            std::optional<R> result;
            if (auto ran = run_in([&] { result.emplace(fn()); }); !ran)
                return R(std::unexpected(std::move(ran).error()));
            return std::move(*result);
        } else {
            std::optional<R> result;
            if (auto ran = run_in([&] { result.emplace(fn()); }); !ran)
                return Result<R>(std::unexpected(std::move(ran).error()));
            return Result<R>(std::move(*result));
        }
    }

private:
    NetNamespace(std::string name, UniqueFd fd, std::optional<NamespaceLock> lock)
        : m_name(std::move(name))
        , m_fd(std::move(fd))
        , m_lock(std::move(lock))
    {
    }

    std::string m_name;
    UniqueFd m_fd;
    // Held while this object owns the namespace.
    std::optional<NamespaceLock> m_lock;
};

} // namespace nk
