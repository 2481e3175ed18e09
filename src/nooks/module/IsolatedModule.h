// SPDX-License-Identifier: MIT
#pragma once

// A driver loaded into a protection domain (nooks and shadow modes).
//
// The module owns the domain, the XPC endpoint into it, the wrappers that check
// every call out of it, and the object tracker of everything it holds. The
// driver file is the same one native mode loads.
//
// Failure: every detection path (a crash or forbidden call reported by the
// domain, a wrapper rejection, a livelock, a panic) ends in fail(), which keeps
// the first cause, stops all traffic into the domain at once (waiting kernel
// threads get DriverFailed), ends the domain, and releases what the driver
// held on a cleanup thread (never on the thread that detected the failure,
// which may be the driver's own interrupt thread).

#include "base/Mutex.h"
#include "kernel/exec/Context.h"
#include "kernel/module/Module.h"
#include "nooks/domain/ElfSymbols.h"
#include "nooks/domain/ProtectionDomain.h"
#include "nooks/module/Tainted.h"
#include "nooks/recovery/Failure.h"
#include "nooks/tracker/ObjectTracker.h"
#include "nooks/xpc/XpcEndpoint.h"

#include <functional>
#include <memory>
#include <optional>
#include <thread>

namespace nk {

class KernelWrappers;

struct IsolationOptions {
    DomainGeometry geometry;
    uint64_t livelock_ns { 3'000'000'000ull };
    // How long either side of a crossing stays awake for the other before it sleeps:
    // the domain's worker looking for the next call, a kernel thread for the answer
    // of a worker on its CPU. 0: both sleep at once.
    uint32_t poll_ns { 50'000 };
    bool pin_workers { true }; // each domain worker on the CPU of its channel
    uint32_t uid { 65534 };
    uint32_t gid { 65534 };
    bool seccomp { true };
    std::string launcher; // empty: nooks-domain next to this program
    size_t max_objects { 1024 }; // kernel objects a driver may hold; more is a failure (too many resources)
    // A fault armed in the domain before the driver's first call (aimed at
    // initialization, or a repeating one that follows the driver).
    std::optional<abi::InjectionSpec> injection;
};

class BusDevice;

class IsolatedModule final : public Module, private TaintSink {
public:
    // Starts a domain and loads the driver in it, not started yet. `binding`:
    // see Kernel::load_module.
    static Result<std::unique_ptr<IsolatedModule>> load(Kernel& kernel, std::string const& path, IsolationOptions options,
        std::string const& binding = {});
    ~IsolatedModule() override;

    Result<void> start() override;
    void stop() override;
    Isolation isolation() const override { return Isolation::Isolated; }

    ObjectTracker& tracker() { return m_tracker; }
    XpcEndpoint& xpc() { return *m_xpc; }
    DomainMemory& memory() const { return m_domain->memory(); }
    ProtectionDomain& domain() { return *m_domain; }

    IsolationOptions const& options() const { return m_options; }

    // Every kernel thread that reaches into the driver holds one of these
    // while it does, so recovery can tell when no thread is inside any more.
    class [[nodiscard]] ActiveCall {
    public:
        explicit ActiveCall(IsolatedModule* module)
            : m_module(module)
        {
        }
        ActiveCall(ActiveCall&& other) noexcept
            : m_module(std::exchange(other.m_module, nullptr))
        {
        }
        ActiveCall(ActiveCall const&) = delete;
        ActiveCall& operator=(ActiveCall const&) = delete;
        ~ActiveCall();

    private:
        IsolatedModule* m_module;
    };
    // Enters the driver; DriverFailed once the module is retired.
    Result<ActiveCall> enter();

    // Calls into the driver inside a crossing (attribution, softirqs on exit).
    // What the driver returned is tainted: check it before use.
    template<abi::DriverEntry Entry>
    Result<Tainted<int64_t>> call(CrossingScope::Kind kind, typename abi::DriverEntryTraits<Entry>::Args const& args)
    {
        auto active = TRY(enter());
        CrossingScope crossing(*this, kind);
        auto reply = TRY(m_xpc->call<Entry>(args));
        return taint(reply.result, abi::name_of(Entry));
    }
    // A value that came back from the domain, for ports that cross by hand
    // (batches): checked through Tainted like every reply.
    Tainted<int64_t> taint(int64_t value, char const* origin) { return Tainted<int64_t>(value, *this, origin); }

    // Wakes kernel threads waiting for a free channel, so that one told to
    // give up (XpcEndpoint::GiveUpScope) sees it. Any thread; never blocks.
    void wake_channel_waiters();

    // Arms (or disarms) the domain runtime's fault injector (`nooks ctl inject`).
    Result<void> inject(abi::InjectionSpec const& spec);

    // The driver failed. The first record wins; later ones are ignored.
    void fail(FailureRecord record);
    std::optional<FailureRecord> failure() const;
    // Waits until what the failed driver held is released. False on timeout.
    bool wait_released(std::chrono::milliseconds timeout) const;

    // Who recovers this module when it fails: returns true if it took the
    // failure. Without one (or if it declines), a failed module releases what
    // it held on its own cleanup thread and stays failed.
    using FailureListener = std::function<bool(IsolatedModule&)>;
    void set_failure_listener(FailureListener listener);

    // Recovery stages (called by the recovery manager, in this order, on its thread).
    void mask_interrupts();
    bool unwind(std::chrono::milliseconds timeout);
    std::vector<BusDevice*> bound_devices() const;
    void release_resources();
    void end_domain();
    // After end_domain: frees the domain's memory and channels; the module stays
    // as a record (disks and ports that outlive it see a retired module).
    void retire();
    bool retired() const { return m_retired.load(std::memory_order_acquire); }
    XpcEndpoint::Stats xpc_stats() const;

private:
    void reject_tainted(std::string message) override;
    IsolatedModule(Kernel& kernel, std::string name, std::string path, std::string binding, IsolationOptions options);
    FailureRecord record_from_end(DomainEnd const& end) const;
    FailureRecord record_from_error(Error const& error) const;
    void release_everything();
    void join_cleanup();

    IsolationOptions m_options;
    std::atomic<uint32_t> m_active { 0 };
    std::atomic<bool> m_retired { false };
    std::unique_ptr<ProtectionDomain> m_domain;
    std::unique_ptr<KernelWrappers> m_wrappers;
    std::unique_ptr<XpcEndpoint> m_xpc;
    ObjectTracker m_tracker;
    std::optional<ElfSymbols> m_symbols;
    std::atomic<bool> m_stopping { false };

    mutable Mutex m_failure_mutex;
    mutable ConditionVariable m_released_changed;
    FailureListener m_failure_listener NK_GUARDED_BY(m_failure_mutex);
    std::optional<FailureRecord> m_failure NK_GUARDED_BY(m_failure_mutex);
    bool m_released NK_GUARDED_BY(m_failure_mutex) { false };
    // The endpoint's counters as it ended (retire), for readers afterwards.
    std::optional<XpcEndpoint::Stats> m_final_stats NK_GUARDED_BY(m_failure_mutex);
    // Started by fail() when no listener took the failure; joined by whoever ends the module.
    std::thread m_cleanup NK_GUARDED_BY(m_failure_mutex);
};

} // namespace nk
