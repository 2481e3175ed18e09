// SPDX-License-Identifier: MIT
#include "system/ControlHandlers.h"

#include "kernel/bus/BusDevice.h"
#include "nooks/module/IsolatedModule.h"
#include "system/System.h"

#include <atomic>

namespace nk {

namespace {

nlohmann::json module_json(Module& module)
{
    nlohmann::json entry {
        { "name", module.name() },
        { "path", module.path() },
        { "isolation", module.isolation() == Isolation::Native ? "native" : "isolated" },
        { "state", module_state_name(module.state()) },
        { "failures", 0 },
        { "restarts", 0 },
    };
    if (auto* isolated = dynamic_cast<IsolatedModule*>(&module)) {
        auto stats = isolated->xpc().stats();
        entry["failures"] = isolated->failure() ? 1 : 0;
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

Module* find_module(System& system, nlohmann::json const& request)
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
        for (auto* module : system.kernel().modules())
            modules.push_back(module_json(*module));
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
            { "disks", disks } };
    });

    server.add("objects", [&system](nlohmann::json const& request) -> Result<nlohmann::json> {
        auto* module = find_module(system, request);
        if (module == nullptr)
            return make_error(ErrorCode::NotFound, "objects: no driver named {}", request.value("driver", std::string("?")));
        auto* isolated = dynamic_cast<IsolatedModule*>(module);
        if (isolated == nullptr)
            return make_error(ErrorCode::FailedPrecondition,
                "objects: {} runs natively; the object tracker follows isolated drivers (run with --mode nooks)", module->name());
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
}

} // namespace nk
