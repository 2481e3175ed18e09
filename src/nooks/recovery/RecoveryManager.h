// SPDX-License-Identifier: MIT
#pragma once

// The recovery manager: brings failed isolated drivers back.
//
// When a driver fails (any detection path ends in IsolatedModule::fail), the
// manager runs these stages on that driver's own recovery thread, each timed
// and logged:
//
//   disable-interrupts  mask the driver's interrupt lines
//   unwind              calls into the driver fail; wait until no kernel thread is inside
//   reset-device        power-cycle the devices it had bound (first: a NIC still
//                       receiving would write into buffers about to be given back)
//   release             everything the tracker says it held (timers, work, IRQs,
//                       DMA, windows) and what it registered with each class
//                       (in shadow mode the class's shadow keeps what the
//                       kernel still uses)
//   unload              end the domain; retire the module
//   policy              ask the user-mode agent (or apply the built-in policy):
//                       restart, restart after a delay, give up, or replace the binary
//   backoff             the policy's delay, if any
//   reload              a fresh copy of the driver file in a new domain (clean data)
//   reinit              the kernel's initialization sequence: module init, probe
//   devices-back        every device the driver had registered with a class is
//                       registered again by the new instance (else: a failure of it)
//   enable-interrupts   every interrupt line of the new instance is live
//
// The manager knows no class: it asks the kernel's classes what a driver held
// (DriverClass::devices_of) and tells its observers (the shadow drivers) when
// a driver is back or given up. Each driver has its own thread: failures of
// one driver are processed one at a time, in order, and one driver's backoff
// or slow restart never delays another's recovery. A failure during reload
// or reinit counts as another failure and goes through the policy again.
//
// Thread-safety: every public method may be called from any thread.

#include "agent/AgentProtocol.h"
#include "base/Mutex.h"
#include "nooks/module/IsolatedModule.h"
#include "nooks/recovery/Failure.h"
#include "nooks/recovery/RecoveryObserver.h"

#include <deque>
#include <functional>
#include <map>
#include <memory>
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
    std::string name;          // the driver instance ("nkdisk@disk0")
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
    };

    RecoveryManager(Kernel& kernel, Options options);
    ~RecoveryManager();
    RecoveryManager(RecoveryManager const&) = delete;
    RecoveryManager& operator=(RecoveryManager const&) = delete;

    // Observers (the shadow drivers) are told when a driver is back or given
    // up; they must outlive the manager or be removed first. Not owned.
    void add_observer(RecoveryObserver& observer);
    void remove_observer(RecoveryObserver& observer);

    // Loads a driver under the manager's care and starts it. `driver_class`
    // names its class for policies; `binding` see Kernel::load_module.
    Result<IsolatedModule*> load(std::string const& path, std::string const& driver_class, IsolationOptions options,
        std::string const& binding = {});

    // Operator: fail the driver now and restart it, or start a disabled one again.
    Result<void> restart(std::string const& driver);
    // Operator: a live update. The driver's instance is stopped as a failure
    // is (cause "update") and restarted from `path` through the same stages
    // (the shadow drivers keep its devices meanwhile: applications see a
    // pause); the policy is not asked and the update itself counts as no
    // failure. A binary that does not start, or does not register the
    // devices again, is not kept: that is a failure (counted, and the policy
    // decides), and a restart runs the binary the driver ran before. A binary
    // that starts and fails later is recovered like any driver, from itself.
    // NotFound, Unavailable (being recovered, or failed on its own
    // meanwhile: no update), FailedPrecondition (disabled).
    Result<void> update(std::string const& driver, std::string const& path);
    // Notes that a fault was injected (so the next failure's record says so).
    void note_injection(std::string const& driver, std::string const& description);
    // An injection aimed at initialization (module_init, bus_probe): armed in the
    // driver's next instance, before its first call.
    Result<void> inject_at_next_start(std::string const& driver, abi::InjectionSpec injection, std::string const& description);
    // A repeating injection (a deterministic fault) follows the driver into every
    // new instance until it is disarmed (nullopt).
    Result<void> set_sticky_injection(std::string const& driver, std::optional<abi::InjectionSpec> injection);

    // Waits until no recovery is queued or running, for any driver. False on timeout.
    bool wait_idle(std::chrono::milliseconds timeout) const;

    std::vector<DriverStatus> drivers() const;
    std::optional<DriverStatus> driver(std::string const& name) const;
    std::vector<RecoveryRecord> history() const;

private:
    struct Driver {
        std::string key; // the driver's name as first loaded; a replacement binary may call itself otherwise
        DriverStatus status;
        IsolationOptions options;
        std::string binding;
        std::deque<uint64_t> failure_times; // monotonic ns, within the largest window
        std::string injected;
        std::string pending_update; // the binary an operator's update starts
        std::optional<abi::InjectionSpec> next_start_injection;
        std::optional<abi::InjectionSpec> sticky_injection;
        std::deque<IsolatedModule*> queue; // failed instances to recover, in order
        // The instance being started (reload, reinit) and whether it failed
        // meanwhile: its failure is queued only once the kernel has adopted it
        // (a start that fails is the starter's to count, and the instance is gone).
        IsolatedModule* starting { nullptr };
        bool failed_while_starting { false };
        std::string start_failure; // what that failure was, for the start's error
        bool busy { false };
        std::thread worker;
    };
    // A device a class held for a driver: it must come back with the next instance.
    struct HeldDevice {
        std::string driver_class;
        std::string name;
    };
    class Stages;

    void watch(IsolatedModule& module, Driver& driver);
    void worker(Driver& driver);
    void recover(Driver& driver, IsolatedModule& failed);
    // The stages, in order (see the top of this file).
    std::vector<HeldDevice> stop_failed(Stages& stages, IsolatedModule& failed);
    PolicyDecision decide(Driver& driver, FailureRecord const& failure, RecoveryRecord& record);
    // Loads and starts an instance. `loaded` runs between loading and starting
    // (load() reserves the driver's name there); an error from it ends the start.
    using LoadedHook = std::function<Result<void>(IsolatedModule&)>;
    Result<IsolatedModule*> start_instance(Driver& driver, std::string const& path, Stages* stages, LoadedHook const& loaded = {});
    std::string missing_devices(IsolatedModule& fresh, std::vector<HeldDevice> const& held) const;
    void enable_interrupts(Stages& stages, IsolatedModule& fresh);
    std::vector<RecoveryObserver*> observers() const;

    Kernel& m_kernel;
    Options m_options;
    // Failure listeners hold this while they queue a job; closing it (in the
    // destructor) guarantees none touches the manager afterwards.
    struct Gate {
        Mutex mutex;
        bool open NK_GUARDED_BY(mutex) { true };
    };
    std::shared_ptr<Gate> m_gate { std::make_shared<Gate>() };
    mutable Mutex m_mutex;
    mutable ConditionVariable m_changed;
    std::map<std::string, std::unique_ptr<Driver>> m_drivers NK_GUARDED_BY(m_mutex);
    std::vector<RecoveryObserver*> m_observers NK_GUARDED_BY(m_mutex);
    std::deque<RecoveryRecord> m_history NK_GUARDED_BY(m_mutex);
    bool m_stopping NK_GUARDED_BY(m_mutex) { false };
};

} // namespace nk
