// SPDX-License-Identifier: MIT
#pragma once

// Everything a run of nooks-bench-block is configured with, after parsing and
// validation. One object, so the report can show exactly what was measured.

#include "base/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace nk::bench {

// Where fio does its I/O.
enum class Target : unsigned char {
    FuseFile, // the disk file the kernel exposes through FUSE, opened with O_DIRECT
    Ext4,     // a file in ext4, on a direct-I/O loop device over that disk file
};

char const* target_id(Target target);     // "fuse", "ext4"
char const* target_title(Target target);  // "FUSE disk file", ...
Result<Target> parse_target(std::string_view text);

struct BenchOptions {
    std::vector<std::string> modes { "native" };
    std::vector<Target> targets { Target::FuseFile, Target::Ext4 };
    std::vector<std::string> workloads; // ids from all_workloads(); empty: all
    unsigned repetitions { 3 };
    unsigned runtime_s { 3 };
    unsigned warmup_s { 1 };
    uint64_t size { 256ull << 20 };       // working set of every job
    uint64_t disk_size { 1ull << 30 };    // the emulated disk
    std::string ioengine { "psync" };
    unsigned iodepth { 1 };
    unsigned numjobs { 1 };
    unsigned fuse_threads { 0 };          // 0: the kernel's default
    std::string kernel_config;            // a config file every kernel boots with; empty: none
    std::string driver;                   // the one driver binary every mode loads
    std::string image_dir { "/dev/shm" }; // where disk images live; empty: the work directory
    std::string output_markdown;
    std::string output_json;
    bool keep { false };
    // The command line as given, for the "reproduce" line of the report.
    std::string command_line;
};

// Splits "a,b , c" into {"a","b","c"}; empty items are dropped.
std::vector<std::string> split_list(std::string const& text);
// The arguments after the program's name as given, quoted where a shell
// would need it: the "reproduce" line of a report.
std::string quoted_arguments(int argc, char** argv);
// Prints "<program>: error: <message>" to stderr; returns the exit status 1.
int report_failure(char const* program, std::string const& message);

// Checks combinations single flags cannot: sizes, engine vs depth, duplicates.
Result<void> validate(BenchOptions const& options);

} // namespace nk::bench
