// SPDX-License-Identifier: MIT
#include "nooks/domain/ProcessDomain.h"

#include "base/Spawn.h"

#include "base/Clock.h"
#include "base/Mutex.h"

#include <csignal>
#include <functional>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace nk {

std::string default_domain_launcher()
{
    std::error_code error;
    auto self = std::filesystem::read_symlink("/proc/self/exe", error);
    if (error)
        return "nooks-domain";
    return (self.parent_path() / "nooks-domain").string();
}

namespace {

// Domains are started from one thread that lives as long as the process: a
// domain's death signal (PR_SET_PDEATHSIG) fires when the *thread* that
// spawned it ends, and a domain must outlive, say, the recovery thread that
// restarted it. It must still die with the kernel process.
class Spawner {
public:
    static Spawner& the()
    {
        static Spawner* spawner = new Spawner; // never destroyed: its thread runs until exit
        return *spawner;
    }

    int spawn(pid_t* pid, char const* path, posix_spawn_file_actions_t const* actions, posix_spawnattr_t const* attributes,
        char* const* argv, char* const* envp)
    {
        MutexLocker one_at_a_time(m_spawn_mutex);
        MutexLocker lock(m_mutex);
        m_request = [&] { return ::posix_spawn(pid, path, actions, attributes, argv, envp); };
        m_done = false;
        m_changed.notify_all();
        m_changed.wait(lock, [&]() NK_REQUIRES(m_mutex) { return m_done; });
        return m_result;
    }

private:
    Spawner()
    {
        std::thread([this] { run(); }).detach();
    }
    void run()
    {
        pthread_setname_np(pthread_self(), "nk-spawner");
        MutexLocker lock(m_mutex);
        for (;;) {
            m_changed.wait(lock, [&]() NK_REQUIRES(m_mutex) { return m_request != nullptr; });
            m_result = m_request();
            m_request = nullptr;
            m_done = true;
            m_changed.notify_all();
        }
    }

    // One request at a time: held across the whole exchange, so a second
    // caller cannot replace m_request or read another caller's m_result.
    Mutex m_spawn_mutex;
    Mutex m_mutex;
    ConditionVariable m_changed;
    std::function<int()> m_request NK_GUARDED_BY(m_mutex);
    bool m_done NK_GUARDED_BY(m_mutex) { false };
    int m_result NK_GUARDED_BY(m_mutex) { 0 };
};

} // namespace

Result<std::unique_ptr<ProcessDomain>> ProcessDomain::create(Options options)
{
    if (::access(options.launcher.c_str(), X_OK) != 0)
        return errno_error(fmt::format("domain launcher {}", options.launcher));
    auto domain = std::unique_ptr<ProcessDomain>(new ProcessDomain(std::move(options)));
    domain->m_memory = TRY(DomainMemory::create(domain->m_options.name, domain->m_options.geometry));
    return domain;
}

ProcessDomain::~ProcessDomain()
{
    terminate();
    wait_end();
    if (m_pidfd >= 0)
        ::close(m_pidfd);
}

void ProcessDomain::wait_end()
{
    if (m_monitor.joinable() && m_monitor.get_id() != std::this_thread::get_id())
        m_monitor.join();
}

Result<void> ProcessDomain::start(std::string const& driver_path)
{
    int driver = ::open(driver_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (driver < 0)
        return errno_error(fmt::format("driver file {}", driver_path));
    auto& bootstrap = m_memory->bootstrap();
    bootstrap.drop_uid = m_options.uid;
    bootstrap.drop_gid = m_options.gid;
    bootstrap.driver_fd = 5;
    bootstrap.kernel_area_fd = 3;
    bootstrap.domain_area_fd = 4;
    bootstrap.flags = (m_options.seccomp ? 0 : abi::bootstrap_flag_no_seccomp) | (m_options.pin_workers ? 0 : abi::bootstrap_flag_unpinned);
    bootstrap.worker_poll_ns = m_options.worker_poll_ns;
    if (auto const& injection = m_options.injection) {
        bootstrap.injection = *injection;
    }
    std::strncpy(bootstrap.driver_path, driver_path.c_str(), sizeof(bootstrap.driver_path) - 1);

    // Move the three descriptors out of 3..5 first, so dup2 onto them always copies.
    int kernel_fd = ::fcntl(m_memory->kernel_area().fd(), F_DUPFD_CLOEXEC, 100);
    int domain_fd = ::fcntl(m_memory->domain_area().fd(), F_DUPFD_CLOEXEC, 100);
    int driver_fd = ::fcntl(driver, F_DUPFD_CLOEXEC, 100);
    ::close(driver);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, kernel_fd, 3);
    posix_spawn_file_actions_adddup2(&actions, domain_fd, 4);
    posix_spawn_file_actions_adddup2(&actions, driver_fd, 5);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    // Its own process group: a terminal's Ctrl-C goes to the kernel, not the domain.
    set_clean_spawn_state(attributes, ProcessGroup::Own);

    auto address = fmt::format("{:x}", m_memory->kernel_area().address());
    std::string launcher = m_options.launcher;
    char* argv[] = { launcher.data(), address.data(), nullptr };
    char* envp[] = { nullptr }; // the domain inherits nothing from the kernel's environment
    int spawned = Spawner::the().spawn(&m_pid, launcher.c_str(), &actions, &attributes, argv, envp);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    ::close(kernel_fd);
    ::close(domain_fd);
    ::close(driver_fd);
    if (spawned != 0) {
        m_pid = -1;
        return std::unexpected(Error::from_errno(spawned, fmt::format("start the domain for {}", m_options.name)));
    }
    m_pidfd = static_cast<int>(::syscall(SYS_pidfd_open, m_pid, 0));
    if (m_pidfd < 0) {
        auto error = Error::from_errno("pidfd_open");
        ::kill(m_pid, SIGKILL);
        ::waitpid(m_pid, nullptr, 0);
        return std::unexpected(std::move(error));
    }
    m_alive.store(true, std::memory_order_release);
    m_monitor = std::thread([this] { monitor(); });

    // Wait until the driver is loaded and the workers listen.
    auto deadline = monotonic_ns() + static_cast<uint64_t>(std::chrono::nanoseconds(m_options.start_timeout).count());
    auto& header = m_memory->header();
    while (header.state.load(std::memory_order_acquire) != static_cast<uint32_t>(abi::DomainState::Ready)) {
        if (!alive() || header.state.load() == static_cast<uint32_t>(abi::DomainState::Faulted)) {
            // Give the monitor a moment to reap, so the reason is complete.
            for (int i = 0; i < 200 && alive(); ++i)
                ::usleep(1000);
            char message[sizeof(header.fault.message) + 1] {};
            std::memcpy(message, header.fault.message, sizeof(header.fault.message));
            return make_error(ErrorCode::FailedPrecondition, "the domain for {} did not start: {}", m_options.name,
                message[0] != '\0' ? message : "it exited before loading the driver");
        }
        if (monotonic_ns() >= deadline) {
            terminate();
            return make_error(ErrorCode::DeadlineExceeded, "the domain for {} did not start within {} ms", m_options.name,
                m_options.start_timeout.count());
        }
        ::usleep(200);
    }
    return {};
}

void ProcessDomain::terminate()
{
    if (m_pidfd >= 0 && alive() && !m_terminated.exchange(true))
        ::syscall(SYS_pidfd_send_signal, m_pidfd, SIGKILL, nullptr, 0);
}

void ProcessDomain::monitor()
{
    siginfo_t info {};
    while (::waitid(static_cast<idtype_t>(3) /* P_PIDFD */, static_cast<id_t>(m_pidfd), &info, WEXITED) != 0 && errno == EINTR) { }
    DomainEnd end;
    end.by_signal = info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED;
    end.status = info.si_status;
    end.terminated = m_terminated.load();
    auto& fault = m_memory->header().fault;
    if (fault.kind.load(std::memory_order_acquire) != 0) {
        std::memcpy(static_cast<void*>(&end.fault), &fault, sizeof(fault));
        end.fault_recorded = true;
    }
    m_alive.store(false, std::memory_order_release);
    report_end(end);
}

} // namespace nk
