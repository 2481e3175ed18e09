// SPDX-License-Identifier: MIT
#include "base/net/NetNamespace.h"

#include "base/Log.h"
#include "base/Mutex.h"

#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace nk {

namespace {

// Makes /run/netns a shared mount point, the way iproute2 does, so that the
// namespaces mounted in it show in every mount namespace that shares it (an
// `ip netns exec` child's, a later `ip netns add`'s). Once per process is
// enough, but it is cheap and idempotent.
Result<void> prepare_directory()
{
    static Mutex mutex;
    MutexLocker lock(mutex);
    if (::mkdir(NetNamespace::directory, 0755) != 0 && errno != EEXIST)
        return errno_error(fmt::format("mkdir {}", NetNamespace::directory));
    bool bound = false;
    while (::mount("", NetNamespace::directory, "none", MS_SHARED | MS_REC, nullptr) != 0) {
        // EINVAL: not a mount point yet. Make it one by binding it on itself.
        if (errno != EINVAL || bound)
            return errno_error(fmt::format("make {} a shared mount", NetNamespace::directory));
        if (::mount(NetNamespace::directory, NetNamespace::directory, "none", MS_BIND | MS_REC, nullptr) != 0)
            return errno_error(fmt::format("bind-mount {} on itself", NetNamespace::directory));
        bound = true;
    }
    return {};
}

// Unmounts and unlinks a namespace file; what is already gone is no error.
Result<void> unmount_and_unlink(std::string const& path)
{
    if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
        return errno_error(fmt::format("umount {}", path));
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        return errno_error(fmt::format("unlink {}", path));
    return {};
}

// The processes whose network namespace is the nsfs inode `ns`.
std::vector<pid_t> pids_in(struct stat const& ns)
{
    std::vector<pid_t> pids;
    std::error_code error;
    for (auto const& entry : std::filesystem::directory_iterator("/proc", error)) {
        auto name = entry.path().filename().string();
        pid_t pid = 0;
        auto [end, parse_error] = std::from_chars(name.data(), name.data() + name.size(), pid);
        if (parse_error != std::errc() || end != name.data() + name.size())
            continue;
        struct stat net { };
        if (::stat(fmt::format("/proc/{}/ns/net", pid).c_str(), &net) == 0 && net.st_dev == ns.st_dev && net.st_ino == ns.st_ino)
            pids.push_back(pid);
    }
    return pids;
}

// Removes the namespace file a nooks that is gone left at `path`, after
// killing what still runs in it (servers a peer host started).
void remove_stale(std::string const& name, std::string const& path, pid_t owner)
{
    auto logger = log::get("net");
    logger->warn("network namespace {}: removing the stale namespace left by a nooks that is gone{}", name,
        owner > 0 ? fmt::format(" (pid {})", owner) : std::string());
    struct stat ns { };
    if (::stat(path.c_str(), &ns) == 0) {
        for (auto pid : pids_in(ns)) {
            logger->warn("network namespace {}: killing pid {} left running in the stale namespace", name, pid);
            ::kill(pid, SIGKILL);
        }
    }
    if (auto removed = unmount_and_unlink(path); !removed)
        logger->warn("network namespace {}: {}", name, removed.error().message());
}

} // namespace

Result<void> NetNamespace::check_name(std::string_view name)
{
    if (name.empty() || name.size() > 64 || name == "." || name == "..")
        return make_error(ErrorCode::InvalidArgument, "network namespace name '{}': must be 1..64 characters, not '.' or '..'", name);
    for (char c : name) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!ok)
            return make_error(ErrorCode::InvalidArgument, "network namespace name '{}': only letters, digits, '.', '_' and '-'", name);
    }
    return {};
}

bool NetNamespace::exists(std::string const& name)
{
    struct stat st { };
    return check_name(name) && ::lstat(path_of(name).c_str(), &st) == 0;
}

Result<NetNamespace> NetNamespace::create(std::string name)
{
    TRY(check_name(name));
    auto lock = TRY(NamespaceLock::acquire(name));
    auto path = path_of(name);
    struct stat st { };
    if (::lstat(path.c_str(), &st) == 0) {
        if (!lock.was_left_behind()) {
            lock.remove();
            return make_error(ErrorCode::AlreadyExists,
                "network namespace {} already exists and nooks did not create it (remove it with `ip netns delete {}` or choose another name)",
                name, name);
        }
        remove_stale(name, path, lock.previous_owner());
    }
    auto context = fmt::format("network namespace {}", name);
    if (auto prepared = prepare_directory(); !prepared)
        return std::unexpected(std::move(prepared).error().with_context(context));
    UniqueFd file(::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0));
    if (!file)
        return errno_error(fmt::format("{}: create {}", context, path));
    file.reset();

    // unshare() moves only the calling thread; a thread that ends right after
    // leaves the new namespace held by the bind mount alone.
    char const* failed = nullptr;
    int error = 0;
    std::thread([&] {
        if (::unshare(CLONE_NEWNET) != 0)
            failed = "unshare(CLONE_NEWNET)";
        else if (::mount("/proc/thread-self/ns/net", path.c_str(), "none", MS_BIND, nullptr) != 0)
            failed = "bind-mount /proc/thread-self/ns/net";
        error = errno;
    }).join();
    if (failed != nullptr) {
        ::unlink(path.c_str());
        lock.remove();
        return std::unexpected(Error::from_errno(error, fmt::format("{}: {}", context, failed)));
    }
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        int open_error = errno;
        (void)unmount_and_unlink(path);
        lock.remove();
        return std::unexpected(Error::from_errno(open_error, fmt::format("{}: open {}", context, path)));
    }
    log::get("net")->debug("{}: created", context);
    return NetNamespace(std::move(name), std::move(fd), std::move(lock));
}

Result<NetNamespace> NetNamespace::open(std::string name)
{
    TRY(check_name(name));
    auto path = path_of(name);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT)
            return make_error(ErrorCode::NotFound, "network namespace {}: there is none ({} does not exist)", name, path);
        return errno_error(fmt::format("network namespace {}: open {}", name, path));
    }
    int type = ::ioctl(fd.get(), NS_GET_NSTYPE);
    if (type != CLONE_NEWNET)
        return make_error(ErrorCode::FailedPrecondition, "network namespace {}: {} is not a network namespace (not mounted?)", name, path);
    return NetNamespace(std::move(name), std::move(fd), std::nullopt);
}

NetNamespace::NetNamespace(NetNamespace&& other) noexcept
    : m_name(std::move(other.m_name))
    , m_fd(std::move(other.m_fd))
    , m_lock(std::move(other.m_lock))
{
    other.m_lock.reset();
}

NetNamespace& NetNamespace::operator=(NetNamespace&& other) noexcept
{
    if (this != &other) {
        if (owned()) {
            if (auto removed = remove(); !removed)
                log::get("net")->error("network namespace {}: {}", m_name, removed.error().message());
        }
        m_name = std::move(other.m_name);
        m_fd = std::move(other.m_fd);
        m_lock = std::move(other.m_lock);
        other.m_lock.reset();
    }
    return *this;
}

NetNamespace::~NetNamespace()
{
    if (!owned())
        return;
    if (auto removed = remove(); !removed)
        log::get("net")->error("network namespace {}: {}", m_name, removed.error().message());
}

Result<void> NetNamespace::remove()
{
    // Once removed (or moved from), the name may be someone else's: never touch it again.
    if (!m_fd)
        return {};
    if (auto removed = unmount_and_unlink(path()); !removed)
        return std::unexpected(std::move(removed).error().with_context(fmt::format("removing network namespace {}", m_name)));
    m_fd.reset();
    if (m_lock) {
        m_lock->remove();
        m_lock.reset();
    }
    log::get("net")->debug("network namespace {}: removed", m_name);
    return {};
}

std::vector<pid_t> NetNamespace::pids() const
{
    struct stat ns { };
    if (!m_fd || ::fstat(m_fd.get(), &ns) != 0)
        return {};
    return pids_in(ns);
}

Result<void> NetNamespace::run_in(std::function<void()> const& fn) const
{
    if (!m_fd)
        return make_error(ErrorCode::FailedPrecondition, "network namespace {}: removed", m_name);
    int error = 0;
    try {
        std::thread([&] {
            if (::setns(m_fd.get(), CLONE_NEWNET) != 0) {
                error = errno;
                return;
            }
            fn();
        }).join();
    } catch (std::system_error const& e) {
        return make_error(ErrorCode::ResourceExhausted, "network namespace {}: starting a thread: {}", m_name, e.what());
    }
    if (error != 0)
        return std::unexpected(Error::from_errno(error, fmt::format("network namespace {}: setns", m_name)));
    return {};
}

} // namespace nk
