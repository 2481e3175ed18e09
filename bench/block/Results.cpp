// SPDX-License-Identifier: MIT
#include "Results.h"

#include <algorithm>

namespace nk::bench {

char const* run_status_name(RunStatus status)
{
    switch (status) {
    case RunStatus::Ok: return "ok";
    case RunStatus::Rejected: return "rejected";
    case RunStatus::Failed: return "failed";
    case RunStatus::Interrupted: return "interrupted";
    }
    return "?";
}

bool BenchResults::available(std::string const& mode) const
{
    for (auto const& status : modes) {
        if (status.mode == mode)
            return status.available;
    }
    return false;
}

std::vector<std::string> BenchResults::available_modes() const
{
    std::vector<std::string> names;
    for (auto const& status : modes) {
        if (status.available)
            names.push_back(status.mode);
    }
    return names;
}

std::optional<std::string> BenchResults::baseline() const
{
    auto names = available_modes();
    if (names.empty())
        return std::nullopt;
    if (std::ranges::find(names, "native") != names.end())
        return "native";
    return names.front();
}

std::string metric_label(Metric metric, Workload const& workload)
{
    switch (metric) {
    case Metric::Throughput: return "MB/s";
    case Metric::Iops: return "IOPS";
    case Metric::P50: return "p50 µs";
    case Metric::P99: return "p99 µs";
    case Metric::P999: return "p99.9 µs";
    case Metric::Cpu: return workload.cpu_per_gb ? "CPU s/GB" : "CPU ms/1k IO";
    }
    return "?";
}

bool higher_is_better(Metric metric) { return metric == Metric::Throughput || metric == Metric::Iops; }

double metric_value(JobResult const& job, Workload const& workload, Metric metric)
{
    switch (metric) {
    case Metric::Throughput: return job.fio.bw_bytes / 1e6;
    case Metric::Iops: return job.fio.iops;
    case Metric::P50: return job.fio.clat_p50_ns / 1e3;
    case Metric::P99: return job.fio.clat_p99_ns / 1e3;
    case Metric::P999: return job.fio.clat_p999_ns / 1e3;
    case Metric::Cpu:
        // CPU seconds per 1e9 bytes, or CPU milliseconds per 1000 I/Os (= µs per I/O).
        if (workload.cpu_per_gb)
            return job.cpu_seconds / (static_cast<double>(job.fio.io_bytes) / 1e9);
        return job.cpu_seconds * 1e6 / static_cast<double>(job.fio.total_ios);
    }
    return 0;
}

Cell summarize(BenchResults const& results, std::string const& mode, Target target, Workload const& workload, Metric metric)
{
    Cell cell;
    for (auto const& run : results.runs) {
        if (run.mode != mode || run.status != RunStatus::Ok)
            continue;
        for (auto const& job : run.jobs) {
            if (job.target == target && job.workload == workload.id)
                cell.values.push_back(metric_value(job, workload, metric));
        }
    }
    if (cell.values.empty())
        return cell;
    auto sorted = cell.values;
    std::ranges::sort(sorted);
    auto middle = sorted.size() / 2;
    cell.median = sorted.size() % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    if (cell.median > 0)
        cell.spread = (sorted.back() - sorted.front()) / 2 / cell.median;
    return cell;
}

static char const* metric_key(Metric metric)
{
    switch (metric) {
    case Metric::Throughput: return "mb_per_s";
    case Metric::Iops: return "iops";
    case Metric::P50: return "clat_p50_us";
    case Metric::P99: return "clat_p99_us";
    case Metric::P999: return "clat_p99_9_us";
    case Metric::Cpu: return "cpu";
    }
    return "?";
}

nlohmann::json results_json(BenchResults const& results, BenchOptions const& options)
{
    using nlohmann::json;
    json document;
    document["date"] = results.machine.date;
    document["machine"] = { { "cpu_model", results.machine.cpu_model }, { "cpus", results.machine.cpus },
        { "memory", results.machine.memory }, { "kernel", results.machine.kernel }, { "fio", results.machine.fio_version },
        { "load_average_at_start", results.machine.load_average } };
    json targets = json::array();
    for (auto target : options.targets)
        targets.push_back(target_id(target));
    document["options"] = { { "command", options.command_line }, { "modes", options.modes }, { "targets", targets },
        { "repetitions", options.repetitions }, { "runtime_s", options.runtime_s }, { "warmup_s", options.warmup_s },
        { "size_bytes", options.size }, { "disk_size_bytes", options.disk_size }, { "ioengine", options.ioengine },
        { "iodepth", options.iodepth }, { "numjobs", options.numjobs }, { "fuse_threads", options.fuse_threads }, { "kernel_config", options.kernel_config },
        { "driver", options.driver }, { "image_dir", options.image_dir }, { "fio_command", fio_command_template(options) } };

    json modes = json::array();
    for (auto const& status : results.modes)
        modes.push_back({ { "mode", status.mode }, { "available", status.available }, { "error", status.error } });
    document["modes"] = modes;

    json runs = json::array();
    for (auto const& run : results.runs) {
        json jobs = json::array();
        for (auto const& job : run.jobs) {
            jobs.push_back({ { "target", target_id(job.target) }, { "workload", job.workload },
                { "bw_bytes_per_s", job.fio.bw_bytes }, { "iops", job.fio.iops }, { "io_bytes", job.fio.io_bytes },
                { "total_ios", job.fio.total_ios }, { "fio_runtime_s", job.fio.runtime_s },
                { "clat_p50_ns", job.fio.clat_p50_ns }, { "clat_p99_ns", job.fio.clat_p99_ns },
                { "clat_p99_9_ns", job.fio.clat_p999_ns }, { "kernel_cpu_s", job.cpu_seconds },
                { "wall_s", job.wall_seconds } });
        }
        runs.push_back({ { "mode", run.mode }, { "repetition", run.repetition }, { "status", run_status_name(run.status) },
            { "error", run.error }, { "warnings", run.warnings }, { "seconds", run.seconds }, { "jobs", jobs } });
    }
    document["runs"] = runs;

    // Medians over repetitions, as the tables show them; cpu is s/GB for
    // 1 MiB workloads and ms per 1000 I/Os for 4 KiB ones.
    json summary = json::object();
    for (auto target : options.targets) {
        for (auto const& workload : all_workloads()) {
            for (auto const& mode : results.available_modes()) {
                json metrics = json::object();
                for (auto metric : all_metrics) {
                    auto cell = summarize(results, mode, target, workload, metric);
                    if (!cell.empty())
                        metrics[metric_key(metric)] = { { "median", cell.median }, { "spread", cell.spread }, { "values", cell.values } };
                }
                if (!metrics.empty())
                    summary[target_id(target)][workload.id][mode] = metrics;
            }
        }
    }
    document["summary"] = summary;
    document["baseline"] = results.baseline().value_or("");
    document["total_seconds"] = results.total_seconds;
    document["other_load"] = { { "other_cpus", results.other_load.other_cpus }, { "steal_cpus", results.other_load.steal_cpus } };
    return document;
}

} // namespace nk::bench
