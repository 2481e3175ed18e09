// SPDX-License-Identifier: MIT
// `nooks ctl`: talks to a running kernel over its control socket.

#include "cli/Commands.h"
#include "control/ControlServer.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>

namespace nk::cli {

namespace {

struct CtlFlags {
    std::string control { "/run/nooks/control.sock" };
    bool json { false };
    std::string driver;
    std::string fault;
    std::string entry { "any" };
    int64_t after { 1 };
    std::optional<uint64_t> target;
    bool repeat { false };
    std::string path;
    bool next_instance { false };
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
        "DEFERRED-IN", "BATCHED", "OBJECTS", "DOMAIN" } };
    for (auto const& module : reply["modules"]) {
        auto const& xpc = module.value("xpc", nlohmann::json::object());
        auto const& domain = module.value("domain", nlohmann::json::object());
        modules.push_back({ text(module["name"]), text(module["isolation"]), text(module["state"]), text(module["failures"]),
            text(module["restarts"]), xpc.empty() ? "-" : text(xpc["calls"]), xpc.empty() ? "-" : text(xpc["kernel_calls"]),
            xpc.empty() ? "-" : text(xpc["deferred_in"]),
            xpc.empty() ? "-" : fmt::format("{} in {}", text(xpc["batched"]), text(xpc["batches"])),
            module.contains("objects") ? text(module["objects"]) : "-",
            domain.empty() ? "-" : fmt::format("{} pid {}{}", text(domain["backend"]), text(domain["pid"]), domain["alive"].get<bool>() ? "" : " (ended)") });
    }
    print_table(modules);
    std::printf("\n");
    // Each class's devices, as the class reports them (a table per list of records).
    auto const classes = reply.value("classes", nlohmann::json::object());
    for (auto const& [class_name, section] : classes.items()) {
        for (auto const& [list_name, records] : section.items()) {
            if (!records.is_array() || records.empty() || !records[0].is_object())
                continue;
            // The name first, then the rest as the class reported them.
            std::vector<std::string> columns;
            for (auto const& [column, value] : records[0].items())
                columns.push_back(column);
            std::ranges::stable_partition(columns, [](auto const& column) { return column == "name"; });
            std::vector<std::vector<std::string>> rows(1);
            for (auto title : columns) {
                std::ranges::transform(title, title.begin(), [](unsigned char c) { return c == '_' ? ' ' : static_cast<char>(std::toupper(c)); });
                rows[0].push_back(title);
            }
            for (auto const& record : records) {
                std::vector<std::string> row;
                for (auto const& column : columns)
                    row.push_back(record.contains(column) ? text(record[column]) : "-");
                rows.push_back(std::move(row));
            }
            std::printf("%s %s\n", class_name.c_str(), list_name.c_str());
            print_table(rows);
            std::printf("\n");
        }
    }
    std::vector<std::vector<std::string>> devices { { "DEVICE", "ID", "BOUND TO", "RESERVED FOR" } };
    for (auto const& device : reply["devices"])
        devices.push_back({ text(device["name"]), text(device["id"]), text(device["driver"]).empty() ? "-" : text(device["driver"]),
            device.value("reserved_for", std::string()).empty() ? "any driver" : text(device["reserved_for"]) });
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

void print_failures(nlohmann::json const& reply)
{
    if (reply.contains("note"))
        std::printf("%s\n", text(reply["note"]).c_str());
    if (reply["failures"].empty()) {
        std::printf("no driver has failed\n");
        return;
    }
    for (auto const& failure : reply["failures"]) {
        std::printf("%s: %s: %s%s\n", text(failure["driver"]).c_str(), text(failure["cause"]).c_str(), text(failure["message"]).c_str(),
            failure["injected"].get<std::string>().empty() ? "" : fmt::format(" [injected: {}]", text(failure["injected"])).c_str());
        for (auto const& stage : failure["stages"]) {
            std::printf("  %+10.3f ms  %-18s %9.3f ms  %s%s\n", stage["start_us"].get<double>() / 1000.0, text(stage["stage"]).c_str(),
                stage["duration_us"].get<double>() / 1000.0, stage["ok"].get<bool>() ? "" : "FAILED ", text(stage["note"]).c_str());
        }
        std::printf("  => %s (%s), %.3f ms after detection%s\n\n", text(failure["outcome"]).c_str(), text(failure["decided_by"]).c_str(),
            failure["recovery_us"].get<double>() / 1000.0,
            failure["backoff_us"].get<double>() > 0 ? fmt::format(" (of which {:.3f} ms backoff)", failure["backoff_us"].get<double>() / 1000.0).c_str() : "");
    }
}

void print_done(nlohmann::json const& reply)
{
    if (reply.contains("armed")) {
        std::printf("%s: armed %s\n", text(reply["driver"]).c_str(), text(reply["armed"]).c_str());
        if (reply.contains("failed_meanwhile"))
            std::printf("%s: the driver failed while the fault was being armed: %s\n", text(reply["driver"]).c_str(),
                text(reply["failed_meanwhile"]).c_str());
    } else if (reply.contains("updating")) {
        std::printf("%s: updating to %s (`nooks ctl failures` shows how it went)\n", text(reply["driver"]).c_str(), text(reply["path"]).c_str());
    } else {
        std::printf("%s: restarting\n", text(reply["driver"]).c_str());
    }
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

    auto* list = ctl->add_subcommand("list", "Drivers (mode, state, failures, restarts, XPC counts), each class's devices, and the bus");
    list->callback([flags, &result] { result = run(*flags, { { "command", "list" } }, print_list); });

    auto* failures = ctl->add_subcommand("failures", "Recent driver failures, with the recovery timeline of each");
    failures->callback([flags, &result] { result = run(*flags, { { "command", "failures" } }, print_failures); });

    auto* restart = ctl->add_subcommand("restart", "Restart a driver now (also one the policy disabled)");
    restart->add_option("driver", flags->driver, "Driver name")->required();
    restart->callback([flags, &result] { result = run(*flags, { { "command", "restart" }, { "driver", flags->driver } }, print_done); });
    auto* update = ctl->add_subcommand("update",
        "Live update: swap a new binary in for a running driver through its restart path (shadow mode: applications notice only a pause)");
    update->add_option("driver", flags->driver, "Driver: an instance (nknet@nic0), or a driver's name when one instance runs")->required();
    update->add_option("file", flags->path, "The new driver file (.so)")->required();
    update->callback([flags, &result] {
        auto path = std::filesystem::absolute(flags->path).lexically_normal().string();
        result = run(*flags, { { "command", "update" }, { "driver", flags->driver }, { "path", path } }, print_done);
    });

    auto* inject = ctl->add_subcommand("inject", "Arm a fault in a running driver; it fires on the Nth call of an entry point");
    inject->add_option("driver", flags->driver, "Driver: an instance (nkdisk@disk0), or a driver's name when one instance runs")->required();
    inject->add_option("fault", flags->fault,
        "null-deref, wild-write-kernel, wild-write-own, stack-corrupt, hang, forbidden-syscall, bad-param, bad-param-freed, "
        "bad-param-handle, double-free, leak, panic, skip-init; none disarms")->required();
    inject->add_option("--after", flags->after, "Fire on the Nth matching call (default 1: the next)")->check(CLI::Range(1, 1'000'000'000));
    inject->add_option("--entry", flags->entry, "Entry point: blk_queue_rq, irq_handler, blk_ioctl, bus_probe, module_init... (default: any)");
    inject->add_option("--target,--sector,--frame-length", flags->target,
        "Only calls with this class-defined target (block: requests starting at this sector; net: start_xmit of frames of this length)");
    inject->add_flag("--next-instance", flags->next_instance,
        "Arm it in the driver's next instance (after a failure or `restart`), from its start: e.g. a fault in the open a shadow replays");
    inject->add_flag("--repeat", flags->repeat, "Fire on every matching call from the Nth on, in every restarted instance too (a deterministic fault); `inject DRIVER none` disarms");
    inject->callback([flags, &result] {
        nlohmann::json request { { "command", "inject" }, { "driver", flags->driver }, { "fault", flags->fault }, { "entry", flags->entry },
            { "after", flags->after }, { "repeat", flags->repeat }, { "next_instance", flags->next_instance } };
        if (flags->target)
            request["target"] = *flags->target;
        result = run(*flags, request, print_done);
    });

    auto* objects = ctl->add_subcommand("objects", "The kernel objects a driver holds");
    objects->add_option("driver", flags->driver, "Driver name (see `nooks ctl list`)")->required();
    objects->callback([flags, &result] { result = run(*flags, { { "command", "objects" }, { "driver", flags->driver } }, print_objects); });

    // `nooks ctl list --json` as well as `nooks ctl --json list`: options of
    // `ctl` are taken after its subcommand too.
    for (auto* command : ctl->get_subcommands({}))
        command->fallthrough();
}

} // namespace nk::cli
