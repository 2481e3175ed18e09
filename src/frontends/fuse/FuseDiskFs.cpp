// SPDX-License-Identifier: MIT
#define FUSE_USE_VERSION 35
#include "frontends/fuse/FuseDiskFs.h"

#include "base/Log.h"
#include "classes/block/BlockIo.h"

#include <nooks/uapi/blkioctl.h>

#include <fuse3/fuse_lowlevel.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mount.h>
#include <sys/stat.h>

namespace nk {

static auto logger() { return log::get("fuse"); }

static constexpr fuse_ino_t root_ino = FUSE_ROOT_ID;
// Attributes may be cached briefly; entries not at all, because a disk can be
// unregistered and registered again (as a new file) by driver recovery.
static constexpr double attr_timeout = 1.0;
static constexpr double entry_timeout = 0.0;
static constexpr size_t max_transfer = 1u << 20;

struct FuseDiskFs::Node {
    uint64_t ino;
    std::shared_ptr<Disk> disk;
    Mutex mutex;
    uint32_t mode NK_GUARDED_BY(mutex);
    uid_t uid NK_GUARDED_BY(mutex) { 0 };
    gid_t gid NK_GUARDED_BY(mutex) { 0 };
    timespec atime NK_GUARDED_BY(mutex) {};
    timespec mtime NK_GUARDED_BY(mutex) {};
    timespec ctime NK_GUARDED_BY(mutex) {};
};

struct FuseDiskFs::OpenFile {
    std::shared_ptr<Node> node;
};

static FuseDiskFs& self(fuse_req_t req) { return *static_cast<FuseDiskFs*>(fuse_req_userdata(req)); }

static timespec now()
{
    timespec ts {};
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts;
}

static struct stat node_stat(FuseDiskFs::Node& node)
{
    struct stat st { };
    MutexLocker lock(node.mutex);
    st.st_ino = node.ino;
    st.st_mode = S_IFREG | node.mode;
    st.st_nlink = node.disk->alive() ? 1 : 0;
    st.st_uid = node.uid;
    st.st_gid = node.gid;
    st.st_size = static_cast<off_t>(node.disk->geometry().capacity_bytes());
    st.st_blksize = 4096;
    st.st_blocks = st.st_size / 512;
    st.st_atim = node.atime;
    st.st_mtim = node.mtime;
    st.st_ctim = node.ctime;
    return st;
}

static struct stat root_stat()
{
    static timespec const boot = now();
    struct stat st { };
    st.st_ino = root_ino;
    st.st_mode = S_IFDIR | 0755;
    st.st_nlink = 2;
    st.st_atim = st.st_mtim = st.st_ctim = boot;
    return st;
}

// --- Callbacks ---------------------------------------------------------------

static void op_init(void*, fuse_conn_info* conn)
{
    conn->max_write = max_transfer;
    conn->max_readahead = 0;
    // Data goes straight to the disk; the kernel must not cache or reorder it.
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, char const* name)
{
    if (parent != root_ino) {
        fuse_reply_err(req, ENOTDIR);
        return;
    }
    auto node = self(req).node_by_name(name);
    if (!node) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    fuse_entry_param entry {};
    entry.ino = node->ino;
    entry.generation = 1;
    entry.attr = node_stat(*node);
    entry.attr_timeout = attr_timeout;
    entry.entry_timeout = entry_timeout;
    fuse_reply_entry(req, &entry);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*)
{
    if (ino == root_ino) {
        auto st = root_stat();
        fuse_reply_attr(req, &st, attr_timeout);
        return;
    }
    auto node = self(req).node_by_ino(ino);
    if (!node) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    auto st = node_stat(*node);
    fuse_reply_attr(req, &st, attr_timeout);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info*)
{
    if (ino == root_ino) {
        fuse_reply_err(req, EPERM);
        return;
    }
    auto node = self(req).node_by_ino(ino);
    if (!node) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    // A disk has a fixed size: "truncating" it to its own size is the only resize allowed.
    if ((to_set & FUSE_SET_ATTR_SIZE) != 0
        && static_cast<uint64_t>(attr->st_size) != node->disk->geometry().capacity_bytes()) {
        fuse_reply_err(req, EINVAL);
        return;
    }
    {
        MutexLocker lock(node->mutex);
        auto const t = now();
        if ((to_set & FUSE_SET_ATTR_MODE) != 0)
            node->mode = attr->st_mode & 07777;
        if ((to_set & FUSE_SET_ATTR_UID) != 0)
            node->uid = attr->st_uid;
        if ((to_set & FUSE_SET_ATTR_GID) != 0)
            node->gid = attr->st_gid;
        if ((to_set & FUSE_SET_ATTR_ATIME_NOW) != 0)
            node->atime = t;
        else if ((to_set & FUSE_SET_ATTR_ATIME) != 0)
            node->atime = attr->st_atim;
        if ((to_set & FUSE_SET_ATTR_MTIME_NOW) != 0)
            node->mtime = t;
        else if ((to_set & FUSE_SET_ATTR_MTIME) != 0)
            node->mtime = attr->st_mtim;
        node->ctime = t;
    }
    auto st = node_stat(*node);
    fuse_reply_attr(req, &st, attr_timeout);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info*)
{
    if (ino != root_ino) {
        fuse_reply_err(req, ENOTDIR);
        return;
    }
    struct Entry {
        std::string name;
        struct stat st;
    };
    std::vector<Entry> entries;
    entries.push_back({ ".", root_stat() });
    entries.push_back({ "..", root_stat() });
    for (auto const& node : self(req).listed_nodes())
        entries.push_back({ node->disk->name(), node_stat(*node) });

    std::vector<char> buffer(size);
    size_t used = 0;
    for (auto index = static_cast<size_t>(offset); index < entries.size(); ++index) {
        auto const& entry = entries[index];
        auto needed = fuse_add_direntry(req, buffer.data() + used, size - used, entry.name.c_str(), &entry.st,
            static_cast<off_t>(index + 1));
        if (needed > size - used)
            break;
        used += needed;
    }
    fuse_reply_buf(req, buffer.data(), used);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi)
{
    if (ino == root_ino) {
        fuse_reply_err(req, EISDIR);
        return;
    }
    auto node = self(req).node_by_ino(ino);
    if (!node) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    if (auto opened = node->disk->open(); !opened) {
        logger()->warn("open {}: {}", node->disk->name(), opened.error());
        fuse_reply_err(req, opened.error().to_errno());
        return;
    }
    auto* file = new FuseDiskFs::OpenFile { node };
    fi->fh = reinterpret_cast<uint64_t>(file);
    // Every read and write reaches the disk: no page cache between the
    // application and the driver, so flush and FUA mean what they say.
    fi->direct_io = 1;
    fi->keep_cache = 0;
    if (fuse_reply_open(req, fi) != 0) {
        node->disk->release();
        delete file;
    }
}

static FuseDiskFs::OpenFile& open_file(fuse_file_info* fi) { return *reinterpret_cast<FuseDiskFs::OpenFile*>(fi->fh); }

static void op_release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi)
{
    auto* file = &open_file(fi);
    file->node->disk->release();
    delete file;
    fuse_reply_err(req, 0);
}

static std::byte* read_buffer(size_t size)
{
    // One buffer per worker thread, page-aligned, reused for every read.
    struct Buffer {
        std::byte* data { nullptr };
        size_t size { 0 };
        ~Buffer() { std::free(data); }
    };
    thread_local Buffer buffer;
    if (buffer.size < size) {
        std::free(buffer.data);
        buffer.data = static_cast<std::byte*>(std::aligned_alloc(4096, (size + 4095) & ~size_t(4095)));
        buffer.size = buffer.data != nullptr ? size : 0;
    }
    return buffer.data;
}

static void op_read(fuse_req_t req, fuse_ino_t, size_t size, off_t offset, fuse_file_info* fi)
{
    auto& disk = *open_file(fi).node->disk;
    auto capacity = disk.geometry().capacity_bytes();
    if (offset < 0 || static_cast<uint64_t>(offset) >= capacity || size == 0) {
        fuse_reply_buf(req, nullptr, 0);
        return;
    }
    size = static_cast<size_t>(std::min<uint64_t>(size, capacity - static_cast<uint64_t>(offset)));
    auto* buffer = read_buffer(size);
    if (buffer == nullptr) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    if (auto done = block_io::read(disk, static_cast<uint64_t>(offset), std::span(buffer, size)); !done) {
        logger()->warn("{}", done.error());
        fuse_reply_err(req, done.error().to_errno());
        return;
    }
    fuse_reply_buf(req, reinterpret_cast<char const*>(buffer), size);
}

static void op_write(fuse_req_t req, fuse_ino_t, char const* data, size_t size, off_t offset, fuse_file_info* fi)
{
    auto& node = *open_file(fi).node;
    auto& disk = *node.disk;
    auto capacity = disk.geometry().capacity_bytes();
    if (offset < 0 || static_cast<uint64_t>(offset) >= capacity) {
        fuse_reply_err(req, size == 0 ? 0 : ENOSPC);
        return;
    }
    size = static_cast<size_t>(std::min<uint64_t>(size, capacity - static_cast<uint64_t>(offset)));
    bool durable = (fi->flags & (O_DSYNC | O_SYNC)) != 0;
    auto bytes = std::span(reinterpret_cast<std::byte const*>(data), size);
    if (auto done = block_io::write(disk, static_cast<uint64_t>(offset), bytes, durable); !done) {
        logger()->warn("{}", done.error());
        fuse_reply_err(req, done.error().to_errno());
        return;
    }
    fuse_reply_write(req, size);
}

static void op_fsync(fuse_req_t req, fuse_ino_t, int, fuse_file_info* fi)
{
    auto& disk = *open_file(fi).node->disk;
    auto done = block_io::flush(disk);
    if (!done)
        logger()->warn("{}", done.error());
    fuse_reply_err(req, done ? 0 : done.error().to_errno());
}

static void op_flush(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, 0); }

static void op_statfs(fuse_req_t req, fuse_ino_t)
{
    struct statvfs st { };
    st.f_bsize = 4096;
    st.f_frsize = 4096;
    st.f_namemax = 31;
    for (auto const& node : self(req).listed_nodes()) {
        st.f_blocks += node->disk->geometry().capacity_bytes() / 4096;
        st.f_files++;
    }
    fuse_reply_statfs(req, &st);
}

static void op_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void*, fuse_file_info* fi, unsigned flags,
    void const* in_buf, size_t in_size, size_t out_size)
{
    if (ino == root_ino || (flags & FUSE_IOCTL_COMPAT) != 0) {
        fuse_reply_err(req, ENOTTY);
        return;
    }
    auto& disk = *open_file(fi).node->disk;
    switch (cmd) {
    case NKBLK_IOC_GET_WRITE_CACHE: {
        if (out_size < sizeof(uint32_t)) {
            fuse_reply_err(req, EINVAL);
            return;
        }
        auto result = disk.ioctl(NK_BLK_IOCTL_GET_WRITE_CACHE, 0);
        if (!result || *result < 0) {
            fuse_reply_err(req, result ? -*result : result.error().to_errno());
            return;
        }
        uint32_t value = static_cast<uint32_t>(*result);
        fuse_reply_ioctl(req, 0, &value, sizeof(value));
        return;
    }
    case NKBLK_IOC_SET_WRITE_CACHE: {
        if (in_size < sizeof(uint32_t)) {
            fuse_reply_err(req, EINVAL);
            return;
        }
        uint32_t value = 0;
        std::memcpy(&value, in_buf, sizeof(value));
        auto result = disk.ioctl(NK_BLK_IOCTL_SET_WRITE_CACHE, value);
        if (!result || *result < 0) {
            fuse_reply_err(req, result ? -*result : result.error().to_errno());
            return;
        }
        fuse_reply_ioctl(req, 0, nullptr, 0);
        return;
    }
    default:
        fuse_reply_err(req, ENOTTY);
    }
}

static void op_fallocate(fuse_req_t req, fuse_ino_t, int, off_t, off_t, fuse_file_info*) { fuse_reply_err(req, EOPNOTSUPP); }

static fuse_lowlevel_ops const operations = [] {
    fuse_lowlevel_ops ops {};
    ops.init = op_init;
    ops.lookup = op_lookup;
    ops.getattr = op_getattr;
    ops.setattr = op_setattr;
    ops.readdir = op_readdir;
    ops.open = op_open;
    ops.release = op_release;
    ops.read = op_read;
    ops.write = op_write;
    ops.fsync = op_fsync;
    ops.flush = op_flush;
    ops.statfs = op_statfs;
    ops.ioctl = op_ioctl;
    ops.fallocate = op_fallocate;
    return ops;
}();

// --- Lifecycle ---------------------------------------------------------------

// Workers are woken for shutdown by this signal (it interrupts their read of /dev/fuse).
static constexpr int wake_signal = SIGUSR2;

static void install_wake_handler()
{
    static std::once_flag once;
    std::call_once(once, [] {
        struct sigaction action { };
        action.sa_handler = [](int) {};
        sigemptyset(&action.sa_mask);
        action.sa_flags = 0; // no SA_RESTART: the blocked read must return EINTR
        sigaction(wake_signal, &action, nullptr);
    });
}

FuseDiskFs::FuseDiskFs(BlockLayer& block, Options options)
    : m_block(block)
    , m_options(std::move(options))
{
}

Result<std::unique_ptr<FuseDiskFs>> FuseDiskFs::mount(BlockLayer& block, Options options)
{
    if (options.threads == 0 || options.threads > 64)
        return make_error(ErrorCode::InvalidArgument, "fuse: threads must be 1..64");
    auto fs = std::unique_ptr<FuseDiskFs>(new FuseDiskFs(block, std::move(options)));

    // auto_unmount: fusermount3 watches the session and unmounts when this
    // process dies (a native driver crash, a SIGKILL), so no dead mount is
    // left behind for the next user of the directory.
    std::vector<std::string> arguments { "nooks", "-o", "fsname=nooks,subtype=nooks,default_permissions,auto_unmount" };
    std::vector<char*> argv;
    for (auto& argument : arguments)
        argv.push_back(argument.data());
    fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
    fs->m_session = fuse_session_new(&args, &operations, sizeof(operations), fs.get());
    // Parsing may have copied the arguments into memory of its own.
    fuse_opt_free_args(&args);
    if (fs->m_session == nullptr)
        return make_error(ErrorCode::Internal, "fuse: cannot create a session");
    if (fuse_session_mount(fs->m_session, fs->m_options.mountpoint.c_str()) != 0)
        return make_error(ErrorCode::FailedPrecondition, "fuse: cannot mount on {} (see the message above)",
            fs->m_options.mountpoint);
    fs->m_mounted = true;

    for (auto const& disk : block.disks())
        fs->disk_added(disk);
    block.add_listener(*fs);

    install_wake_handler();
    for (unsigned i = 0; i < fs->m_options.threads; ++i) {
        pthread_t thread {};
        auto start = [](void* raw) -> void* {
            static_cast<FuseDiskFs*>(raw)->worker();
            return nullptr;
        };
        if (pthread_create(&thread, nullptr, start, fs.get()) != 0)
            return make_error(ErrorCode::ResourceExhausted, "fuse: cannot start worker thread");
        fs->m_workers.push_back(thread);
    }
    logger()->info("disks mounted at {} ({} workers)", fs->m_options.mountpoint, fs->m_options.threads);
    return fs;
}

FuseDiskFs::~FuseDiskFs()
{
    unmount();
    if (m_session != nullptr)
        fuse_session_destroy(m_session);
}

void FuseDiskFs::worker()
{
    pthread_setname_np(pthread_self(), "nk-fuse");
    sigset_t wake;
    sigemptyset(&wake);
    sigaddset(&wake, wake_signal);
    pthread_sigmask(SIG_UNBLOCK, &wake, nullptr);

    fuse_buf buffer {};
    while (!m_stopping.load(std::memory_order_acquire)) {
        int received = fuse_session_receive_buf(m_session, &buffer);
        if (received == -EINTR)
            continue;
        if (received <= 0)
            break; // unmounted (ENODEV) or the session ended
        fuse_session_process_buf(m_session, &buffer);
    }
    std::free(buffer.mem);
}

void FuseDiskFs::unmount()
{
    if (!m_mounted)
        return;
    m_mounted = false;
    m_block.remove_listener(*this);
    m_stopping.store(true, std::memory_order_release);

    auto const& path = m_options.mountpoint;
    if (::umount2(path.c_str(), 0) != 0) {
        if (errno == EBUSY) {
            logger()->warn("{} is still in use (a loop device on a disk file?): detaching it; its users get I/O errors now",
                path);
            ::umount2(path.c_str(), MNT_DETACH);
        } else {
            logger()->warn("unmount {}: {}", path, std::strerror(errno));
        }
    }
    // Workers blocked in read() are interrupted; each sees m_stopping and leaves.
    for (auto thread : m_workers) {
        for (;;) {
            pthread_kill(thread, wake_signal);
            timespec until {};
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += 50'000'000;
            if (until.tv_nsec >= 1'000'000'000) {
                until.tv_sec++;
                until.tv_nsec -= 1'000'000'000;
            }
            if (pthread_timedjoin_np(thread, nullptr, &until) == 0)
                break;
        }
    }
    // Closes /dev/fuse (after a lazy detach this aborts the connection).
    fuse_session_unmount(m_session);
    m_workers.clear();
    logger()->info("{} unmounted", path);
}

void FuseDiskFs::disk_added(std::shared_ptr<Disk> const& disk)
{
    auto node = std::make_shared<Node>();
    node->ino = disk->id() + 1; // 1 is the root
    node->disk = disk;
    {
        MutexLocker node_lock(node->mutex);
        node->mode = m_options.file_mode & 07777;
        node->atime = node->mtime = node->ctime = now();
    }
    MutexLocker lock(m_mutex);
    m_nodes[node->ino] = node;
    m_names[disk->name()] = node;
}

void FuseDiskFs::disk_removed(std::shared_ptr<Disk> const& disk)
{
    MutexLocker lock(m_mutex);
    auto it = m_names.find(disk->name());
    if (it != m_names.end() && it->second->disk == disk)
        m_names.erase(it);
}

std::shared_ptr<FuseDiskFs::Node> FuseDiskFs::node_by_ino(uint64_t ino) const
{
    MutexLocker lock(m_mutex);
    auto it = m_nodes.find(ino);
    return it != m_nodes.end() ? it->second : nullptr;
}

std::shared_ptr<FuseDiskFs::Node> FuseDiskFs::node_by_name(std::string const& name) const
{
    MutexLocker lock(m_mutex);
    auto it = m_names.find(name);
    return it != m_names.end() ? it->second : nullptr;
}

std::vector<std::pair<std::string, std::string>> FuseDiskFs::endpoints() const
{
    MutexLocker lock(m_mutex);
    std::vector<std::pair<std::string, std::string>> result;
    for (auto const& [name, node] : m_names)
        result.emplace_back(name, file_path(name));
    return result;
}

std::vector<std::shared_ptr<FuseDiskFs::Node>> FuseDiskFs::listed_nodes() const
{
    MutexLocker lock(m_mutex);
    std::vector<std::shared_ptr<Node>> result;
    for (auto const& [name, node] : m_names)
        result.push_back(node);
    return result;
}

} // namespace nk
