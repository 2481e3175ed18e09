// SPDX-License-Identifier: MIT
// `nooks ctl`: talks to a running kernel over its control socket.

#include "cli/Commands.h"
#include "control/ControlServer.h"

#include <cstdio>

namespace nk::cli {

namespace {

struct CtlFlags {
    std::string control { "/run/nooks/control.sock" };
    bool json { false };
    std::string driver;
};

void print_table(std::vector<std::vector<std::string>> const& rows)
{
    std::vector<size_t> widths;
    for (auto const& row : rows) {
        widths.resize(std::max(widths.size(), row.size()));
        for (size_t i = 0; i < row.size(); ++i)
            widths[i] = std::max(widths[i], row[i].size());
    }
    for (auto const& row : rows) {
        std::string line;
        for (size_t i = 0; i < row.size(); ++i)
            line += fmt::format("{:<{}}", row[i], i + 1 == row.size() ? 0 : widths[i] + 2);
        std::printf("%s\n", line.c_str());
    }
}

std::string text(nlohmann::json const& value)
{
    if (value.is_string())
        return value.get<std::string>();
    if (value.is_null())
        return "-";
    return value.dump();
}

void print_list(nlohmann::json const& reply)
{
    std::printf("mode %s\n\n", text(reply["mode"]).c_str());
    std::vector<std::vector<std::string>> modules { { "DRIVER", "ISOLATION", "STATE", "FAILURES", "RESTARTS", "CALLS", "KERNEL-CALLS",
        "DEFERRED IN/OUT", "OBJECTS", "DOMAIN" } };
    for (auto const& module : reply["modules"]) {
        auto const& xpc = module.value("xpc", nlohmann::json::object());
        auto const& domain = module.value("domain", nlohmann::json::object());
        modules.push_back({ text(module["name"]), text(module["isolation"]), text(module["state"]), text(module["failures"]),
            text(module["restarts"]), xpc.empty() ? "-" : text(xpc["calls"]), xpc.empty() ? "-" : text(xpc["kernel_calls"]),
            xpc.empty() ? "-" : fmt::format("{}/{}", text(xpc["deferred_in"]), text(xpc["deferred_out"])),
            module.contains("objects") ? text(module["objects"]) : "-",
            domain.empty() ? "-" : fmt::format("{} pid {}{}", text(domain["backend"]), text(domain["pid"]), domain["alive"].get<bool>() ? "" : " (ended)") });
    }
    print_table(modules);
    std::printf("\n");
    std::vector<std::vector<std::string>> disks { { "DISK", "DRIVER", "CAPACITY", "OPEN", "COMPLETED", "FAILED", "IN-FLIGHT", "BATCHES" } };
    for (auto const& disk : reply["disks"])
        disks.push_back({ text(disk["name"]), text(disk["driver"]), text(disk["capacity_bytes"]), text(disk["open"]),
            text(disk["completed"]), text(disk["failed"]), text(disk["in_flight"]), text(disk["batches"]) });
    print_table(disks);
    std::printf("\n");
    std::vector<std::vector<std::string>> devices { { "DEVICE", "ID", "BOUND TO" } };
    for (auto const& device : reply["devices"])
        devices.push_back({ text(device["name"]), text(device["id"]), text(device["driver"]).empty() ? "-" : text(device["driver"]) });
    print_table(devices);
}

void print_objects(nlohmann::json const& reply)
{
    std::vector<std::vector<std::string>> rows { { "TYPE", "LIFETIME", "HANDLE", "WHAT" } };
    for (auto const& object : reply["objects"])
        rows.push_back({ text(object["type"]), text(object["lifetime"]), text(object["handle"]).empty() ? "-" : text(object["handle"]),
            text(object["description"]) });
    std::printf("objects held by %s\n\n", text(reply["driver"]).c_str());
    print_table(rows);
}

int run(CtlFlags const& flags, nlohmann::json request, void (*print)(nlohmann::json const&))
{
    auto reply = control_request(flags.control, request);
    if (!reply)
        return fail("ctl", reply.error().message());
    if (!reply->value("ok", false))
        return fail("ctl", reply->value("error", std::string("the kernel refused without a reason")));
    if (flags.json)
        std::printf("%s\n", reply->dump(2).c_str());
    else
        print(*reply);
    return 0;
}

} // namespace

void add_ctl_command(CLI::App& app, int& result)
{
    auto flags = std::make_shared<CtlFlags>();
    auto* ctl = app.add_subcommand("ctl", "Inspect and control a running kernel");
    ctl->add_option("--control", flags->control, "Control socket of the kernel (default: /run/nooks/control.sock)");
    ctl->add_flag("--json", flags->json, "Print the kernel's answer as JSON");
    ctl->require_subcommand(1);

    auto* list = ctl->add_subcommand("list", "Drivers (mode, state, failures, restarts, XPC counts), disks and devices");
    list->callback([flags, &result] { result = run(*flags, { { "command", "list" } }, print_list); });

    auto* objects = ctl->add_subcommand("objects", "The kernel objects a driver holds");
    objects->add_option("driver", flags->driver, "Driver name (see `nooks ctl list`)")->required();
    objects->callback([flags, &result] { result = run(*flags, { { "command", "objects" }, { "driver", flags->driver } }, print_objects); });
}

} // namespace nk::cli
