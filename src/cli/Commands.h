// SPDX-License-Identifier: MIT
#pragma once

// The `nooks` command's subcommands. Each adds itself to the CLI11 app and
// returns the exit code of its run through `result`.

#include <CLI/CLI.hpp>

namespace nk::cli {

void add_run_command(CLI::App& app, int& result);
void add_demo_command(CLI::App& app, int& result);
void add_ctl_command(CLI::App& app, int& result);
void add_eval_command(CLI::App& app, int& result);
void add_agent_command(CLI::App& app, int& result);
void add_exec_command(CLI::App& app, int& result);

// Prints "nooks <command>: error: <message>" to stderr; returns the exit code 1.
int fail(char const* command, std::string const& message);

} // namespace nk::cli
