// SPDX-License-Identifier: MIT
#pragma once

// The recovery manager: brings failed isolated drivers back.
//
// When a driver fails (any detection path ends in IsolatedModule::fail), the
// manager runs these stages on its own thread, each timed and logged:
//
//   disable-interrupts  mask the driver's interrupt lines
//   unwind              calls into the driver fail; wait until no kernel thread is inside
//   release             everything the tracker says it held (timers, work, IRQs,
//                       DMA, windows, disks; in shadow mode the class keeps what
//                       the kernel still uses)
//   reset-device        power-cycle the devices it had bound
//   unload              end the domain; retire the module
//   policy              ask the user-mode agent (or apply the built-in policy):
//                       restart, restart after a delay, give up, or replace the binary
//   reload              a fresh copy of the driver file in a new domain (clean data)
//   reinit              the kernel's initialization sequence: module init, probe
//   enable-interrupts   check the new driver's lines are live
//
// Failures are processed one at a time, in order. A failure during reload or
// reinit counts as another failure and goes through the policy again.
//
// Thread-safety: every public method may be called from any thread.

#include "agent/AgentProtocol.h"
#include "base/ThreadAnnotations.h"
#include "nooks/module/IsolatedModule.h"
#include "nooks/recovery/Failure.h"

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace nk {

class Kernel;

struct StageTiming {
    std::string stage;
    uint64_t start_ns { 0 }; // from detection
    uint64_t duration_ns { 0 };
    bool ok { true };
    std::string note;
};

struct RecoveryRecord {
    FailureRecord failure;
    std::string injected;       // the fault an operator injected, if this failure followed one
    std::vector<StageTiming> stages;
    std::string decision;       // "restart", "give-up", "replace"
    std::string decided_by;     // "agent" or "built-in policy" (and why)
    std::string outcome;        // "restarted", "replaced by X", "gave up", "restart failed: ..."
    uint64_t total_ns { 0 };    // detection -> the driver serves again (or recovery ends)
    uint64_t backoff_ns { 0 };  // deliberate delay, included in total_ns
};

enum class DriverState : uint8_t { Live, Recovering, Disabled };
char const* driver_state_name(DriverState state);

struct DriverStatus {
    std::string name;
    std::string path;          // the binary now loaded (a replacement changes it)
    std::string driver_class;
    DriverState state { DriverState::Live };
    unsigned failures { 0 };
    unsigned restarts { 0 };
    IsolatedModule* module { nullptr }; // the current instance (null while disabled)
};

class RecoveryManager {
public:
    struct Options {
        std::string agent_socket;       // empty: no agent
        std::chrono::milliseconds agent_timeout { 500 };
        PolicyRule builtin { builtin_policy() };
        // Called after a driver is back (reinit done), e.g. for the shadow driver.
        std::function<void(IsolatedModule& fresh)> on_restarted;
        // Called when the policy gives up on a driver (e.g. the shadow fails what it held).
        std::function<void(IsolatedModule& failed)> on_gave_up;
    };

    RecoveryManager(Kernel& kernel, Options options);
    ~RecoveryManager();
    RecoveryManager(RecoveryManager const&) = delete;
    RecoveryManager& operator=(RecoveryManager const&) = delete;

    // Loads a driver under the manager's care and starts it.
    Result<IsolatedModule*> load(std::string const& path, std::string const& driver_class, IsolationOptions options);

    // Operator: fail the driver now and restart it, or start a disabled one again.
    Result<void> restart(std::string const& driver);
    // Notes that a fault was injected (so the next failure's record says so).
    void note_injection(std::string const& driver, std::string const& description);
    // An injection aimed at initialization (module_init, bus_probe): armed in the
    // driver's next instance, before its first call.
    Result<void> inject_at_next_start(std::string const& driver, IsolationOptions::Injection injection, std::string const& description);
    // A repeating injection (a deterministic fault) follows the driver into every
    // new instance until it is disarmed (nullopt).
    Result<void> set_sticky_injection(std::string const& driver, std::optional<IsolationOptions::Injection> injection);

    // Waits until no recovery is queued or running. False on timeout.
    bool wait_idle(std::chrono::milliseconds timeout) const;

    std::vector<DriverStatus> drivers() const;
    std::optional<DriverStatus> driver(std::string const& name) const;
    std::vector<RecoveryRecord> history() const;

private:
    struct Driver {
        DriverStatus status;
        IsolationOptions options;
        std::deque<uint64_t> failure_times; // monotonic ns, within the largest window
        std::string injected;
        std::optional<IsolationOptions::Injection> next_start_injection;
        std::optional<IsolationOptions::Injection> sticky_injection;
    };

    // `key`: the driver's name as first loaded; a replacement binary may call itself otherwise.
    void watch(IsolatedModule& module, std::string key);
    void worker();
    void recover(std::string const& key, IsolatedModule& module);
    PolicyDecision decide(Driver& driver, FailureRecord const& failure, RecoveryRecord& record);
    Result<IsolatedModule*> start_instance(std::string const& key, Driver& driver, std::string const& path, RecoveryRecord* record,
        uint64_t detected_ns);

    Kernel& m_kernel;
    Options m_options;
    // Failure listeners hold this while they queue a job; closing it (in the
    // destructor) guarantees none touches the manager afterwards.
    struct Gate {
        std::mutex mutex;
        bool open { true };
    };
    std::shared_ptr<Gate> m_gate { std::make_shared<Gate>() };
    mutable std::mutex m_mutex;
    mutable std::condition_variable m_changed;
    std::map<std::string, Driver> m_drivers NK_GUARDED_BY(m_mutex);
    std::deque<std::pair<std::string, IsolatedModule*>> m_queue NK_GUARDED_BY(m_mutex);
    std::deque<RecoveryRecord> m_history NK_GUARDED_BY(m_mutex);
    bool m_busy NK_GUARDED_BY(m_mutex) { false };
    bool m_stopping NK_GUARDED_BY(m_mutex) { false };
    std::thread m_thread;
};

} // namespace nk
