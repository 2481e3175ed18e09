// SPDX-License-Identifier: MIT
#pragma once

// The fault-tolerance evaluation with real applications (the seed's table):
// each application of each class (tools/eval/ClassEvaluation.h) runs on its
// class's stack, in each mode, while faults are injected into the class's
// driver; each cell is measured, not assumed.
//
//   ✓            the application finished and its output is right
//   MALFUNCTION  it finished, but its output is wrong
//   CRASH        it failed (an I/O error, its file system gone) or the kernel died
//
// The kernel always runs as a child process (`nooks run`), so a native-mode
// crash ends the kernel, not the evaluation. Needs root.

#include "base/Error.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

namespace nk::eval {

enum class Verdict : unsigned char { Ok, Malfunction, Crash, Invalid };
char const* verdict_name(Verdict verdict); // "✓", "MALFUNCTION", "CRASH", "INVALID"

struct Cell {
    std::string driver_class; // block
    std::string app;          // database, compiler, encoder
    std::string label;        // "database (sqlite3)"
    std::string mode;         // native, nooks, shadow
    Verdict verdict { Verdict::Invalid };
    std::string why;          // one line: what happened
    unsigned faults_injected { 0 };
    unsigned faults_fired { 0 };   // failures the kernel saw (or the one that killed it)
    unsigned recoveries { 0 };
    uint64_t failed_requests { 0 }; // requests that failed (reached the applications as errors)
    uint64_t app_ns { 0 };
};

struct Options {
    std::vector<std::string> classes;  // empty: every class
    std::vector<std::string> modes { "native", "nooks", "shadow" };
    std::vector<std::string> apps;     // empty: every application of the classes
    unsigned faults { 3 };       // faults injected per run
    bool concurrent { false };   // a class's apps at once on one stack (one cell per app)
    std::string nooks_binary;
    std::string work_root { "/tmp" };
};

// Checks the options (classes, modes and applications exist; the programs are installed).
Result<void> validate(Options const& options);
// Runs the evaluation; `progress` gets a line per step.
Result<std::vector<Cell>> evaluate(Options const& options, std::function<void(std::string const&)> const& progress);

// The table for people, and the JSON for machines.
std::string format_table(std::vector<Cell> const& cells, Options const& options);
nlohmann::json to_json(std::vector<Cell> const& cells, Options const& options);

} // namespace nk::eval
