// SPDX-License-Identifier: MIT
#include "kernel/events/EventLoop.h"

#include "base/Log.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <system_error>
#include <unistd.h>

namespace nk {

static auto logger() { return log::get("events"); }

static timespec to_timespec(std::chrono::nanoseconds duration)
{
    auto count = duration.count();
    return timespec { .tv_sec = time_t(count / 1'000'000'000), .tv_nsec = long(count % 1'000'000'000) };
}

// ---- EventLoop ----

Result<std::unique_ptr<EventLoop>> EventLoop::create()
{
    auto core = std::make_shared<Core>();
    // The core closes whatever was opened if a later step fails.
    {
        MutexLocker locker(core->m_mutex);
        core->m_epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        if (core->m_epoll_fd < 0)
            return errno_error("event loop: epoll_create1");
        core->m_wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (core->m_wake_fd < 0)
            return errno_error("event loop: eventfd");
        epoll_event event { .events = EPOLLIN, .data = { .u64 = Core::wake_key } };
        if (epoll_ctl(core->m_epoll_fd, EPOLL_CTL_ADD, core->m_wake_fd, &event) < 0)
            return errno_error("event loop: epoll_ctl add eventfd");
    }
    std::thread thread;
    try {
        // The thread holds its own reference: it may outlive the EventLoop (destroyed from a callback).
        thread = std::thread([core] { core->run(); });
    } catch (std::system_error const& error) {
        return make_error(ErrorCode::ResourceExhausted, "event loop: starting its thread: {}", error.what());
    }
    return std::unique_ptr<EventLoop>(new EventLoop(std::move(core), std::move(thread)));
}

EventLoop::EventLoop(std::shared_ptr<Core> core, std::thread thread)
    : m_core(std::move(core))
    , m_thread(std::move(thread))
{
}

EventLoop::~EventLoop()
{
    {
        MutexLocker locker(m_core->m_mutex);
        m_core->m_stopping = true;
        // The thread may have ended on its own (epoll_wait failed) and closed the eventfd.
        if (!m_core->m_ended) {
            uint64_t one = 1;
            // Cannot fail short of a full counter, which one write per loop never reaches.
            [[maybe_unused]] auto written = write(m_core->m_wake_fd, &one, sizeof(one));
        }
    }
    // Called from one of the loop's callbacks: the thread cannot wait for
    // itself. It sees m_stopping when that callback returns and ends; the core
    // lives on through its reference.
    if (on_loop_thread())
        m_thread.detach();
    else
        m_thread.join();
}

Result<std::unique_ptr<EventSource>> EventLoop::watch_fd(std::string name, int fd, std::function<void()> on_ready)
{
    if (fd < 0)
        return make_error(ErrorCode::InvalidArgument, "event source {}: negative descriptor {}", name, fd);
    if (!on_ready)
        return make_error(ErrorCode::InvalidArgument, "event source {}: no callback", name);
    if (fcntl(fd, F_GETFD) < 0)
        return make_error(ErrorCode::InvalidArgument, "event source {}: descriptor {} is not open", name, fd);

    MutexLocker locker(m_core->m_mutex);
    if (m_core->m_ended)
        return make_error(ErrorCode::Unavailable, "event source {}: the event loop has ended", name);
    // Ask epoll now, so that a descriptor it can never watch fails here rather
    // than at a start() long after. The key is never registered: readiness
    // reported for it in between is dropped as stale.
    epoll_event event { .events = EPOLLIN, .data = { .u64 = m_core->m_next_key++ } };
    if (epoll_ctl(m_core->m_epoll_fd, EPOLL_CTL_ADD, fd, &event) < 0) {
        int error = errno;
        if (error == EPERM)
            return make_error(
                ErrorCode::InvalidArgument, "event source {}: descriptor {} cannot be watched (a regular file or directory)", name, fd);
        // EEXIST: another source watches it now; it is fine to have, if not to start, both.
        if (error != EEXIST)
            return std::unexpected(Error::from_errno(error, fmt::format("event source {}: epoll_ctl add {}", name, fd)));
    } else {
        epoll_ctl(m_core->m_epoll_fd, EPOLL_CTL_DEL, fd, nullptr);
    }
    m_core->m_stats.sources++;
    auto callback = [on_ready = std::move(on_ready)](uint64_t) { on_ready(); };
    return std::unique_ptr<EventSource>(new EventSource(m_core, std::move(name), EventSource::Kind::Fd, fd, std::move(callback)));
}

Result<std::unique_ptr<EventSource>> EventLoop::timer(std::string name, std::function<void(uint64_t expirations)> on_tick)
{
    if (!on_tick)
        return make_error(ErrorCode::InvalidArgument, "event source {}: no callback", name);
    MutexLocker locker(m_core->m_mutex);
    if (m_core->m_ended)
        return make_error(ErrorCode::Unavailable, "event source {}: the event loop has ended", name);
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (fd < 0)
        return errno_error(fmt::format("event source {}: timerfd_create", name));
    m_core->m_stats.sources++;
    return std::unique_ptr<EventSource>(new EventSource(m_core, std::move(name), EventSource::Kind::Timer, fd, std::move(on_tick)));
}

bool EventLoop::on_loop_thread() const
{
    return m_core->m_loop_thread.load(std::memory_order_relaxed) == std::this_thread::get_id();
}

EventLoop::Stats EventLoop::stats() const
{
    MutexLocker locker(m_core->m_mutex);
    auto stats = m_core->m_stats;
    stats.started = m_core->m_registrations.size();
    return stats;
}

// ---- EventLoop::Core ----

EventLoop::Core::~Core()
{
    // Only if the thread never ran: it closes both when it ends. No other
    // reference exists any more, so the lock is for the analysis only.
    MutexLocker locker(m_mutex);
    if (m_wake_fd >= 0)
        close(m_wake_fd);
    if (m_epoll_fd >= 0)
        close(m_epoll_fd);
}

void EventLoop::Core::run()
{
    pthread_setname_np(pthread_self(), "nk-events");
    // Relaxed: other threads only compare it with their own id, which it never
    // equals whether or not they see this store yet.
    m_loop_thread.store(std::this_thread::get_id(), std::memory_order_relaxed);
    int epoll_fd;
    int wake_fd;
    {
        MutexLocker locker(m_mutex);
        // The descriptors stay open until shut_down(), which only this thread calls.
        epoll_fd = m_epoll_fd;
        wake_fd = m_wake_fd;
    }

    constexpr int batch = 32;
    epoll_event events[batch];
    for (;;) {
        int count = epoll_wait(epoll_fd, events, batch, -1);
        if (count < 0) {
            if (errno == EINTR)
                continue;
            // Only a kernel bug (a closed epoll descriptor) gets here. End the
            // loop rather than spin: the sources become inert and say so.
            logger()->error("event loop: epoll_wait: {}", std::strerror(errno));
            break;
        }
        bool stopping;
        {
            MutexLocker locker(m_mutex);
            m_stats.wakeups++;
            stopping = m_stopping;
        }
        // The wakeup eventfd stays readable until read, so a stop requested
        // while a batch runs ends the loop at the next epoll_wait.
        if (stopping)
            break;
        for (int i = 0; i < count; ++i) {
            if (events[i].data.u64 == wake_key) {
                uint64_t value;
                [[maybe_unused]] auto read_bytes = read(wake_fd, &value, sizeof(value));
                continue;
            }
            dispatch(events[i].data.u64);
        }
    }
    shut_down();
}

void EventLoop::Core::dispatch(uint64_t key)
{
    std::shared_ptr<EventSource::Callback const> callback;
    uint64_t expirations = 0;
    {
        MutexLocker locker(m_mutex);
        // The loop is being destroyed (maybe by a callback of this batch): run nothing more.
        if (m_stopping)
            return;
        auto it = m_registrations.find(key);
        if (it == m_registrations.end()) {
            m_stats.stale_events++;
            return;
        }
        auto& source = *it->second;
        // Its m_core is this core: the lock held is the one its members name.
        source.m_core->m_mutex.assert_held();
        if (source.m_kind == EventSource::Kind::Timer) {
            // Read under the lock: a concurrent stop() or start_timer() resets the
            // count, and expirations read after it would belong to no one.
            uint64_t count = 0;
            if (read(source.m_fd, &count, sizeof(count)) != ssize_t(sizeof(count)) || count == 0) {
                // EAGAIN: re-armed after epoll saw the expiry.
                m_stats.stale_events++;
                return;
            }
            expirations = count;
            // A one-shot is done: stopped before its callback, which may re-arm it.
            if (source.m_period.count() == 0)
                source.deregister_locked();
        }
        source.m_running = true;
        m_running = &source;
        callback = source.m_callback;
    }

    (*callback)(expirations);
    // If the callback destroyed its source, this was the last reference: the
    // captures go now, without the lock (their destructors may stop or destroy
    // other sources).
    callback.reset();

    MutexLocker locker(m_mutex);
    m_stats.callbacks++;
    if (m_running) {
        m_running->m_core->m_mutex.assert_held();
        m_running->m_running = false;
        m_running->m_callbacks++;
        m_running = nullptr;
    }
    m_callback_done.notify_all();
}

void EventLoop::Core::shut_down()
{
    MutexLocker locker(m_mutex);
    m_ended = true;
    // Sources keep their (now meaningless) keys; started() and start() look at m_ended.
    m_registrations.clear();
    close(m_wake_fd);
    close(m_epoll_fd);
    m_wake_fd = -1;
    m_epoll_fd = -1;
    m_loop_thread.store(std::thread::id(), std::memory_order_relaxed);
}

// ---- EventSource ----

EventSource::EventSource(std::shared_ptr<EventLoop::Core> core, std::string name, Kind kind, int fd, Callback callback)
    : m_core(std::move(core))
    , m_name(std::move(name))
    , m_kind(kind)
    , m_fd(fd)
    , m_callback(std::make_shared<Callback const>(std::move(callback)))
{
}

EventSource::~EventSource()
{
    MutexLocker locker(m_core->m_mutex);
    stop_locked(locker);
    // Destroyed inside its own callback: the loop must not touch it when the callback returns.
    if (m_core->m_running == this)
        m_core->m_running = nullptr;
    m_core->m_stats.sources--;
    if (m_kind == Kind::Timer)
        close(m_fd);
}

Result<void> EventSource::start()
{
    MutexLocker locker(m_core->m_mutex);
    if (m_core->m_ended)
        return make_error(ErrorCode::Unavailable, "event source {}: the event loop has ended", m_name);
    if (m_key != 0)
        return {};
    if (m_kind == Kind::Timer && !m_has_schedule)
        return make_error(ErrorCode::FailedPrecondition, "event source {}: start() of a timer that start_timer() never armed", m_name);
    return register_locked();
}

Result<void> EventSource::start_timer(std::chrono::nanoseconds first, std::chrono::nanoseconds period)
{
    if (m_kind != Kind::Timer)
        return make_error(ErrorCode::InvalidArgument, "event source {}: start_timer() on a descriptor source", m_name);
    if (first.count() < 0 || period.count() < 0)
        return make_error(ErrorCode::InvalidArgument, "event source {}: negative timer schedule ({} ns, then every {} ns)", m_name,
            first.count(), period.count());
    MutexLocker locker(m_core->m_mutex);
    if (m_core->m_ended)
        return make_error(ErrorCode::Unavailable, "event source {}: the event loop has ended", m_name);
    m_has_schedule = true;
    // A zero it_value would disarm the timerfd: "at once" is the next nanosecond.
    m_first = std::max(first, std::chrono::nanoseconds(1));
    m_period = period;
    // Re-registering under a fresh key also drops readiness of the old schedule.
    if (m_key != 0)
        deregister_locked();
    return register_locked();
}

void EventSource::stop()
{
    MutexLocker locker(m_core->m_mutex);
    stop_locked(locker);
}

void EventSource::cancel()
{
    MutexLocker locker(m_core->m_mutex);
    if (m_key != 0)
        deregister_locked();
}

void EventSource::stop_locked(MutexLocker& locker)
{
    if (m_key != 0)
        deregister_locked();
    // On the loop thread the running callback, if any, is the caller (or the
    // caller's caller): waiting would wait for itself.
    if (!m_running || m_core->m_loop_thread.load(std::memory_order_relaxed) == std::this_thread::get_id())
        return;
    // Wait for this call to return, not for a moment the source is idle: a
    // racing start() may let it run again, and stop() must not starve on that.
    auto completed = m_callbacks;
    while (m_running && m_callbacks == completed)
        m_core->m_callback_done.wait(locker);
}

bool EventSource::started() const
{
    MutexLocker locker(m_core->m_mutex);
    return started_locked();
}

bool EventSource::started_locked() const
{
    return m_key != 0 && !m_core->m_ended;
}

uint64_t EventSource::callbacks() const
{
    MutexLocker locker(m_core->m_mutex);
    return m_callbacks;
}

Result<void> EventSource::register_locked()
{
    if (m_kind == Kind::Timer) {
        itimerspec schedule { .it_interval = to_timespec(m_period), .it_value = to_timespec(m_first) };
        if (timerfd_settime(m_fd, 0, &schedule, nullptr) < 0)
            return errno_error(fmt::format("event source {}: timerfd_settime", m_name));
    }
    auto key = m_core->m_next_key++;
    epoll_event event { .events = EPOLLIN, .data = { .u64 = key } };
    if (epoll_ctl(m_core->m_epoll_fd, EPOLL_CTL_ADD, m_fd, &event) < 0) {
        int error = errno;
        if (m_kind == Kind::Timer) {
            itimerspec disarm {};
            timerfd_settime(m_fd, 0, &disarm, nullptr);
        }
        if (error == EEXIST)
            return make_error(ErrorCode::AlreadyExists, "event source {}: another started source watches descriptor {}", m_name, m_fd);
        return std::unexpected(Error::from_errno(error, fmt::format("event source {}: epoll_ctl add {}", m_name, m_fd)));
    }
    m_key = key;
    m_core->m_registrations.emplace(key, this);
    return {};
}

void EventSource::deregister_locked()
{
    m_core->m_registrations.erase(m_key);
    m_key = 0;
    // After the loop ended its epoll descriptor is closed, and the registration went with it.
    if (m_core->m_ended)
        return;
    // Fails only if the caller closed the descriptor early (epoll dropped it then): nothing left to undo.
    epoll_ctl(m_core->m_epoll_fd, EPOLL_CTL_DEL, m_fd, nullptr);
    if (m_kind == Kind::Timer) {
        // Also resets the expiration count, so a read that races with this finds nothing.
        itimerspec disarm {};
        timerfd_settime(m_fd, 0, &disarm, nullptr);
    }
}

} // namespace nk
