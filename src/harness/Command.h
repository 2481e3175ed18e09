// SPDX-License-Identifier: MIT
#pragma once

// Runs a real program (mkfs.ext4, sqlite3, make...) to completion and captures
// what it printed. The harness uses it for every application it drives.

#include "base/Error.h"

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace nk::harness {

struct CommandResult {
    int exit_code { -1 };  // -1 if killed by a signal
    int signal { 0 };      // the signal that ended it, or 0
    bool timed_out { false };
    bool interrupted { false }; // stopped because the tool was interrupted (harness/Interrupt.h)
    std::string output;    // stdout and stderr, interleaved
    uint64_t duration_ns { 0 };

    bool ok() const { return exit_code == 0 && signal == 0 && !timed_out && !interrupted; }
    // "exit 1: <last lines of output>" for error messages.
    std::string describe() const;
};

struct CommandOptions {
    std::string cwd;                          // empty: inherit
    std::map<std::string, std::string> env;   // added to (or overriding) the environment
    std::string input;                        // written to stdin, then closed
    std::chrono::milliseconds timeout { std::chrono::minutes(10) };
};

// Runs argv[0] (looked up in PATH). The error is only for failing to start it;
// a non-zero exit is a result. On timeout the whole process group gets SIGTERM
// (so a kernel unmounts its disks), then SIGKILL after a 5 s grace.
Result<CommandResult> run_command(std::vector<std::string> const& argv, CommandOptions const& options = {});

// Like run_command, but a non-zero exit, a signal or a timeout is an error that
// names the command and shows its output.
Result<CommandResult> run_checked(std::vector<std::string> const& argv, CommandOptions const& options = {});

// True if `program` is found in PATH.
bool have_program(std::string const& program);

} // namespace nk::harness
