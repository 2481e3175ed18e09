// SPDX-License-Identifier: MIT
#include "Report.h"

#include "Table.h"
#include "base/Units.h"

#include <cmath>
#include <filesystem>
#include <optional>

namespace nk::bench {

namespace {

std::string group_thousands(uint64_t value)
{
    auto digits = std::to_string(value);
    std::string out;
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0)
            out += ',';
        out += digits[i];
    }
    return out;
}

// About three significant digits, never in exponent notation.
std::string format_number(double value)
{
    auto magnitude = std::fabs(value);
    if (magnitude >= 100)
        return group_thousands(static_cast<uint64_t>(std::llround(value)));
    if (magnitude >= 10)
        return fmt::format("{:.1f}", value);
    if (magnitude >= 1)
        return fmt::format("{:.2f}", value);
    return fmt::format("{:.3f}", value);
}

std::string format_cell(Cell const& cell)
{
    auto text = format_number(cell.median);
    // The spread says how much to trust the median: half the range over repetitions.
    if (cell.values.size() > 1)
        text += fmt::format(" ±{:.0f}%", cell.spread * 100);
    return text;
}

std::vector<Workload const*> selected_workloads(BenchOptions const& options)
{
    std::vector<Workload const*> workloads;
    for (auto const& workload : all_workloads()) {
        if (options.workloads.empty() || std::ranges::find(options.workloads, workload.id) != options.workloads.end())
            workloads.push_back(&workload);
    }
    return workloads;
}

std::optional<double> median(BenchResults const& results, std::string const& mode, Target target, std::string const& workload_id,
    Metric metric)
{
    auto const* workload = find_workload(workload_id);
    if (workload == nullptr)
        return std::nullopt;
    auto cell = summarize(results, mode, target, *workload, metric);
    if (cell.empty())
        return std::nullopt;
    return cell.median;
}

// Rows: each workload's metrics. Columns: the modes that booted, then each
// other mode relative to the baseline.
Table target_table(BenchResults const& results, BenchOptions const& options, Target target)
{
    auto modes = results.available_modes();
    auto baseline = results.baseline();
    std::vector<std::string> header { "workload", "metric" };
    for (auto const& mode : modes)
        header.push_back(mode);
    std::vector<std::string> compared;
    if (baseline && modes.size() > 1) {
        for (auto const& mode : modes) {
            if (mode != *baseline) {
                compared.push_back(mode);
                header.push_back(fmt::format("{}/{}", mode, *baseline));
            }
        }
    }
    Table table(header, 2);
    for (auto const* workload : selected_workloads(options)) {
        bool first = true;
        for (auto metric : all_metrics) {
            std::vector<std::string> row { first ? workload->label : "", metric_label(metric, *workload) };
            first = false;
            for (auto const& mode : modes) {
                auto cell = summarize(results, mode, target, *workload, metric);
                row.push_back(cell.empty() ? "failed" : format_cell(cell));
            }
            auto base = baseline ? summarize(results, *baseline, target, *workload, metric) : Cell {};
            for (auto const& mode : compared) {
                auto cell = summarize(results, mode, target, *workload, metric);
                row.push_back(cell.empty() || base.empty() || base.median == 0 ? "–" : fmt::format("{:.2f}", cell.median / base.median));
            }
            table.add_row(std::move(row));
        }
    }
    return table;
}

std::string title(BenchResults const& results, BenchOptions const& options)
{
    // Titled by what was measured: a mode `nooks run` refused adds no column.
    auto modes = results.available_modes();
    if (modes.empty())
        modes = options.modes;
    if (modes.size() == 1 && modes.front() == "native")
        return "Block path baseline (native mode)";
    std::string names;
    for (auto const& mode : modes)
        names += (names.empty() ? "" : " vs ") + mode;
    return "Block path: " + names;
}

std::string target_description(Target target)
{
    if (target == Target::FuseFile)
        return "fio on the disk file the kernel exposes through FUSE (`<mount>/disk0`), opened with O_DIRECT.";
    return "fio on a file in ext4, mounted from a loop device (direct I/O) over the same disk file, opened with O_DIRECT.";
}

// Errors may carry the end of the kernel log; the progress output showed it
// already, the summary keeps the first line.
std::string first_line(std::string const& text) { return text.substr(0, text.find('\n')); }

// One line of the notes: a Markdown list item or an indented text line.
std::string note(bool markdown, std::string const& text) { return (markdown ? "- " : "  ") + text + "\n"; }

std::string unavailable_notes(BenchResults const& results, bool markdown)
{
    std::string out;
    for (auto const& status : results.modes) {
        if (!status.available)
            out += note(markdown, fmt::format("{}: not available: {}", status.mode, status.error));
    }
    return out;
}

std::string failure_notes(BenchResults const& results, bool markdown)
{
    std::string out;
    for (auto const& run : results.runs) {
        if (run.status == RunStatus::Failed || run.status == RunStatus::Interrupted)
            out += note(markdown, fmt::format("repetition {} of {} {}: {}", run.repetition, run.mode, run_status_name(run.status),
                first_line(run.error)));
        for (auto const& warning : run.warnings)
            out += note(markdown, fmt::format("repetition {} of {}: warning: {}", run.repetition, run.mode, first_line(warning)));
    }
    return out;
}

// "about as fast as" / "faster than" / "slower than", for a ratio of rates.
std::string compare_words(double ratio)
{
    if (ratio > 1.1)
        return fmt::format("{:.1f}× as fast as", ratio);
    if (ratio < 0.9)
        return fmt::format("{:.0f}% as fast as", ratio * 100);
    return "about as fast as";
}

// Sentences read off the numbers of this run, so they stay true whenever the
// report is generated again. Each is written only when its numbers exist.
std::string interpretation(BenchResults const& results, BenchOptions const& options)
{
    auto baseline = results.baseline();
    if (!baseline)
        return "No mode could be measured in this run; see the notes below.\n";
    auto const& base = *baseline;
    auto get = [&](Target target, char const* workload, Metric metric) { return median(results, base, target, workload, metric); };
    std::vector<std::string> sentences;

    auto fuse_seq = get(Target::FuseFile, "seq-read", Metric::Throughput);
    auto fuse_rand = get(Target::FuseFile, "rand-read", Metric::Iops);
    auto fuse_rand_p50 = get(Target::FuseFile, "rand-read", Metric::P50);
    if (fuse_seq && fuse_rand && fuse_rand_p50) {
        sentences.push_back(fmt::format(
            "In {} mode, 1 MiB sequential reads of the FUSE disk file run at {} MB/s and 4 KiB random reads at {} IOPS, with a median "
            "completion latency of {} µs; every request travels from fio through Linux's FUSE to the kernel process, its block layer, "
            "the nkdisk driver and the emulated controller, {}.",
            base, format_number(*fuse_seq), format_number(*fuse_rand), format_number(*fuse_rand_p50),
            options.iodepth * options.numjobs == 1 ? std::string("one request at a time")
                                                   : fmt::format("up to {} requests in flight", options.iodepth * options.numjobs)));
    }
    auto fuse_seq_write = get(Target::FuseFile, "seq-write", Metric::Throughput);
    auto fuse_rand_write = get(Target::FuseFile, "rand-write", Metric::Iops);
    if (fuse_seq && fuse_rand && fuse_seq_write && fuse_rand_write) {
        auto large = compare_words(*fuse_seq_write / *fuse_seq);
        auto small = compare_words(*fuse_rand_write / *fuse_rand);
        if (large == small)
            sentences.push_back(fmt::format("Writes are {} reads at both sizes ({} MB/s at 1 MiB, {} IOPS at 4 KiB).", large,
                format_number(*fuse_seq_write), format_number(*fuse_rand_write)));
        else
            sentences.push_back(fmt::format("Writes are {} reads at 1 MiB ({} MB/s) and {} reads at 4 KiB ({} IOPS).", large,
                format_number(*fuse_seq_write), small, format_number(*fuse_rand_write)));
    }
    auto ext4_seq = get(Target::Ext4, "seq-read", Metric::Throughput);
    auto ext4_rand = get(Target::Ext4, "rand-read", Metric::Iops);
    if (fuse_seq && fuse_rand && ext4_seq && ext4_rand) {
        sentences.push_back(fmt::format(
            "Through ext4 on the loop device, the same reads reach {} MB/s ({:.0f}% of the raw file) and {} IOPS ({:.0f}%): the loop "
            "device and ext4 add their own work in Linux on top of the same FUSE path.",
            format_number(*ext4_seq), *ext4_seq / *fuse_seq * 100, format_number(*ext4_rand), *ext4_rand / *fuse_rand * 100));
    }
    auto fuse_rand_p999 = get(Target::FuseFile, "rand-read", Metric::P999);
    if (fuse_rand_p50 && fuse_rand_p999 && *fuse_rand_p50 > 0) {
        auto factor = *fuse_rand_p999 / *fuse_rand_p50;
        sentences.push_back(fmt::format(
            "Tails are {}: p99.9 of 4 KiB random reads on the FUSE file is {:.0f}× the median, and tail percentiles vary the most between "
            "repetitions (see the ± spread), so they need more repetitions than medians before a difference between modes means anything.",
            factor >= 5 ? "wide" : "moderate", factor));
    }
    auto cpu_rand = get(Target::FuseFile, "rand-read", Metric::Cpu);
    auto cpu_seq = get(Target::FuseFile, "seq-read", Metric::Cpu);
    if (cpu_rand && cpu_seq) {
        sentences.push_back(fmt::format(
            "The kernel process spends {} ms of CPU per 1000 random 4 KiB reads ({} µs per request) and {} s per GB of 1 MiB reads: the "
            "cost of the block path in the trusted kernel, which is what isolating the driver changes.",
            format_number(*cpu_rand), format_number(*cpu_rand), format_number(*cpu_seq)));
    }

    // Other modes: their range of ratios over every target and workload.
    for (auto const& mode : results.available_modes()) {
        if (mode == base)
            continue;
        double low_rate = INFINITY, high_rate = 0, low_cpu = INFINITY, high_cpu = 0;
        for (auto target : options.targets) {
            for (auto const* workload : selected_workloads(options)) {
                auto rate = median(results, mode, target, workload->id, Metric::Throughput);
                auto base_rate = median(results, base, target, workload->id, Metric::Throughput);
                if (rate && base_rate && *base_rate > 0) {
                    low_rate = std::min(low_rate, *rate / *base_rate);
                    high_rate = std::max(high_rate, *rate / *base_rate);
                }
                auto cpu = median(results, mode, target, workload->id, Metric::Cpu);
                auto base_cpu = median(results, base, target, workload->id, Metric::Cpu);
                if (cpu && base_cpu && *base_cpu > 0) {
                    low_cpu = std::min(low_cpu, *cpu / *base_cpu);
                    high_cpu = std::max(high_cpu, *cpu / *base_cpu);
                }
            }
        }
        if (high_rate > 0 && high_cpu > 0) {
            sentences.push_back(fmt::format("Across workloads, {} mode delivers {:.2f}–{:.2f}× the throughput of {} and uses {:.2f}–{:.2f}× "
                                            "its kernel CPU per byte or request.",
                mode, low_rate, high_rate, base, low_cpu, high_cpu));
        }
    }

    std::string out;
    for (auto const& sentence : sentences)
        out += (out.empty() ? "" : " ") + sentence;
    return out + "\n";
}

// Other work on the machine competes for the CPUs and stretches tails; say so
// next to the numbers rather than only in the methodology.
bool machine_was_busy(BenchResults const& results) { return results.other_load.other_cpus + results.other_load.steal_cpus >= 0.25; }

std::string busy_warning(BenchResults const& results)
{
    return fmt::format("Other work was running during this run ({:.2f} CPUs busy on average outside the benchmark, {:.2f} stolen): "
                       "its numbers, tails above all, are distorted; run again on a quiet machine.",
        results.other_load.other_cpus, results.other_load.steal_cpus);
}

std::string reproduce_command(BenchOptions const& options)
{
    return "sudo build/release/bin/nooks-bench-block" + (options.command_line.empty() ? std::string() : " " + options.command_line);
}

// Paths inside the current directory (the source tree, for `make bench`)
// are shown relative to it, so the report does not name one machine's checkout.
std::string shown_path(std::string const& path)
{
    std::error_code error;
    auto relative = std::filesystem::proximate(path, error);
    if (error || relative.empty() || relative.native().starts_with(".."))
        return path;
    return relative.string();
}

std::string image_description(BenchOptions const& options)
{
    if (options.image_dir.empty())
        return "in the work directory under /tmp";
    return fmt::format("in {}", options.image_dir);
}

} // namespace

std::string text_report(BenchResults const& results, BenchOptions const& options)
{
    std::string out = fmt::format("\n{}\n", title(results, options));
    out += fmt::format("median of {} repetition{}, ± half the range; ratios are mode/{}; CPU is user+system time of the kernel process\n\n",
        options.repetitions, options.repetitions == 1 ? "" : "s", results.baseline().value_or("-"));
    for (auto target : options.targets) {
        out += fmt::format("{}\n", target_title(target));
        auto table = target_table(results, options, target);
        out += table.text() + "\n";
    }
    auto notes = unavailable_notes(results, false) + failure_notes(results, false);
    if (machine_was_busy(results))
        notes += note(false, busy_warning(results));
    if (!notes.empty())
        out += "notes:\n" + notes + "\n";
    out += "Absolute numbers vary with the machine and from run to run; compare modes by the ratios measured in one run.\n";
    out += fmt::format("total time: {:.0f} s\n", results.total_seconds);
    return out;
}

std::string markdown_report(BenchResults const& results, BenchOptions const& options)
{
    auto const& machine = results.machine;
    std::string out = "# Benchmarks\n\n";
    out += fmt::format("## {}\n\n", title(results, options));
    out += interpretation(results, options) + "\n";
    for (auto target : options.targets) {
        out += fmt::format("### {}\n\n{} Median of {} repetition{}, ± half the range between them.\n\n", target_title(target),
            target_description(target), options.repetitions, options.repetitions == 1 ? "" : "s");
        out += target_table(results, options, target).markdown() + "\n";
    }
    if (auto baseline = results.baseline(); baseline && results.available_modes().size() > 1)
        out += fmt::format("Ratio columns are mode/{} of the medians: above 1 is better for MB/s and IOPS, worse for latency and CPU.\n\n", *baseline);
    auto notes = unavailable_notes(results, true) + failure_notes(results, true);
    if (machine_was_busy(results))
        notes += note(true, busy_warning(results));
    if (!notes.empty())
        out += "Notes from this run:\n\n" + notes + "\n";
    out += "**Absolute numbers are noise on this VM**: they depend on the host, its other tenants and the moment. What matters are the "
           "ratios between modes measured in one run, where every mode ran the same jobs with the same driver binary, interleaved.\n\n";

    out += "## How these numbers were measured\n\n";
    out += fmt::format("- Date: {}; total run time {:.0f} s.\n", machine.date, results.total_seconds);
    out += fmt::format("- Machine: {}, {} CPUs (nproc), {} RAM; kernel {}; {}.\n", machine.cpu_model, machine.cpus, machine.memory,
        machine.kernel, machine.fio_version);
    out += fmt::format("- Other activity: load average {:.2f} when the run started; during it, {:.2f} CPUs on average were busy "
                       "outside the benchmark's processes (other programs, and Linux's own threads such as the loop device's "
                       "workers) and {:.2f} CPUs were taken by the hypervisor (steal).\n",
        machine.load_average, results.other_load.other_cpus, results.other_load.steal_cpus);
    out += "- Reproduce (as root: the benchmark mounts FUSE and ext4 and attaches a loop device):\n\n";
    out += fmt::format("  ```sh\n  {}\n  make bench   # builds, then runs it with --output docs/BENCHMARKS.md\n  ```\n\n", reproduce_command(options));
    out += fmt::format("- Every job is one fio run:\n\n  ```sh\n  {}\n  ```\n\n", fio_command_template(options));
    out += "  | workload | --rw | --bs |\n  | --- | --- | ---: |\n";
    for (auto const* workload : selected_workloads(options))
        out += fmt::format("  | {} | {} | {} |\n", workload->label, workload->rw, workload->block_size);
    out += "\n";
    out += fmt::format("  Engine `{}`, iodepth {}, numjobs {}: {}\n", options.ioengine, options.iodepth, options.numjobs,
        options.iodepth == 1 && options.numjobs == 1 ? "one request in flight at a time, so the numbers are the per-request cost of "
                                                       "the path rather than its parallelism."
                                                     : "several requests in flight.");
    out += fmt::format("- Each measured run lasts {} s and follows a {} s warm-up run of the same job. The warm-up is a separate fio "
                       "run rather than `--ramp_time`, so the kernel CPU time read around the measured run covers exactly the I/O fio "
                       "reports.\n",
        options.runtime_s, options.warmup_s);
    out += fmt::format("- Working set {} per target. Each boot of the kernel starts from a new, empty {} disk image ({}); the working "
                       "set is written once before the jobs, so reads hit written blocks. The FUSE target's jobs run first; then ext4 is "
                       "made on the disk (`mkfs.ext4 -E lazy_itable_init=0,lazy_journal_init=0`, so no background initialization runs "
                       "during the jobs) and the test file written.\n",
        format_size(options.size), format_size(options.disk_size), image_description(options));
    out += fmt::format("- Driver `{}`, the same file for every mode.{}\n", shown_path(options.driver),
        options.fuse_threads != 0 ? fmt::format(" FUSE worker threads: {}.", options.fuse_threads) : std::string());
    if (!options.kernel_config.empty())
        out += fmt::format("- Every kernel booted with the config file `{}`.\n", options.kernel_config);
    out += fmt::format("- Repetitions: {}. Each repetition boots the kernel once per mode; the order of modes rotates from one repetition "
                       "to the next (round-robin), so slow drift of the machine affects every mode alike. Tables show medians.\n",
        options.repetitions);
    out += "- CPU: user + system time of the `nooks run` process (and any process it started), from /proc/<pid>/stat before and "
           "after each measured run: per GB for 1 MiB workloads, per 1000 I/Os for 4 KiB ones. It does not include fio or the work "
           "Linux does in FUSE, the loop device and ext4.\n";
    out += "- Latency: fio's completion latency (clat) percentiles.\n";
    return out;
}

} // namespace nk::bench
