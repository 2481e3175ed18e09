// SPDX-License-Identifier: MIT
// The OSS frontend's mount, workers and shutdown, and its files: a dsp and a
// mixer node per card, added and removed as cards come and go.

#include "frontends/oss/OssFuseOps.h"

#include "base/Log.h"

#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>
#include <sys/mount.h>

namespace nk {

static auto logger() { return log::get("oss"); }

// --- Poll handles and open files ----------------------------------------------

OssPollState::~OssPollState() { close(); }

void OssPollState::replace(fuse_pollhandle* handle)
{
    fuse_pollhandle* previous = nullptr;
    {
        MutexLocker lock(m_mutex);
        if (m_closed) {
            previous = handle;
        } else {
            previous = m_handle;
            m_handle = handle;
        }
    }
    if (previous != nullptr)
        fuse_pollhandle_destroy(previous);
}

void OssPollState::notify()
{
    MutexLocker lock(m_mutex);
    if (m_handle != nullptr)
        fuse_lowlevel_notify_poll(m_handle);
}

void OssPollState::close()
{
    fuse_pollhandle* handle = nullptr;
    {
        MutexLocker lock(m_mutex);
        m_closed = true;
        std::swap(handle, m_handle);
    }
    if (handle != nullptr)
        fuse_pollhandle_destroy(handle);
}

void OssFrontend::OpenFile::close_streams()
{
    if (closed.exchange(true))
        return;
    for (auto** pcm : { &dsp.playback, &dsp.capture }) {
        if (*pcm == nullptr)
            continue;
        (*pcm)->set_notifier(nullptr);
        (*pcm)->close();
    }
    poll->close();
}

// --- Lifecycle -----------------------------------------------------------------

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

OssFrontend::OssFrontend(SoundLayer& sound, Options options)
    : m_sound(sound)
    , m_options(std::move(options))
{
}

Result<std::unique_ptr<OssFrontend>> OssFrontend::mount(SoundLayer& sound, Options options)
{
    if (options.threads < 2 || options.threads > 64)
        return make_error(ErrorCode::InvalidArgument, "oss: threads must be 2..64 (a blocked write holds one)");
    auto fs = std::unique_ptr<OssFrontend>(new OssFrontend(sound, std::move(options)));

    // auto_unmount: fusermount3 unmounts when this process dies.
    std::string mount_options = "fsname=nooks-sound,subtype=nooks,default_permissions,auto_unmount";
    if (fs->m_options.allow_other)
        mount_options += ",allow_other";
    std::vector<std::string> arguments { "nooks", "-o", mount_options };
    std::vector<char*> argv;
    for (auto& argument : arguments)
        argv.push_back(argument.data());
    fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
    auto const& operations = oss_fuse_operations();
    fs->m_session = fuse_session_new(&args, &operations, sizeof(operations), fs.get());
    fuse_opt_free_args(&args);
    if (fs->m_session == nullptr)
        return make_error(ErrorCode::Internal, "oss: cannot create a FUSE session");
    if (fuse_session_mount(fs->m_session, fs->m_options.mountpoint.c_str()) != 0)
        return make_error(ErrorCode::FailedPrecondition, "oss: cannot mount on {} (see the message above)",
            fs->m_options.mountpoint);
    fs->m_mounted = true;

    sound.add_listener(*fs);
    for (auto const& card : sound.cards())
        fs->card_added(card);

    install_wake_handler();
    for (unsigned i = 0; i < fs->m_options.threads; ++i) {
        pthread_t thread {};
        auto start = [](void* raw) -> void* {
            static_cast<OssFrontend*>(raw)->worker();
            return nullptr;
        };
        if (pthread_create(&thread, nullptr, start, fs.get()) != 0)
            return make_error(ErrorCode::ResourceExhausted, "oss: cannot start a worker thread");
        fs->m_workers.push_back(thread);
    }
    logger()->info("sound cards mounted at {} ({} workers)", fs->m_options.mountpoint, fs->m_options.threads);
    return fs;
}

OssFrontend::~OssFrontend()
{
    unmount();
    if (m_session != nullptr)
        fuse_session_destroy(m_session);
}

void OssFrontend::worker()
{
    pthread_setname_np(pthread_self(), "nk-oss");
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

void OssFrontend::unmount()
{
    if (!m_mounted)
        return;
    m_mounted = false;
    m_sound.remove_listener(*this);
    m_stopping.store(true, std::memory_order_release);

    // Workers blocked in a write, read or drain wake up: their files are
    // closed (the streams then refuse), so every request ends.
    std::map<OpenFile*, std::shared_ptr<OpenFile>> open;
    {
        MutexLocker lock(m_mutex);
        open.swap(m_open);
    }
    for (auto const& [raw, file] : open)
        file->close_streams();

    auto const& path = m_options.mountpoint;
    if (::umount2(path.c_str(), 0) != 0) {
        if (errno == EBUSY) {
            logger()->warn("{} is still in use: detaching it; its users get errors now", path);
            ::umount2(path.c_str(), MNT_DETACH);
        } else {
            logger()->warn("unmount {}: {}", path, std::strerror(errno));
        }
    }
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
    fuse_session_unmount(m_session);
    m_workers.clear();
    // Files opened meanwhile (none are, once the workers are gone) are closed too.
    {
        MutexLocker lock(m_mutex);
        open.swap(m_open);
    }
    for (auto const& [raw, file] : open)
        file->close_streams();
    logger()->info("{} unmounted", path);
}

// --- Files ---------------------------------------------------------------------

std::string OssFrontend::dsp_name(unsigned index) { return index == 0 ? "dsp" : fmt::format("dsp{}", index); }
std::string OssFrontend::mixer_name(unsigned index) { return index == 0 ? "mixer" : fmt::format("mixer{}", index); }

std::optional<unsigned> OssFrontend::card_index(std::string const& card_name)
{
    size_t digits = card_name.size();
    while (digits > 0 && std::isdigit(static_cast<unsigned char>(card_name[digits - 1])) != 0)
        --digits;
    if (digits == card_name.size() || card_name.size() - digits > 6)
        return std::nullopt;
    return static_cast<unsigned>(std::stoul(card_name.substr(digits)));
}

void OssFrontend::card_added(std::shared_ptr<SoundCard> const& card)
{
    auto index = card_index(card->name());
    if (!index) {
        logger()->warn("sound card {} has no index in its name: it gets no OSS files", card->name());
        return;
    }
    auto shared = std::make_shared<oss::OssCard>();
    shared->card = card;
    auto const t = oss_fuse::now();
    std::vector<std::shared_ptr<Node>> nodes;
    for (auto kind : { OssNodeKind::Dsp, OssNodeKind::Mixer }) {
        auto node = std::make_shared<Node>();
        node->ino = card->id() * 2 + (kind == OssNodeKind::Dsp ? 0 : 1) + 2; // 1 is the root
        node->kind = kind;
        node->name = kind == OssNodeKind::Dsp ? dsp_name(*index) : mixer_name(*index);
        node->card = shared;
        MutexLocker node_lock(node->mutex);
        node->mode = m_options.file_mode & 07777;
        node->atime = node->mtime = node->ctime = t;
        nodes.push_back(std::move(node));
    }
    MutexLocker lock(m_mutex);
    for (auto& node : nodes) {
        if (m_nodes.contains(node->ino))
            return; // announced twice (registered while mounting)
    }
    for (auto& node : nodes) {
        m_nodes[node->ino] = node;
        m_names[node->name] = node;
    }
    logger()->info("{}: {}/{} and {}/{}", card->name(), m_options.mountpoint, dsp_name(*index), m_options.mountpoint,
        mixer_name(*index));
}

void OssFrontend::card_removed(std::shared_ptr<SoundCard> const& card)
{
    MutexLocker lock(m_mutex);
    for (auto it = m_names.begin(); it != m_names.end();) {
        if (it->second->card->card == card)
            it = m_names.erase(it);
        else
            ++it;
    }
}

std::shared_ptr<OssFrontend::Node> OssFrontend::node_by_ino(uint64_t ino) const
{
    MutexLocker lock(m_mutex);
    auto it = m_nodes.find(ino);
    return it != m_nodes.end() ? it->second : nullptr;
}

std::shared_ptr<OssFrontend::Node> OssFrontend::node_by_name(std::string const& name) const
{
    MutexLocker lock(m_mutex);
    auto it = m_names.find(name);
    return it != m_names.end() ? it->second : nullptr;
}

std::vector<std::shared_ptr<OssFrontend::Node>> OssFrontend::listed_nodes() const
{
    MutexLocker lock(m_mutex);
    std::vector<std::shared_ptr<Node>> result;
    for (auto const& [name, node] : m_names)
        result.push_back(node);
    return result;
}

std::vector<std::pair<std::string, std::string>> OssFrontend::endpoints() const
{
    MutexLocker lock(m_mutex);
    std::vector<std::pair<std::string, std::string>> result;
    for (auto const& [name, node] : m_names)
        result.emplace_back(node->card->card->name(), m_options.mountpoint + "/" + name);
    return result;
}

void OssFrontend::adopt(std::shared_ptr<OpenFile> file)
{
    MutexLocker lock(m_mutex);
    m_open[file.get()] = std::move(file);
}

std::shared_ptr<OssFrontend::OpenFile> OssFrontend::forget(OpenFile* file)
{
    MutexLocker lock(m_mutex);
    auto it = m_open.find(file);
    if (it == m_open.end())
        return nullptr;
    auto kept = std::move(it->second);
    m_open.erase(it);
    return kept;
}

} // namespace nk
