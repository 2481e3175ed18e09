// SPDX-License-Identifier: MIT
// `nooks exec [--namespace NAME] -- COMMAND...`: runs a program in the network
// namespace where a running nooks's net devices appear (their TAP
// interfaces), as `ip netns exec` does: its traffic goes through our drivers.

#include "cli/Commands.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <unistd.h>
#include <vector>

namespace nk::cli {

void add_exec_command(CLI::App& app, int& result)
{
    auto* command = app.add_subcommand("exec", "Run a program in the network namespace of the machine's net devices");
    auto net_namespace = std::make_shared<std::string>("nooks");
    auto argv = std::make_shared<std::vector<std::string>>();
    command->add_option("-n,--namespace", *net_namespace, "The namespace ([[nic]] namespace = ...)")->capture_default_str();
    command->add_option("command", *argv, "The program and its arguments (after --)")->required();
    command->callback([&result, net_namespace, argv] {
        auto path = "/run/netns/" + *net_namespace;
        std::error_code error;
        if (!std::filesystem::exists(path, error)) {
            result = fail("exec", fmt::format("no network namespace {} ({} is missing): is `nooks run` running with a NIC?", *net_namespace, path));
            return;
        }
        if (geteuid() != 0) {
            result = fail("exec", "entering a network namespace needs root");
            return;
        }
        // iproute2 enters the namespace, remounts /sys for it and runs the program in our place.
        std::vector<char*> args { const_cast<char*>("ip"), const_cast<char*>("netns"), const_cast<char*>("exec"), net_namespace->data() };
        for (auto& arg : *argv)
            args.push_back(arg.data());
        args.push_back(nullptr);
        execvp("ip", args.data());
        result = fail("exec", fmt::format("cannot run ip (iproute2): {}", std::strerror(errno)));
    });
}

} // namespace nk::cli
