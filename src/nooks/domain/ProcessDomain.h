// SPDX-License-Identifier: MIT
#pragma once

// The process backend: the domain is a separate process (nooks-domain, started
// by exec, never by fork of the multithreaded kernel) that maps the domain's
// shared memory at the same addresses, with the kernel area read-only, runs as
// an unprivileged user under seccomp, and loads the driver from a descriptor
// the kernel opened. A monitor thread waits on the process (pidfd) and reports
// how it ended.

#include "nooks/domain/ProtectionDomain.h"

#include <atomic>
#include <optional>
#include <memory>
#include <thread>

namespace nk {

class ProcessDomain final : public ProtectionDomain {
public:
    struct Options {
        std::string name;            // module name, for messages
        std::string launcher;        // path of nooks-domain
        DomainGeometry geometry;
        uint32_t uid { 65534 };      // unprivileged user the domain runs as when the kernel is root
        uint32_t gid { 65534 };
        bool seccomp { true };
        uint32_t worker_poll_ns { 50'000 }; // see abi::Bootstrap::worker_poll_ns
        bool pin_workers { true };          // see abi::bootstrap_flag_unpinned
        std::chrono::milliseconds start_timeout { std::chrono::seconds(10) };
        // Armed in the domain before the first call.
        std::optional<abi::InjectionSpec> injection; // armed before the driver's first call
    };

    static Result<std::unique_ptr<ProcessDomain>> create(Options options);
    ~ProcessDomain() override;

    char const* backend() const override { return "process"; }
    DomainMemory& memory() override { return *m_memory; }
    Result<void> start(std::string const& driver_path) override;
    void terminate() override;
    void wait_end() override;
    bool alive() const override { return m_alive.load(std::memory_order_acquire); }
    int pid() const override { return m_pid; }

private:
    explicit ProcessDomain(Options options)
        : m_options(std::move(options))
    {
    }
    void monitor();

    Options m_options;
    std::unique_ptr<DomainMemory> m_memory;
    int m_pid { -1 };
    int m_pidfd { -1 };
    std::atomic<bool> m_alive { false };
    std::atomic<bool> m_terminated { false };
    std::thread m_monitor;
};

// Path of nooks-domain next to the running executable.
std::string default_domain_launcher();

} // namespace nk
