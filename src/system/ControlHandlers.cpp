// SPDX-License-Identifier: MIT
#include "system/ControlHandlers.h"

#include "kernel/bus/BusDevice.h"
#include "kernel/native/NativeModule.h"
#include "nooks/module/IsolatedModule.h"
#include "tools/inject/Fault.h"
#include "system/System.h"

#include <atomic>

namespace nk {

namespace {

nlohmann::json module_json(Module& module, RecoveryManager* recovery)
{
    nlohmann::json entry {
        { "name", module.name() },
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
            { "deferred_out", stats.deferred_out },
            { "forced_flushes", stats.forced_flushes },
            { "call_ns", stats.call_ns },
        };
        entry["objects"] = isolated->tracker().count();
        if (auto failure = isolated->failure())
            entry["failure"] = { { "cause", failure_cause_name(failure->cause) }, { "message", failure->message } };
    }
    return entry;
}

std::shared_ptr<Module> find_module(System& system, nlohmann::json const& request)
{
    if (!request.contains("driver") || !request["driver"].is_string())
        return nullptr;
    return system.kernel().find_module(request["driver"].get<std::string>());
}

} // namespace

void add_control_handlers(ControlServer& server, System& system)
{
    server.add("list", [&system](nlohmann::json const&) -> Result<nlohmann::json> {
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
                { "driver", device->driver() != nullptr ? device->driver()->name : "" } });
        }
        nlohmann::json disks = nlohmann::json::array();
        for (auto const& disk : system.kernel().block().disks()) {
            auto stats = disk->queue().stats();
            disks.push_back({ { "name", disk->name() }, { "driver", disk->owner().name() },
                { "capacity_bytes", disk->geometry().capacity_bytes() }, { "open", disk->open_count() },
                { "completed", stats.completed }, { "failed", stats.failed }, { "in_flight", stats.in_flight },
                { "batches", stats.dispatch_batches } });
        }
        return nlohmann::json { { "mode", mode_name(system.config().mode) }, { "modules", modules }, { "devices", devices },
            { "disks", disks }, { "failed_requests_total", system.kernel().block().failed_requests_total() } };
    });

    server.add("objects", [&system](nlohmann::json const& request) -> Result<nlohmann::json> {
        auto module = find_module(system, request);
        if (module == nullptr)
            return make_error(ErrorCode::NotFound, "objects: no driver named {}", request.value("driver", std::string("?")));
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
            if (object.type == ObjectType::Disk) {
                auto in_flight = static_cast<Disk*>(object.object)->queue().stats().in_flight;
                if (in_flight > 0)
                    objects.push_back({ { "handle", "" }, { "type", "request" }, { "lifetime", "explicit" },
                        { "description", fmt::format("{} requests in flight on {}", in_flight, static_cast<Disk*>(object.object)->name()) } });
            }
        }
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
    });

    server.add("failures", [&system](nlohmann::json const&) -> Result<nlohmann::json> {
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
                { "function", failure.function }, { "time_ms", std::chrono::duration_cast<std::chrono::milliseconds>(failure.when.time_since_epoch()).count() },
                { "injected", record.injected }, { "decision", record.decision }, { "decided_by", record.decided_by },
                { "outcome", record.outcome }, { "recovery_us", record.total_ns / 1000 }, { "backoff_us", record.backoff_ns / 1000 },
                { "stages", stages } });
        }
        return nlohmann::json { { "failures", failures } };
    });

    server.add("restart", [&system](nlohmann::json const& request) -> Result<nlohmann::json> {
        auto name = request.value("driver", std::string());
        auto* recovery = system.recovery();
        if (recovery == nullptr)
            return make_error(ErrorCode::FailedPrecondition, "restart: native mode has no recovery (run with --mode nooks)");
        TRY(recovery->restart(name));
        return nlohmann::json { { "driver", name }, { "restarting", true } };
    });

    server.add("inject", [&system](nlohmann::json const& request) -> Result<nlohmann::json> {
        auto name = request.value("driver", std::string());
        auto fault_name = request.value("fault", std::string());
        bool disarm = fault_name == "none";
        auto fault = disarm ? inject::Fault::Count : TRY(inject::parse_fault(fault_name));
        auto entry = TRY(inject::parse_entry(request.value("entry", std::string("any"))));
        auto after = request.value("after", int64_t(1));
        if (after < 1 || after > 1'000'000'000)
            return make_error(ErrorCode::InvalidArgument, "inject: --after must be 1..1000000000");
        std::optional<uint64_t> sector;
        if (request.contains("sector") && !request["sector"].is_null()) {
            if (!request["sector"].is_number_unsigned())
                return make_error(ErrorCode::InvalidArgument, "inject: --sector must be a sector number");
            sector = request["sector"].get<uint64_t>();
        }
        bool repeat = request.value("repeat", false);
        auto module = system.kernel().find_module(name);
        if (module == nullptr)
            return make_error(ErrorCode::NotFound, "inject: no driver named {} is loaded", name);
        auto description = disarm ? std::string("nothing (disarmed)")
                                  : fmt::format("{} at {} {} of {}{}", inject::fault_name(fault), repeat ? "every call from" : "call", after,
                                        entry ? abi::name_of(*entry) : "any entry", sector ? fmt::format(" on sector {}", *sector) : "");
        IsolationOptions::Injection injection { static_cast<uint32_t>(disarm ? 0xff : static_cast<uint32_t>(fault)),
            entry ? static_cast<uint32_t>(*entry) : 0xffffu, static_cast<uint32_t>(after), sector.value_or(~0ull), repeat };
        std::string failed_meanwhile;
        bool at_start = entry && (*entry == abi::DriverEntry::module_init || *entry == abi::DriverEntry::bus_probe);
        auto* isolated = dynamic_cast<IsolatedModule*>(module.get());
        if (isolated != nullptr && at_start) {
            // Initialization already ran in this instance: aim at the next one (after a failure or `restart`).
            if (system.recovery() == nullptr)
                return make_error(ErrorCode::FailedPrecondition, "inject: a fault at initialization needs recovery (nooks mode)");
            TRY(system.recovery()->inject_at_next_start(name, injection, description));
            description += " of the next instance";
        } else if (isolated != nullptr) {
            if (isolated->failure())
                return make_error(ErrorCode::Unavailable, "inject: {} has failed and is being recovered; try again", name);
            if (auto armed = isolated->inject(injection); !armed) {
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
                if (repeat || disarm)
                    TRY(recovery->set_sticky_injection(name, disarm ? std::nullopt : std::optional(injection)));
            }
        } else if (auto* native = dynamic_cast<NativeModule*>(module.get())) {
            if (disarm)
                native->injector().disarm();
            else
                native->injector().arm(fault, { entry, static_cast<uint32_t>(after), sector, repeat });
        }
        nlohmann::json reply { { "driver", name }, { "armed", description } };
        if (!failed_meanwhile.empty())
            reply["failed_meanwhile"] = failed_meanwhile;
        return reply;
    });
}

} // namespace nk
