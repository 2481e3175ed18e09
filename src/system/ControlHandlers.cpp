// SPDX-License-Identifier: MIT
#include "system/ControlHandlers.h"

#include "inject/Injector.h"
#include "kernel/bus/BusDevice.h"
#include "kernel/native/NativeModule.h"
#include "nooks/module/IsolatedModule.h"
#include "system/System.h"

#include <fmt/ranges.h>

#include <atomic>
#include <filesystem>
#include <unistd.h>

namespace nk {

namespace {

nlohmann::json module_json(Module& module, RecoveryManager* recovery)
{
    nlohmann::json entry {
        { "name", module.name() },
        { "module", module.module_name() },
        { "device", module.binding() },
        { "path", module.path() },
        { "isolation", module.isolation() == Isolation::Native ? "native" : "isolated" },
        { "state", module_state_name(module.state()) },
        { "failures", 0 },
        { "restarts", 0 },
    };
    auto* isolated = dynamic_cast<IsolatedModule*>(&module);
    if (isolated == nullptr)
        return entry;
    // Recovery may retire the module while we look: pinned, its domain stays.
    auto pin = isolated->enter();
    if (!pin) {
        entry["state"] = "retired";
        return entry;
    }
    {
        auto stats = isolated->xpc_stats();
        entry["failures"] = isolated->failure() ? 1 : 0;
        if (recovery != nullptr) {
            if (auto status = recovery->driver(module.name())) {
                entry["failures"] = status->failures;
                entry["restarts"] = status->restarts;
                entry["recovery"] = driver_state_name(status->state);
            }
        }
        entry["domain"] = { { "backend", isolated->domain().backend() }, { "pid", isolated->domain().pid() },
            { "alive", isolated->domain().alive() } };
        entry["xpc"] = {
            { "calls", stats.calls },
            { "nested_calls", stats.nested_calls },
            { "kernel_calls", stats.kernel_calls },
            { "deferred_in", stats.deferred_in },
            { "batches", stats.batches },
            { "batched", stats.batched },
            { "call_ns", stats.call_ns },
        };
        entry["objects"] = isolated->tracker().count();
        if (auto failure = isolated->failure())
            entry["failure"] = { { "cause", failure_cause_name(failure->cause) }, { "message", failure->message } };
    }
    return entry;
}

// An inject request as the one form an injection takes (abi::InjectionSpec):
// fault ("none" disarms), entry, after, target (class-defined; block: the
// request's first sector, also accepted as "sector"; net: a transmitted
// frame's length, also accepted as "frame_length"), repeat.
Result<abi::InjectionSpec> injection_from_request(nlohmann::json const& request)
{
    auto fault_name = request.value("fault", std::string());
    if (fault_name == "none")
        return inject::disarm_spec();
    auto fault = TRY(inject::parse_fault(fault_name));
    auto entry = TRY(inject::parse_entry(request.value("entry", std::string("any"))));
    auto after = request.value("after", int64_t(1));
    if (after < 1 || after > 1'000'000'000)
        return make_error(ErrorCode::InvalidArgument, "inject: --after must be 1..1000000000");
    std::optional<uint64_t> target;
    for (auto const* key : { "target", "sector", "frame_length" }) {
        if (request.contains(key) && !request[key].is_null()) {
            if (!request[key].is_number_unsigned())
                return make_error(ErrorCode::InvalidArgument, "inject: --{} must be a non-negative number", key);
            target = request[key].get<uint64_t>();
        }
    }
    return inject::arm_spec(fault, entry, static_cast<uint32_t>(after), target, request.value("repeat", false));
}

// The driver a request names: an instance name ("nkdisk@disk0"), or a
// driver's own name when one instance of it is loaded ("nkdisk").
Result<std::string> resolve_driver(System& system, nlohmann::json const& request, char const* command)
{
    if (!request.contains("driver") || !request["driver"].is_string())
        return make_error(ErrorCode::InvalidArgument, "{}: name a driver (see `nooks ctl list`)", command);
    auto name = request["driver"].get<std::string>();
    std::vector<std::string> known;
    for (auto const& module : system.kernel().modules())
        known.push_back(module->name());
    if (auto* recovery = system.recovery()) {
        for (auto const& status : recovery->drivers()) {
            if (std::ranges::find(known, status.name) == known.end())
                known.push_back(status.name);
        }
    }
    if (std::ranges::find(known, name) != known.end())
        return name;
    std::vector<std::string> instances;
    for (auto const& instance : known) {
        if (instance.starts_with(name + "@"))
            instances.push_back(instance);
    }
    if (instances.size() == 1)
        return instances.front();
    if (instances.empty())
        return make_error(ErrorCode::NotFound, "{}: no driver named {} (loaded: {})", command, name, known.empty() ? "none" : fmt::format("{}", fmt::join(known, ", ")));
    return make_error(ErrorCode::InvalidArgument, "{}: {} names {} instances; say which: {}", command, name, instances.size(), fmt::join(instances, ", "));
}

Result<nlohmann::json> list(System& system, nlohmann::json const&)
{
    nlohmann::json modules = nlohmann::json::array();
    for (auto const& module : system.kernel().modules())
        modules.push_back(module_json(*module, system.recovery()));
    // Drivers being recovered or given up on have no module loaded, but are still drivers.
    if (auto* recovery = system.recovery()) {
        for (auto const& status : recovery->drivers()) {
            if (status.state == DriverState::Live)
                continue;
            modules.push_back({ { "name", status.name }, { "path", status.path }, { "isolation", "isolated" },
                { "state", driver_state_name(status.state) }, { "failures", status.failures }, { "restarts", status.restarts },
                { "recovery", driver_state_name(status.state) } });
        }
    }
    nlohmann::json devices = nlohmann::json::array();
    for (auto* device : system.kernel().bus().devices()) {
        devices.push_back({ { "name", device->name() },
            { "id", fmt::format("{:04x}:{:04x}", device->hardware().vendor_id(), device->hardware().device_id()) },
            { "driver", system.kernel().bus().bound_owner_name(*device) },
            { "reserved_for", device->reserved_for() } });
    }
    return nlohmann::json { { "mode", mode_name(system.config().mode) }, { "modules", modules }, { "devices", devices },
        { "classes", system.class_status() } };
}

Result<nlohmann::json> objects(System& system, nlohmann::json const& request)
{
    auto name = TRY(resolve_driver(system, request, "objects"));
    auto module = system.kernel().find_module(name);
    if (module == nullptr)
        return make_error(ErrorCode::Unavailable, "objects: {} is being recovered; try again", name);
    auto* isolated = dynamic_cast<IsolatedModule*>(module.get());
    if (isolated == nullptr)
        return make_error(ErrorCode::FailedPrecondition,
            "objects: {} runs natively; the object tracker follows isolated drivers (run with --mode nooks)", module->name());
    // Its domain's memory is read below: keep recovery from retiring it meanwhile.
    auto pin = isolated->enter();
    if (!pin)
        return make_error(ErrorCode::Unavailable, "objects: {} is being recovered; try again", module->name());
    nlohmann::json objects = nlohmann::json::array();
    for (auto const& object : isolated->tracker().list()) {
        objects.push_back({ { "handle", fmt::format("{:#x}", object.handle) }, { "type", object_type_name(object.type) },
            { "lifetime", lifetime_name(object.lifetime) }, { "description", object.description } });
    }
    // Work the driver holds in its classes (requests in flight), not tracked one by one.
    for (auto const& line : system.describe_held(*module))
        objects.push_back({ { "handle", "" }, { "type", "work" }, { "lifetime", "by-meaning" }, { "description", line } });
    // What lives in the domain itself: read from its shared header (untrusted, for display).
    auto& header = isolated->memory().header();
    auto locks = std::min<uint32_t>(header.lock_count.load(), abi::lock_table_capacity);
    for (uint32_t i = 0; i < locks; ++i) {
        auto address = header.locks[i].address;
        std::string state = "unknown (private memory)";
        if (isolated->memory().in_domain_area(address, 4))
            state = std::atomic_ref<uint32_t>(*reinterpret_cast<uint32_t*>(address)).load() != 0 ? "held" : "free";
        objects.push_back({ { "handle", fmt::format("{:#x}", address) }, { "type", "lock" }, { "lifetime", "by-meaning" },
            { "description", fmt::format("{} at {:#x}, {}", header.locks[i].kind == 1 ? "spinlock" : "mutex", address, state) } });
    }
    objects.push_back({ { "handle", "" }, { "type", "memory" }, { "lifetime", "explicit" },
        { "description", fmt::format("heap: {} bytes in {} allocations (peak {} bytes, {} refused)", header.heap.bytes_in_use.load(),
                             header.heap.allocations.load(), header.heap.peak_bytes.load(), header.heap.failures.load()) } });
    return nlohmann::json { { "driver", module->name() }, { "objects", objects } };
}

Result<nlohmann::json> failures(System& system, nlohmann::json const&)
{
    nlohmann::json failures = nlohmann::json::array();
    auto* recovery = system.recovery();
    if (recovery == nullptr)
        return nlohmann::json { { "failures", failures }, { "note", "native mode: a driver failure is a kernel failure; nothing is recovered" } };
    for (auto const& record : recovery->history()) {
        nlohmann::json stages = nlohmann::json::array();
        for (auto const& stage : record.stages)
            stages.push_back({ { "stage", stage.stage }, { "start_us", stage.start_ns / 1000 }, { "duration_us", stage.duration_ns / 1000 },
                { "ok", stage.ok }, { "note", stage.note } });
        auto const& failure = record.failure;
        failures.push_back({ { "driver", failure.module }, { "cause", failure_cause_name(failure.cause) }, { "message", failure.message },
            { "function", failure.function },
            { "time_ms", std::chrono::duration_cast<std::chrono::milliseconds>(failure.when.time_since_epoch()).count() },
            { "injected", record.injected }, { "decision", record.decision }, { "decided_by", record.decided_by }, { "outcome", record.outcome },
            { "recovery_us", record.total_ns / 1000 }, { "backoff_us", record.backoff_ns / 1000 }, { "stages", stages } });
    }
    return nlohmann::json { { "failures", failures } };
}

Result<nlohmann::json> restart(System& system, nlohmann::json const& request)
{
    auto* recovery = system.recovery();
    if (recovery == nullptr)
        return make_error(ErrorCode::FailedPrecondition, "restart: native mode has no recovery (run with --mode nooks)");
    auto name = TRY(resolve_driver(system, request, "restart"));
    TRY(recovery->restart(name));
    return nlohmann::json { { "driver", name }, { "restarting", true } };
}

// A live update: {"driver", "path"}, the new binary (absolute or relative to the kernel's directory).
Result<nlohmann::json> update(System& system, nlohmann::json const& request)
{
    auto* recovery = system.recovery();
    if (recovery == nullptr)
        return make_error(ErrorCode::FailedPrecondition, "update: native mode has no restart path (run with --mode shadow)");
    auto name = TRY(resolve_driver(system, request, "update"));
    if (!request.contains("path") || !request["path"].is_string() || request["path"].get<std::string>().empty())
        return make_error(ErrorCode::InvalidArgument, "update: path: the new driver file is missing");
    auto path = std::filesystem::absolute(request["path"].get<std::string>()).lexically_normal();
    std::error_code error;
    if (!std::filesystem::is_regular_file(path, error))
        return make_error(ErrorCode::NotFound, "update: {}: not a driver file", path.string());
    if (::access(path.c_str(), R_OK) != 0)
        return make_error(ErrorCode::PermissionDenied, "update: {}: not readable", path.string());
    TRY(recovery->update(name, path.string()));
    return nlohmann::json { { "driver", name }, { "updating", true }, { "path", path.string() } };
}

Result<nlohmann::json> inject_fault(System& system, nlohmann::json const& request)
{
    auto spec = TRY(injection_from_request(request));
    auto name = TRY(resolve_driver(system, request, "inject"));
    auto module = system.kernel().find_module(name);
    if (module == nullptr)
        return make_error(ErrorCode::Unavailable, "inject: {} has failed and is being recovered; try again", name);
    auto description = inject::describe(spec);
    std::string failed_meanwhile;
    auto* isolated = dynamic_cast<IsolatedModule*>(module.get());
    if (isolated != nullptr && (inject::aims_at_initialization(spec) || request.value("next_instance", false))) {
        // Initialization already ran in this instance (or the request asks for
        // it): aim at the next one (after a failure or `restart`).
        if (system.recovery() == nullptr)
            return make_error(ErrorCode::FailedPrecondition, "inject: a fault at initialization needs recovery (nooks mode)");
        TRY(system.recovery()->inject_at_next_start(name, spec, description));
        description += " of the next instance";
    } else if (isolated != nullptr) {
        if (isolated->failure())
            return make_error(ErrorCode::Unavailable, "inject: {} has failed and is being recovered; try again", name);
        if (auto armed = isolated->inject(spec); !armed) {
            // A fault armed for an interrupt or another thread's call can fire before
            // this call's reply is back: the driver failed meanwhile, every call out
            // got DriverFailed, and recovery runs, which is what the fault was for.
            auto failure = isolated->failure();
            if (armed.error().code() != ErrorCode::DriverFailed || !failure)
                return std::unexpected(std::move(armed.error()));
            failed_meanwhile = failure->message;
        }
        if (auto* recovery = system.recovery()) {
            recovery->note_injection(name, description);
            if (spec.repeat != 0 || spec.armed == 0)
                TRY(recovery->set_sticky_injection(name, spec.armed == 0 ? std::nullopt : std::optional(spec)));
        }
    } else if (auto* native = dynamic_cast<NativeModule*>(module.get())) {
        native->injector().arm(spec);
    }
    nlohmann::json reply { { "driver", name }, { "armed", description } };
    if (!failed_meanwhile.empty())
        reply["failed_meanwhile"] = failed_meanwhile;
    return reply;
}

} // namespace

void add_control_handlers(ControlServer& server, System& system)
{
    auto add = [&](char const* command, Result<nlohmann::json> (*handler)(System&, nlohmann::json const&)) {
        server.add(command, [&system, handler](nlohmann::json const& request) { return handler(system, request); });
    };
    add("list", list);
    add("objects", objects);
    add("failures", failures);
    add("restart", restart);
    add("update", update);
    add("inject", inject_fault);
}

} // namespace nk
