// SPDX-License-Identifier: MIT
#pragma once

// fio as the block benchmark drives it: the workloads, the exact command line
// of a job, and the numbers taken from its JSON report. Every job of every
// mode is built by fio_command(), so the report can print the one template
// that produced all of them.

#include "base/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace nk::bench {

struct BenchOptions;

struct Workload {
    std::string id;    // "rand-read", as --workloads takes it
    std::string label; // "rand read 4 KiB", as tables show it
    std::string rw;    // fio --rw
    uint64_t block_size;
    bool writes;
    // Large transfers are about bandwidth, so their CPU cost is per GB;
    // small ones are about requests, so it is per 1000 I/Os.
    bool cpu_per_gb;
};

std::vector<Workload> const& all_workloads();
Workload const* find_workload(std::string const& id);
std::string workload_ids(); // "seq-read, seq-write, ..."

// The fio command of one run of `workload` on `file` for `runtime_s` seconds,
// writing its JSON report to `json_path`.
std::vector<std::string> fio_command(BenchOptions const& options, Workload const& workload, std::string const& file,
    unsigned runtime_s, std::string const& json_path);

// The same command with placeholders, for the report.
std::string fio_command_template(BenchOptions const& options);

// What one measured run delivered, from fio's JSON report.
struct FioSample {
    double bw_bytes { 0 }; // bytes per second
    double iops { 0 };
    uint64_t io_bytes { 0 };
    uint64_t total_ios { 0 };
    double runtime_s { 0 };
    // Completion latency percentiles (submission to completion), nanoseconds.
    double clat_p50_ns { 0 };
    double clat_p99_ns { 0 };
    double clat_p999_ns { 0 };
};

Result<FioSample> parse_fio_json(std::string const& text, bool writes);

// Runs one job and parses its report.
Result<FioSample> run_fio(BenchOptions const& options, Workload const& workload, std::string const& file, unsigned runtime_s,
    std::string const& json_path);

// Writes the whole working set of `file` once, sequentially, and flushes it, so
// that reads hit written blocks and every mode starts from the same state.
Result<void> fill_file(BenchOptions const& options, std::string const& file, std::string const& json_path);

// "fio-3.33", or "unknown".
std::string fio_version();

} // namespace nk::bench
