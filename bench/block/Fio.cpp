// SPDX-License-Identifier: MIT
#include "Fio.h"

#include "BenchOptions.h"
#include "harness/Command.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

namespace nk::bench {

std::vector<Workload> const& all_workloads()
{
    static std::vector<Workload> const workloads {
        { "seq-read", "seq read 1 MiB", "read", 1u << 20, false, true },
        { "seq-write", "seq write 1 MiB", "write", 1u << 20, true, true },
        { "rand-read", "rand read 4 KiB", "randread", 4096, false, false },
        { "rand-write", "rand write 4 KiB", "randwrite", 4096, true, false },
    };
    return workloads;
}

Workload const* find_workload(std::string const& id)
{
    for (auto const& workload : all_workloads()) {
        if (workload.id == id)
            return &workload;
    }
    return nullptr;
}

std::string workload_ids()
{
    std::string ids;
    for (auto const& workload : all_workloads())
        ids += (ids.empty() ? "" : ", ") + workload.id;
    return ids;
}

// The flags every measured job shares. --norandommap lets random jobs pick
// blocks freely for the whole runtime (no per-pass bookkeeping in fio), and
// the percentile list asks fio for exactly the percentiles the report shows.
static std::vector<std::string> common_flags(BenchOptions const& options)
{
    std::vector<std::string> flags {
        "--direct=1",
        fmt::format("--ioengine={}", options.ioengine),
        fmt::format("--iodepth={}", options.iodepth),
        fmt::format("--numjobs={}", options.numjobs),
        fmt::format("--size={}", options.size), // in bytes: fio reads "MiB" as 10^6 bytes
        "--group_reporting",
        "--time_based",
        "--norandommap",
        "--fallocate=none",
        "--percentile_list=50:99:99.9",
        "--output-format=json",
    };
    return flags;
}

std::vector<std::string> fio_command(BenchOptions const& options, Workload const& workload, std::string const& file,
    unsigned runtime_s, std::string const& json_path)
{
    std::vector<std::string> argv {
        "fio",
        fmt::format("--name={}", workload.id),
        fmt::format("--filename={}", file),
        fmt::format("--rw={}", workload.rw),
        fmt::format("--bs={}", workload.block_size),
    };
    for (auto& flag : common_flags(options))
        argv.push_back(std::move(flag));
    argv.push_back(fmt::format("--runtime={}", runtime_s));
    argv.push_back(fmt::format("--output={}", json_path));
    return argv;
}

std::string fio_command_template(BenchOptions const& options)
{
    std::string text = "fio --name=<workload> --filename=<target file> --rw=<rw> --bs=<block size>";
    for (auto const& flag : common_flags(options))
        text += " " + flag;
    text += fmt::format(" --runtime={} --output=<report.json>", options.runtime_s);
    return text;
}

// The percentile map has keys such as "99.900000": match them numerically.
static double percentile(nlohmann::json const& percentiles, double wanted)
{
    for (auto const& [key, value] : percentiles.items()) {
        if (std::fabs(std::stod(key) - wanted) < 1e-6)
            return value.get<double>();
    }
    return std::nan("");
}

Result<FioSample> parse_fio_json(std::string const& text, bool writes)
{
    // Warnings may precede the JSON document; it starts at the first brace.
    auto start = text.find('{');
    if (start == std::string::npos)
        return make_error(ErrorCode::Internal, "fio printed no JSON report");
    try {
        auto document = nlohmann::json::parse(text.substr(start));
        auto const& jobs = document.at("jobs");
        if (!jobs.is_array() || jobs.empty())
            return make_error(ErrorCode::Internal, "fio report has no jobs");
        auto const& job = jobs.at(0);
        if (auto error = job.value("error", 0); error != 0)
            return make_error(ErrorCode::IoError, "fio job failed with error {} ({})", error, std::strerror(error));
        auto const& section = job.at(writes ? "write" : "read");
        FioSample sample;
        sample.bw_bytes = section.at("bw_bytes").get<double>();
        sample.iops = section.at("iops").get<double>();
        sample.io_bytes = section.at("io_bytes").get<uint64_t>();
        sample.total_ios = section.at("total_ios").get<uint64_t>();
        sample.runtime_s = section.at("runtime").get<double>() / 1e3;
        auto const& percentiles = section.at("clat_ns").at("percentile");
        sample.clat_p50_ns = percentile(percentiles, 50.0);
        sample.clat_p99_ns = percentile(percentiles, 99.0);
        sample.clat_p999_ns = percentile(percentiles, 99.9);
        if (sample.total_ios == 0)
            return make_error(ErrorCode::IoError, "fio completed no I/O");
        if (std::isnan(sample.clat_p50_ns) || std::isnan(sample.clat_p99_ns) || std::isnan(sample.clat_p999_ns))
            return make_error(ErrorCode::Internal, "fio report lacks the 50/99/99.9 completion latency percentiles");
        return sample;
    } catch (nlohmann::json::exception const& error) {
        return make_error(ErrorCode::Internal, "cannot read fio's JSON report: {}", error.what());
    }
}

static Result<std::string> read_text(std::string const& path)
{
    std::ifstream file(path);
    if (!file)
        return errno_error(fmt::format("open {}", path));
    std::ostringstream text;
    text << file.rdbuf();
    return text.str();
}

// fio gets its runtime plus a generous margin; past that the block path is
// considered hung and the job fails instead of blocking the benchmark.
static std::chrono::milliseconds fio_timeout(unsigned runtime_s) { return std::chrono::seconds(runtime_s + 60); }

Result<FioSample> run_fio(BenchOptions const& options, Workload const& workload, std::string const& file, unsigned runtime_s,
    std::string const& json_path)
{
    auto argv = fio_command(options, workload, file, runtime_s, json_path);
    auto result = TRY(harness::run_command(argv, { .timeout = fio_timeout(runtime_s) }));
    if (!result.ok())
        return make_error(ErrorCode::IoError, "fio {} on {}: {}", workload.id, file, result.describe());
    auto text = TRY(read_text(json_path));
    return parse_fio_json(text, workload.writes);
}

Result<void> fill_file(BenchOptions const& options, std::string const& file, std::string const& json_path)
{
    std::vector<std::string> argv {
        "fio",
        "--name=fill",
        fmt::format("--filename={}", file),
        "--rw=write",
        "--bs=1M",
        fmt::format("--size={}", options.size),
        "--direct=1",
        "--ioengine=psync",
        "--fallocate=none",
        "--end_fsync=1",
        "--output-format=json",
        fmt::format("--output={}", json_path),
    };
    // Even a slow path writes the working set well within this.
    auto seconds = static_cast<unsigned>(options.size >> 20) / 10 + 60;
    auto result = TRY(harness::run_command(argv, { .timeout = fio_timeout(seconds) }));
    if (!result.ok())
        return make_error(ErrorCode::IoError, "fio writing the working set of {}: {}", file, result.describe());
    return {};
}

std::string fio_version()
{
    auto result = harness::run_command({ "fio", "--version" }, { .timeout = std::chrono::seconds(10) });
    if (!result || !result->ok())
        return "unknown";
    auto text = result->output;
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.pop_back();
    return text;
}

} // namespace nk::bench
