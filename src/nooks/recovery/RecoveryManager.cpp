// SPDX-License-Identifier: MIT
#include "nooks/recovery/RecoveryManager.h"

#include "base/Clock.h"
#include "base/Log.h"
#include "base/Units.h"
#include "kernel/Kernel.h"
#include "kernel/bus/BusDevice.h"

#include <algorithm>

namespace nk {

static auto logger() { return log::get("recovery"); }

namespace {

constexpr size_t history_limit = 200;
// A thread still inside the failed driver after this long is left behind.
constexpr std::chrono::seconds unwind_timeout { 5 };
// Restarts that fail in a row before the manager gives up, whatever the policy.
constexpr unsigned max_failed_starts = 10;

} // namespace

// Times each stage of one recovery into its record (and the log).
class RecoveryManager::Stages {
public:
    Stages(RecoveryRecord& record, std::string driver, uint64_t detected_ns)
        : m_record(record)
        , m_driver(std::move(driver))
        , m_detected_ns(detected_ns)
    {
    }

    // Runs `body` (returning Result<std::string>: a note, or why the stage
    // failed) as stage `name`; returns whether it succeeded.
    template<typename Body>
    bool run(char const* name, Body&& body)
    {
        auto start = monotonic_ns();
        Result<std::string> note = body();
        auto duration = monotonic_ns() - start;
        m_record.stages.push_back({ name, start - m_detected_ns, duration, note.has_value(), note ? *note : note.error().message() });
        auto const& text = m_record.stages.back().note;
        logger()->info("{}: {} {}{}{}", m_driver, name, format_duration_ns(duration), note ? "" : " FAILED", text.empty() ? "" : " (" + text + ")");
        return note.has_value();
    }
    void record(char const* name, uint64_t start, std::string note)
    {
        m_record.stages.push_back({ name, start - m_detected_ns, monotonic_ns() - start, true, std::move(note) });
    }
    RecoveryRecord& record() { return m_record; }

private:
    RecoveryRecord& m_record;
    std::string m_driver;
    uint64_t m_detected_ns;
};

char const* driver_state_name(DriverState state)
{
    switch (state) {
    case DriverState::Live: return "live";
    case DriverState::Recovering: return "recovering";
    case DriverState::Disabled: return "disabled";
    }
    return "?";
}

RecoveryManager::RecoveryManager(Kernel& kernel, Options options)
    : m_kernel(kernel)
    , m_options(std::move(options))
{
}

RecoveryManager::~RecoveryManager()
{
    {
        MutexLocker gate(m_gate->mutex);
        m_gate->open = false;
    }
    std::vector<std::thread> workers;
    {
        MutexLocker lock(m_mutex);
        m_stopping = true;
        for (auto& [key, driver] : m_drivers)
            workers.push_back(std::move(driver->worker));
    }
    m_changed.notify_all();
    for (auto& worker : workers) {
        if (worker.joinable())
            worker.join();
    }
}

void RecoveryManager::add_observer(RecoveryObserver& observer)
{
    MutexLocker lock(m_mutex);
    m_observers.push_back(&observer);
}

void RecoveryManager::remove_observer(RecoveryObserver& observer)
{
    MutexLocker lock(m_mutex);
    std::erase(m_observers, &observer);
}

std::vector<RecoveryObserver*> RecoveryManager::observers() const
{
    MutexLocker lock(m_mutex);
    return m_observers;
}

void RecoveryManager::watch(IsolatedModule& module, Driver& driver)
{
    module.set_failure_listener([this, gate = m_gate, &driver](IsolatedModule& failed) {
        auto record = failed.failure();
        auto cause = record ? fmt::format("{}: {}", failure_cause_name(record->cause), record->message) : std::string();
        MutexLocker open(gate->mutex);
        if (!gate->open)
            return false;
        {
            MutexLocker lock(m_mutex);
            if (m_stopping)
                return false;
            driver.status.state = DriverState::Recovering;
            if (&failed == driver.starting) {
                driver.failed_while_starting = true;
                driver.start_failure = cause;
                return true;
            }
            driver.queue.push_back(&failed);
        }
        m_changed.notify_all();
        return true;
    });
}

void RecoveryManager::worker(Driver& driver)
{
    auto thread_name = fmt::format("nk-rec-{}", driver.key).substr(0, 15);
    pthread_setname_np(pthread_self(), thread_name.c_str());
    MutexLocker lock(m_mutex);
    for (;;) {
        while (!m_stopping && driver.queue.empty())
            m_changed.wait(lock);
        if (m_stopping)
            return;
        auto* failed = driver.queue.front();
        driver.queue.pop_front();
        driver.busy = true;
        lock.unlock();
        recover(driver, *failed);
        lock.lock();
        driver.busy = false;
        m_changed.notify_all();
    }
}

Result<IsolatedModule*> RecoveryManager::start_instance(Driver& driver, std::string const& path, Stages* stages, LoadedHook const& loaded_hook)
{
    auto options = driver.options;
    {
        MutexLocker lock(m_mutex);
        options.injection = std::exchange(driver.next_start_injection, std::nullopt);
        if (!options.injection)
            options.injection = driver.sticky_injection;
    }
    // Runs `body` as a timed stage of the recovery, when there is one.
    auto stage = [&](char const* name, auto&& body) -> Result<void> {
        Result<void> result {};
        auto run = [&]() -> Result<std::string> {
            result = body();
            if (!result)
                return std::unexpected(result.error());
            return std::string();
        };
        if (stages != nullptr)
            stages->run(name, run);
        else
            (void)run();
        return result;
    };
    std::unique_ptr<IsolatedModule> loaded;
    TRY(stage("reload", [&]() -> Result<void> {
        loaded = TRY(IsolatedModule::load(m_kernel, path, options, driver.binding));
        return {};
    }));
    auto* raw = loaded.get();
    if (loaded_hook)
        TRY(loaded_hook(*raw));
    {
        MutexLocker lock(m_mutex);
        driver.starting = raw;
        driver.failed_while_starting = false;
    }
    watch(*raw, driver);
    auto adopted = stage("reinit", [&]() -> Result<void> {
        auto result = m_kernel.adopt_module(std::move(loaded));
        if (result)
            return {};
        // "init: driver has failed" says little; the instance's failure says why.
        MutexLocker lock(m_mutex);
        if (driver.start_failure.empty())
            return std::unexpected(std::move(result.error()));
        return make_error(result.error().code(), "{} ({})", result.error().message(), driver.start_failure);
    });
    bool queued = false;
    {
        MutexLocker lock(m_mutex);
        driver.starting = nullptr;
        driver.start_failure.clear();
        // Adopted, but it failed meanwhile (an interrupt, a timer): recover it.
        // Not adopted: the instance is gone, the failure is this start's error.
        queued = std::exchange(driver.failed_while_starting, false) && adopted.has_value();
        if (queued)
            driver.queue.push_back(raw);
    }
    if (queued)
        m_changed.notify_all();
    TRY(adopted);
    return raw;
}

Result<IsolatedModule*> RecoveryManager::load(std::string const& path, std::string const& driver_class, IsolationOptions options,
    std::string const& binding)
{
    // Registered under its name before it starts (so a failure during or
    // right after its initialization already has its recovery, and a second
    // driver of the same name is refused before it runs); its thread starts
    // once it is up.
    auto owned = std::make_unique<Driver>();
    auto& driver = *owned;
    driver.options = std::move(options);
    driver.binding = binding;
    driver.status.path = path;
    driver.status.driver_class = driver_class;
    driver.status.state = DriverState::Recovering;
    auto reserve = [&](IsolatedModule& module) -> Result<void> {
        MutexLocker lock(m_mutex);
        if (m_drivers.contains(module.name()))
            return make_error(ErrorCode::AlreadyExists, "recovery: a driver named {} is loaded already", module.name());
        driver.key = module.name();
        driver.status.name = module.name();
        m_drivers.emplace(driver.key, std::move(owned));
        return {};
    };
    auto started = start_instance(driver, path, nullptr, reserve);
    MutexLocker lock(m_mutex);
    if (!started) {
        if (!driver.key.empty())
            m_drivers.erase(driver.key); // reserved, never started: no thread, no listener left
        return std::unexpected(std::move(started.error()));
    }
    auto* module = *started;
    driver.status.module = module;
    // A failure during start-up (already queued) keeps it Recovering.
    if (driver.queue.empty())
        driver.status.state = DriverState::Live;
    driver.worker = std::thread([this, &driver] { worker(driver); });
    return module;
}

void RecoveryManager::note_injection(std::string const& name, std::string const& description)
{
    MutexLocker lock(m_mutex);
    if (auto it = m_drivers.find(name); it != m_drivers.end())
        it->second->injected = description;
}

Result<void> RecoveryManager::inject_at_next_start(std::string const& name, abi::InjectionSpec injection, std::string const& description)
{
    MutexLocker lock(m_mutex);
    auto it = m_drivers.find(name);
    if (it == m_drivers.end())
        return make_error(ErrorCode::NotFound, "inject: no driver named {}", name);
    it->second->next_start_injection = injection;
    it->second->injected = description;
    return {};
}

Result<void> RecoveryManager::set_sticky_injection(std::string const& name, std::optional<abi::InjectionSpec> injection)
{
    MutexLocker lock(m_mutex);
    auto it = m_drivers.find(name);
    if (it == m_drivers.end())
        return make_error(ErrorCode::NotFound, "inject: no driver named {}", name);
    it->second->sticky_injection = injection;
    return {};
}

Result<void> RecoveryManager::restart(std::string const& name)
{
    IsolatedModule* module = nullptr;
    Driver* driver = nullptr;
    {
        MutexLocker lock(m_mutex);
        auto it = m_drivers.find(name);
        if (it == m_drivers.end())
            return make_error(ErrorCode::NotFound, "restart: no driver named {}", name);
        driver = it->second.get();
        if (driver->status.state == DriverState::Recovering)
            return make_error(ErrorCode::Unavailable, "restart: {} is being recovered already", name);
        module = driver->status.state == DriverState::Disabled ? nullptr : driver->status.module;
        if (module == nullptr) {
            // A driver the policy gave up on: an operator may start it again.
            driver->status.state = DriverState::Recovering;
            driver->failure_times.clear();
        }
    }
    if (module != nullptr) {
        module->fail({ .cause = FailureCause::Operator, .module = name, .message = "restart requested by an operator" });
        return {};
    }
    auto started = start_instance(*driver, driver->status.path, nullptr);
    MutexLocker lock(m_mutex);
    if (!started) {
        driver->status.state = DriverState::Disabled;
        return std::unexpected(std::move(started.error()));
    }
    driver->status.module = *started;
    driver->status.restarts++;
    // A failure of the new instance may already be queued: it stays Recovering.
    if (driver->queue.empty())
        driver->status.state = DriverState::Live;
    return {};
}

Result<void> RecoveryManager::update(std::string const& name, std::string const& path)
{
    IsolatedModule* module = nullptr;
    Driver* driver = nullptr;
    {
        MutexLocker lock(m_mutex);
        auto it = m_drivers.find(name);
        if (it == m_drivers.end())
            return make_error(ErrorCode::NotFound, "update: no driver named {}", name);
        driver = it->second.get();
        if (driver->status.state == DriverState::Recovering)
            return make_error(ErrorCode::Unavailable, "update: {} is being recovered; try again", name);
        if (driver->status.state == DriverState::Disabled || driver->status.module == nullptr)
            return make_error(ErrorCode::FailedPrecondition, "update: {} is disabled (`nooks ctl restart` starts it again)", name);
        module = driver->status.module;
        driver->pending_update = path;
    }
    module->fail({ .cause = FailureCause::Update, .module = name, .message = fmt::format("update to {} requested by an operator", path) });
    // The first cause wins: a driver that failed on its own meanwhile is
    // recovered as a failure, and the update is not made.
    if (auto failure = module->failure(); !failure || failure->cause != FailureCause::Update) {
        MutexLocker lock(m_mutex);
        driver->pending_update.clear();
        return make_error(ErrorCode::Unavailable, "update: {} failed on its own meanwhile and is being recovered; try again", name);
    }
    return {};
}

bool RecoveryManager::wait_idle(std::chrono::milliseconds timeout) const
{
    MutexLocker lock(m_mutex);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    auto idle = [&]() NK_REQUIRES(m_mutex) {
        return std::ranges::all_of(m_drivers, [](auto const& entry) {
            auto const& driver = *entry.second;
            return driver.queue.empty() && !driver.busy && driver.starting == nullptr;
        });
    };
    while (!idle()) {
        auto now = std::chrono::steady_clock::now();
        if (now >= deadline)
            return false;
        m_changed.wait_for(lock, deadline - now);
    }
    return true;
}

PolicyDecision RecoveryManager::decide(Driver& driver, FailureRecord const& failure, RecoveryRecord& record)
{
    // The kernel's own count (the built-in rule's window) for the fallback.
    auto now = monotonic_ns();
    auto window = m_options.builtin.window_s * 1'000'000'000ull;
    DriverStatus status;
    unsigned recent = 0;
    {
        MutexLocker lock(m_mutex);
        driver.failure_times.push_back(now);
        while (!driver.failure_times.empty() && now - driver.failure_times.front() > window)
            driver.failure_times.pop_front();
        recent = static_cast<unsigned>(driver.failure_times.size());
        status = driver.status;
    }
    if (failure.cause == FailureCause::Operator) {
        record.decided_by = "operator";
        return { RecoveryAction::Restart, 0, {}, "restart requested by an operator" };
    }
    if (!m_options.agent_socket.empty()) {
        FailureEvent event { status.name, status.driver_class, status.path, failure_cause_name(failure.cause), failure.message,
            std::chrono::duration_cast<std::chrono::milliseconds>(failure.when.time_since_epoch()).count() };
        auto answer = ask_agent(m_options.agent_socket, event, m_options.agent_timeout);
        if (answer) {
            record.decided_by = "agent";
            return *answer;
        }
        record.decided_by = fmt::format("built-in policy ({})", answer.error().message());
    } else {
        record.decided_by = "built-in policy";
    }
    return nk::decide(m_options.builtin, recent);
}

std::vector<RecoveryManager::HeldDevice> RecoveryManager::stop_failed(Stages& stages, IsolatedModule& failed)
{
    stages.run("disable-interrupts", [&]() -> Result<std::string> {
        failed.mask_interrupts();
        return std::string();
    });
    stages.run("unwind", [&]() -> Result<std::string> {
        if (!failed.unwind(unwind_timeout))
            return fmt::format("a thread did not leave the driver in {} s", unwind_timeout.count());
        return std::string();
    });
    auto devices = failed.bound_devices();
    // What the driver had registered with the classes: its next instance must
    // bring it back (an end-to-end check: a driver that "initialized" without
    // registering its disk is not recovered).
    std::vector<HeldDevice> held;
    for (auto* driver_class : m_kernel.classes()) {
        for (auto& name : driver_class->devices_of(failed))
            held.push_back({ std::string(driver_class->name()), std::move(name) });
    }
    // What a shadow lets the devices finish before they are reset.
    if (auto watching = observers(); !watching.empty()) {
        stages.run("quiesce", [&]() -> Result<std::string> {
            for (auto* observer : watching)
                observer->driver_stopping(failed);
            return std::string();
        });
    }
    // The devices first: a NIC still receiving would write into DMA buffers
    // the release is about to unmap and give back.
    stages.run("reset-device", [&]() -> Result<std::string> {
        for (auto* device : devices)
            device->hardware().hard_reset();
        return fmt::format("{} devices", devices.size());
    });
    stages.run("release", [&]() -> Result<std::string> {
        auto objects = failed.tracker().count();
        failed.release_resources();
        return fmt::format("{} objects", objects);
    });
    stages.run("unload", [&]() -> Result<std::string> {
        failed.end_domain();
        m_kernel.retire_module(failed);
        failed.retire();
        return std::string();
    });
    return held;
}

std::string RecoveryManager::missing_devices(IsolatedModule& fresh, std::vector<HeldDevice> const& held) const
{
    for (auto const& device : held) {
        auto* driver_class = m_kernel.find_class(device.driver_class);
        auto back = driver_class != nullptr ? driver_class->devices_of(fresh) : std::vector<std::string> {};
        if (std::ranges::find(back, device.name) == back.end())
            return device.name;
    }
    return {};
}

void RecoveryManager::enable_interrupts(Stages& stages, IsolatedModule& fresh)
{
    stages.run("enable-interrupts", [&]() -> Result<std::string> {
        // The new instance requested its lines (which enables them); a line it
        // holds that is still masked would leave it deaf.
        unsigned lines = 0;
        auto stats = m_kernel.irqs().stats();
        for (auto const& object : fresh.tracker().list()) {
            if (object.type != ObjectType::Irq)
                continue;
            ++lines;
            auto line = std::ranges::find(stats, static_cast<uint32_t>(object.key), &IrqController::LineStats::irq);
            if (line == stats.end() || line->disable_depth != 0)
                return make_error(ErrorCode::FailedPrecondition, "irq {} is still disabled", object.key);
        }
        return fmt::format("{} lines live", lines);
    });
}

void RecoveryManager::recover(Driver& driver, IsolatedModule& failed)
{
    auto failure = failed.failure().value_or(FailureRecord {});
    auto const detected = failure.detected_ns != 0 ? failure.detected_ns : monotonic_ns();
    RecoveryRecord record;
    record.failure = failure;
    // An operator's update: started from the new binary, no failure to count or to ask about.
    std::string update;
    {
        MutexLocker lock(m_mutex);
        if (failure.cause == FailureCause::Update)
            update = std::exchange(driver.pending_update, {});
        if (update.empty())
            driver.status.failures++;
        driver.status.module = nullptr;
        record.injected = driver.next_start_injection ? driver.injected : std::exchange(driver.injected, {});
    }
    logger()->warn("recovering {}: {}: {}", failed.name(), failure_cause_name(failure.cause), failure.message);
    Stages stages(record, failed.name(), detected);
    auto held = stop_failed(stages, failed);

    for (unsigned attempt = 1;; ++attempt) {
        auto start = monotonic_ns();
        PolicyDecision decision;
        if (attempt == 1 && !update.empty()) {
            decision = { RecoveryAction::Replace, 0, update, "a live update" };
            record.decided_by = "operator";
        } else {
            decision = decide(driver, failure, record);
        }
        if (attempt > max_failed_starts) {
            decision = { RecoveryAction::GiveUp, 0, {}, fmt::format("the driver failed to start {} times in a row", max_failed_starts) };
            record.decided_by = "recovery manager";
        }
        stages.record("policy", start, fmt::format("{}: {} ({})", record.decided_by, recovery_action_name(decision.action), decision.reason));
        record.decision = recovery_action_name(decision.action);
        if (!m_options.agent_socket.empty() || decision.action != RecoveryAction::Restart)
            logger()->info("{}: policy: {} ({}; {})", failed.name(), recovery_action_name(decision.action), decision.reason, record.decided_by);

        if (decision.action == RecoveryAction::GiveUp) {
            record.outcome = "gave up: the driver stays disabled";
            for (auto* observer : observers())
                observer->driver_given_up(failed);
            MutexLocker lock(m_mutex);
            driver.status.state = DriverState::Disabled;
            break;
        }
        if (decision.delay_ms > 0) {
            auto begin = monotonic_ns();
            bool stopping = false;
            {
                MutexLocker lock(m_mutex);
                auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(decision.delay_ms);
                while (!m_stopping && std::chrono::steady_clock::now() < until)
                    m_changed.wait_for(lock, until - std::chrono::steady_clock::now());
                stopping = m_stopping;
            }
            record.backoff_ns += monotonic_ns() - begin;
            stages.record("backoff", begin, fmt::format("{} ms", decision.delay_ms));
            if (stopping) {
                record.outcome = "kernel stopping";
                break;
            }
        }
        auto path = decision.action == RecoveryAction::Replace ? decision.replacement : driver.status.path;
        auto started = start_instance(driver, path, &stages);
        if (!started) {
            // The new instance did not come up: that is another failure.
            logger()->error("{}: restart failed: {}", failed.name(), started.error());
            failure = { .cause = FailureCause::StartFailure, .module = failed.name(), .message = started.error().message(),
                .detected_ns = monotonic_ns(), .when = std::chrono::system_clock::now() };
            MutexLocker lock(m_mutex);
            driver.status.failures++;
            continue;
        }
        auto* fresh = *started;
        std::string missing;
        stages.run("devices-back", [&]() -> Result<std::string> {
            missing = missing_devices(*fresh, held);
            if (!missing.empty())
                return make_error(ErrorCode::FailedPrecondition, "{} was not registered again", missing);
            return fmt::format("{} devices", held.size());
        });
        {
            MutexLocker lock(m_mutex);
            driver.status.module = fresh;
            // A binary that did not bring the devices back is not the driver's from now on.
            if (missing.empty())
                driver.status.path = path;
            driver.status.restarts++;
        }
        if (!missing.empty()) {
            // Up, but not serving: a failure of the new instance, recovered on its own.
            record.outcome = fmt::format("restarted without registering {}: recovered again", missing);
            fresh->fail({ .cause = FailureCause::StartFailure, .module = failed.name(),
                .message = fmt::format("re-initialized without registering {} (initialization skipped?)", missing) });
            break;
        }
        enable_interrupts(stages, *fresh);
        for (auto* observer : observers())
            observer->driver_restarted(*fresh);
        {
            MutexLocker lock(m_mutex);
            // A failure of the fresh instance may already be queued: it stays Recovering.
            if (driver.queue.empty())
                driver.status.state = DriverState::Live;
        }
        record.outcome = decision.action != RecoveryAction::Replace ? std::string("restarted")
            : attempt == 1 && !update.empty()                        ? fmt::format("updated to {}", path)
                                                                     : fmt::format("replaced by {}", path);
        break;
    }
    record.total_ns = monotonic_ns() - detected;
    logger()->warn("{}: {} ({} after detection)", failed.name(), record.outcome, format_duration_ns(record.total_ns));
    MutexLocker lock(m_mutex);
    m_history.push_back(std::move(record));
    while (m_history.size() > history_limit)
        m_history.pop_front();
}

std::vector<DriverStatus> RecoveryManager::drivers() const
{
    MutexLocker lock(m_mutex);
    std::vector<DriverStatus> result;
    for (auto const& [name, driver] : m_drivers)
        result.push_back(driver->status);
    return result;
}

std::optional<DriverStatus> RecoveryManager::driver(std::string const& name) const
{
    MutexLocker lock(m_mutex);
    if (auto it = m_drivers.find(name); it != m_drivers.end())
        return it->second->status;
    return std::nullopt;
}

std::vector<RecoveryRecord> RecoveryManager::history() const
{
    MutexLocker lock(m_mutex);
    return { m_history.begin(), m_history.end() };
}

} // namespace nk
