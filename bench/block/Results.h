// SPDX-License-Identifier: MIT
#pragma once

// What a benchmark run measured: every job of every boot, kept raw (for
// --json), and the summaries the tables show (medians over repetitions).

#include "BenchOptions.h"
#include "Fio.h"
#include "Machine.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace nk::bench {

// One measured fio run, with the kernel's CPU time around it.
struct JobResult {
    Target target { Target::FuseFile };
    std::string workload; // Workload::id
    FioSample fio;
    double cpu_seconds { 0 };  // kernel process user + system time during the run
    double wall_seconds { 0 }; // the fio process, start to exit
};

enum class RunStatus : unsigned char {
    Ok,
    Rejected,    // `nooks run` refused the mode before it was ready
    Failed,      // something failed after boot; `error` says what
    Interrupted, // stopped by a signal
};
char const* run_status_name(RunStatus status);

// One boot of the kernel in one mode: all targets and workloads of one repetition.
struct BootRun {
    std::string mode;
    unsigned repetition { 0 }; // 1-based
    RunStatus status { RunStatus::Ok };
    std::string error;
    std::vector<std::string> warnings; // teardown problems; the measurements stand
    std::vector<JobResult> jobs;
    double seconds { 0 };
};

struct ModeStatus {
    std::string mode;
    bool available { true };
    std::string error; // why `nooks run` refused it
};

struct BenchResults {
    MachineInfo machine;
    std::vector<ModeStatus> modes; // in --modes order
    std::vector<BootRun> runs;     // in execution order
    double total_seconds { 0 };
    OtherLoad other_load; // over the whole run

    bool available(std::string const& mode) const;
    // The mode ratios are relative to: native if it ran, else the first mode that did.
    std::optional<std::string> baseline() const;
    std::vector<std::string> available_modes() const;
};

// What the tables show for each workload.
enum class Metric : unsigned char { Throughput, Iops, P50, P99, P999, Cpu };
inline constexpr Metric all_metrics[] = { Metric::Throughput, Metric::Iops, Metric::P50, Metric::P99, Metric::P999, Metric::Cpu };

// "MB/s", "p99 us", "CPU ms/1k IO"...
std::string metric_label(Metric metric, Workload const& workload);
// True if a larger value is better (throughput), false if smaller is (latency, CPU).
bool higher_is_better(Metric metric);
double metric_value(JobResult const& job, Workload const& workload, Metric metric);

// One table cell: a metric of a workload on a target in a mode, over repetitions.
struct Cell {
    std::vector<double> values;
    double median { 0 };
    double spread { 0 }; // half the range, relative to the median (0.04 = ±4%)
    bool empty() const { return values.empty(); }
};
Cell summarize(BenchResults const& results, std::string const& mode, Target target, Workload const& workload, Metric metric);

// The raw numbers and the summaries, for --json.
nlohmann::json results_json(BenchResults const& results, BenchOptions const& options);

} // namespace nk::bench
