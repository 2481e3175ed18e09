// SPDX-License-Identifier: MIT
#include "nooks/recovery/RecoveryManager.h"

#include "base/Clock.h"
#include "base/Log.h"
#include "base/Units.h"
#include "kernel/Kernel.h"
#include "classes/block/Disk.h"
#include "kernel/bus/BusDevice.h"

#include <spawn.h>
#include <sys/wait.h>

namespace nk {

static auto logger() { return log::get("recovery"); }

static constexpr size_t history_limit = 200;

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
    m_thread = std::thread([this] { worker(); });
}

RecoveryManager::~RecoveryManager()
{
    {
        std::scoped_lock gate(m_gate->mutex);
        m_gate->open = false;
    }
    {
        std::scoped_lock lock(m_mutex);
        m_stopping = true;
    }
    m_changed.notify_all();
    m_thread.join();
}

void RecoveryManager::watch(IsolatedModule& module, std::string key)
{
    module.set_failure_listener([this, gate = m_gate, key = std::move(key)](IsolatedModule& failed) {
        std::scoped_lock open(gate->mutex);
        if (!gate->open)
            return false;
        {
            std::scoped_lock lock(m_mutex);
            if (m_stopping)
                return false;
            m_queue.emplace_back(key, &failed);
            if (auto it = m_drivers.find(key); it != m_drivers.end())
                it->second.status.state = DriverState::Recovering;
        }
        m_changed.notify_all();
        return true;
    });
}

Result<IsolatedModule*> RecoveryManager::start_instance(std::string const& key, Driver& driver, std::string const& path, RecoveryRecord* record,
    uint64_t detected_ns)
{
    auto stage = [&](char const* name, auto&& body) -> decltype(body()) {
        auto start = monotonic_ns();
        auto result = body();
        if (record != nullptr) {
            record->stages.push_back({ name, start - detected_ns, monotonic_ns() - start, result.has_value(),
                result.has_value() ? "" : result.error().message() });
        }
        return result;
    };
    auto options = driver.options;
    {
        std::scoped_lock lock(m_mutex);
        options.injection = std::exchange(driver.next_start_injection, std::nullopt);
        if (!options.injection)
            options.injection = driver.sticky_injection;
    }
    auto module = TRY(stage("reload", [&]() { return IsolatedModule::load(m_kernel, path, options); }));
    auto* raw = module.get();
    watch(*raw, key.empty() ? raw->name() : key);
    TRY(stage("reinit", [&]() { return m_kernel.adopt_module(std::move(module)); }));
    return raw;
}

Result<IsolatedModule*> RecoveryManager::load(std::string const& path, std::string const& driver_class, IsolationOptions options)
{
    Driver driver;
    driver.options = options;
    driver.status.path = path;
    driver.status.driver_class = driver_class;
    auto* module = TRY(start_instance({}, driver, path, nullptr, 0));
    driver.status.name = module->name();
    driver.status.module = module;
    std::scoped_lock lock(m_mutex);
    m_drivers[module->name()] = std::move(driver);
    return module;
}

void RecoveryManager::note_injection(std::string const& driver, std::string const& description)
{
    std::scoped_lock lock(m_mutex);
    if (auto it = m_drivers.find(driver); it != m_drivers.end())
        it->second.injected = description;
}

Result<void> RecoveryManager::inject_at_next_start(std::string const& name, IsolationOptions::Injection injection, std::string const& description)
{
    std::scoped_lock lock(m_mutex);
    auto it = m_drivers.find(name);
    if (it == m_drivers.end())
        return make_error(ErrorCode::NotFound, "inject: no driver named {}", name);
    it->second.next_start_injection = injection;
    it->second.injected = description;
    return {};
}

Result<void> RecoveryManager::set_sticky_injection(std::string const& name, std::optional<IsolationOptions::Injection> injection)
{
    std::scoped_lock lock(m_mutex);
    auto it = m_drivers.find(name);
    if (it == m_drivers.end())
        return make_error(ErrorCode::NotFound, "inject: no driver named {}", name);
    it->second.sticky_injection = injection;
    return {};
}

Result<void> RecoveryManager::restart(std::string const& name)
{
    IsolatedModule* module = nullptr;
    {
        std::scoped_lock lock(m_mutex);
        auto it = m_drivers.find(name);
        if (it == m_drivers.end())
            return make_error(ErrorCode::NotFound, "restart: no driver named {}", name);
        if (it->second.status.state == DriverState::Recovering)
            return make_error(ErrorCode::Unavailable, "restart: {} is being recovered already", name);
        module = it->second.status.module;
        if (it->second.status.state == DriverState::Disabled)
            module = nullptr;
    }
    if (module != nullptr) {
        module->fail({ .cause = FailureCause::Operator, .module = name, .message = "restart requested by an operator" });
        return {};
    }
    // A driver the policy gave up on: an operator may start it again.
    std::unique_lock lock(m_mutex);
    auto& driver = m_drivers[name];
    driver.status.state = DriverState::Recovering;
    driver.failure_times.clear();
    auto path = driver.status.path;
    lock.unlock();
    auto started = start_instance(name, driver, path, nullptr, 0);
    lock.lock();
    if (!started) {
        driver.status.state = DriverState::Disabled;
        return std::unexpected(std::move(started.error()));
    }
    driver.status.module = *started;
    driver.status.state = DriverState::Live;
    driver.status.restarts++;
    return {};
}

bool RecoveryManager::wait_idle(std::chrono::milliseconds timeout) const
{
    std::unique_lock lock(m_mutex);
    return m_changed.wait_for(lock, timeout, [&] { return m_queue.empty() && !m_busy; });
}

void RecoveryManager::worker()
{
    pthread_setname_np(pthread_self(), "nk-recovery");
    std::unique_lock lock(m_mutex);
    for (;;) {
        m_changed.wait(lock, [&] { return m_stopping || !m_queue.empty(); });
        if (m_stopping)
            return;
        auto [key, module] = m_queue.front();
        m_queue.pop_front();
        m_busy = true;
        lock.unlock();
        recover(key, *module);
        lock.lock();
        m_busy = false;
        m_changed.notify_all();
    }
}

PolicyDecision RecoveryManager::decide(Driver& driver, FailureRecord const& failure, RecoveryRecord& record)
{
    // The kernel's own count (the built-in rule's window) for the fallback.
    auto now = monotonic_ns();
    auto window = m_options.builtin.window_s * 1'000'000'000ull;
    driver.failure_times.push_back(now);
    while (!driver.failure_times.empty() && now - driver.failure_times.front() > window)
        driver.failure_times.pop_front();
    if (failure.cause == FailureCause::Operator) {
        record.decided_by = "operator";
        return { RecoveryAction::Restart, 0, {}, "restart requested by an operator" };
    }
    if (!m_options.agent_socket.empty()) {
        FailureEvent event { driver.status.name, driver.status.driver_class, driver.status.path, failure_cause_name(failure.cause),
            failure.message, std::chrono::duration_cast<std::chrono::milliseconds>(failure.when.time_since_epoch()).count() };
        auto answer = ask_agent(m_options.agent_socket, event, m_options.agent_timeout);
        if (answer) {
            record.decided_by = "agent";
            return *answer;
        }
        record.decided_by = fmt::format("built-in policy ({})", answer.error().message());
    } else {
        record.decided_by = "built-in policy";
    }
    return nk::decide(m_options.builtin, static_cast<unsigned>(driver.failure_times.size()));
}

void RecoveryManager::recover(std::string const& key, IsolatedModule& module)
{
    auto failure = module.failure().value_or(FailureRecord {});
    auto const detected = failure.detected_ns != 0 ? failure.detected_ns : monotonic_ns();
    RecoveryRecord record;
    record.failure = failure;
    Driver* driver = nullptr;
    {
        std::scoped_lock lock(m_mutex);
        auto it = m_drivers.find(key);
        if (it == m_drivers.end())
            return;
        driver = &it->second;
        driver->status.failures++;
        driver->status.module = nullptr;
        record.injected = driver->next_start_injection ? driver->injected : std::exchange(driver->injected, {});
    }
    logger()->warn("recovering {}: {}: {}", module.name(), failure_cause_name(failure.cause), failure.message);
    auto stage = [&](char const* name, auto&& body) {
        auto start = monotonic_ns();
        std::string note = body();
        auto duration = monotonic_ns() - start;
        record.stages.push_back({ name, start - detected, duration, true, note });
        logger()->info("{}: {} {}{}", module.name(), name, format_duration_ns(duration), note.empty() ? "" : " (" + note + ")");
    };

    stage("disable-interrupts", [&] { module.mask_interrupts(); return std::string(); });
    stage("unwind", [&] { return module.unwind(std::chrono::seconds(5)) ? std::string() : std::string("a thread did not leave the driver in 5 s"); });
    auto devices = module.bound_devices();
    std::vector<std::string> disks_before;
    for (auto const& object : module.tracker().list()) {
        if (object.type == ObjectType::Disk)
            disks_before.push_back(static_cast<Disk*>(object.object)->name());
    }
    stage("release", [&] {
        auto held = module.tracker().count();
        module.release_resources();
        return fmt::format("{} objects", held);
    });
    stage("reset-device", [&] {
        for (auto* device : devices)
            device->hardware().hard_reset();
        return fmt::format("{} devices", devices.size());
    });
    stage("unload", [&] {
        module.end_domain();
        m_kernel.retire_module(module);
        module.retire();
        return std::string();
    });

    // The disks the driver had: its new instance must bring them back (an end-to-end
    // check: a driver that "initialized" without registering them is not recovered).
    auto expected_disks = std::move(disks_before);
    for (unsigned attempt = 1;; ++attempt) {
        auto start = monotonic_ns();
        auto decision = decide(*driver, failure, record);
        if (attempt > 10) {
            decision = { RecoveryAction::GiveUp, 0, {}, "the driver failed to start 10 times in a row" };
            record.decided_by = "recovery manager";
        }
        record.stages.push_back({ "policy", start - detected, monotonic_ns() - start, true,
            fmt::format("{}: {} ({})", record.decided_by, recovery_action_name(decision.action), decision.reason) });
        record.decision = recovery_action_name(decision.action);
        if (!m_options.agent_socket.empty() || decision.action != RecoveryAction::Restart)
            logger()->info("{}: policy: {} ({}; {})", module.name(), recovery_action_name(decision.action), decision.reason, record.decided_by);

        if (decision.action == RecoveryAction::GiveUp) {
            record.outcome = "gave up: the driver stays disabled";
            if (m_options.on_gave_up)
                m_options.on_gave_up(module);
            std::scoped_lock lock(m_mutex);
            driver->status.state = DriverState::Disabled;
            break;
        }
        if (decision.delay_ms > 0) {
            auto begin = monotonic_ns();
            std::unique_lock lock(m_mutex);
            m_changed.wait_for(lock, std::chrono::milliseconds(decision.delay_ms), [&] { return m_stopping; });
            record.backoff_ns += monotonic_ns() - begin;
            record.stages.push_back({ "backoff", begin - detected, monotonic_ns() - begin, true, fmt::format("{} ms", decision.delay_ms) });
            if (m_stopping) {
                record.outcome = "kernel stopping";
                break;
            }
        }
        auto path = decision.action == RecoveryAction::Replace ? decision.replacement : driver->status.path;
        auto started = start_instance(key, *driver, path, &record, detected);
        std::string missing;
        if (started) {
            for (auto const& name : expected_disks) {
                auto disk = m_kernel.block().find(name);
                if (!disk || &disk->owner() != *started)
                    missing = name;
            }
        }
        if (started && !missing.empty()) {
            // Up, but not serving: a failure of the new instance, recovered on its own.
            {
                std::scoped_lock lock(m_mutex);
                driver->status.module = *started;
                driver->status.path = path;
                driver->status.restarts++;
            }
            record.outcome = fmt::format("restarted without registering {}: recovered again", missing);
            (*started)->fail({ .cause = FailureCause::StartFailure, .module = module.name(),
                .message = fmt::format("re-initialized without registering {} (initialization skipped?)", missing) });
            break;
        }
        if (started) {
            auto* fresh = *started;
            stage("enable-interrupts", [&] {
                unsigned lines = 0;
                for (auto const& object : fresh->tracker().list()) {
                    if (object.type == ObjectType::Irq)
                        ++lines;
                }
                return fmt::format("{} lines", lines);
            });
            if (m_options.on_restarted)
                m_options.on_restarted(*fresh);
            std::scoped_lock lock(m_mutex);
            driver->status.module = fresh;
            driver->status.path = path;
            driver->status.restarts++;
            driver->status.state = DriverState::Live;
            record.outcome = decision.action == RecoveryAction::Replace ? fmt::format("replaced by {}", path) : "restarted";
            break;
        }
        // The new instance did not come up: that is another failure.
        logger()->error("{}: restart failed: {}", module.name(), started.error());
        failure = { .cause = FailureCause::StartFailure, .module = module.name(), .message = started.error().message(),
            .detected_ns = monotonic_ns(), .when = std::chrono::system_clock::now() };
        std::scoped_lock lock(m_mutex);
        driver->status.failures++;
    }
    record.total_ns = monotonic_ns() - detected;
    logger()->warn("{}: {} ({} after detection)", module.name(), record.outcome, format_duration_ns(record.total_ns));
    std::scoped_lock lock(m_mutex);
    m_history.push_back(std::move(record));
    while (m_history.size() > history_limit)
        m_history.pop_front();
}

std::vector<DriverStatus> RecoveryManager::drivers() const
{
    std::scoped_lock lock(m_mutex);
    std::vector<DriverStatus> result;
    for (auto const& [name, driver] : m_drivers)
        result.push_back(driver.status);
    return result;
}

std::optional<DriverStatus> RecoveryManager::driver(std::string const& name) const
{
    std::scoped_lock lock(m_mutex);
    if (auto it = m_drivers.find(name); it != m_drivers.end())
        return it->second.status;
    return std::nullopt;
}

std::vector<RecoveryRecord> RecoveryManager::history() const
{
    std::scoped_lock lock(m_mutex);
    return { m_history.begin(), m_history.end() };
}

} // namespace nk
