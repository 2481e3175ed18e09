// SPDX-License-Identifier: MIT
#include "Session.h"

#include "CpuTime.h"
#include "KernelLauncher.h"
#include "base/Clock.h"
#include "base/ScopeGuard.h"
#include "base/Units.h"
#include "harness/Command.h"
#include "harness/Ext4Stack.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sys/mount.h>

namespace nk::bench {

namespace {

// Everything one boot holds, released by teardown() in order.
struct SessionState {
    std::string dir;
    std::string image;
    std::unique_ptr<harness::Ext4Stack> stack;
};

bool is_mounted(std::string const& path)
{
    std::ifstream mounts("/proc/mounts");
    std::string device, target, rest;
    while (mounts >> device >> target && std::getline(mounts, rest)) {
        if (target == path)
            return true;
    }
    return false;
}

class Session {
public:
    Session(SessionContext const& context, std::string const& mode, unsigned repetition)
        : m_context(context)
        , m_options(context.options)
    {
        m_run.mode = mode;
        m_run.repetition = repetition;
        auto name = fmt::format("{}-{}", repetition, mode);
        m_state.dir = context.work_dir + "/" + name;
        m_state.image = context.image_dir + "/" + name + ".img";
    }

    BootRun run()
    {
        auto start = monotonic_ns();
        {
            ScopeGuard guard([this] { teardown(); });
            if (auto done = body(); !done && m_run.status == RunStatus::Ok) {
                m_run.status = m_context.interrupts.requested() ? RunStatus::Interrupted : RunStatus::Failed;
                m_run.error = done.error().message();
            }
        }
        m_run.seconds = static_cast<double>(monotonic_ns() - start) / 1e9;
        return std::move(m_run);
    }

private:
    std::string prefix() const
    {
        return fmt::format("rep {}/{} {:<7}", m_run.repetition, m_options.repetitions, m_run.mode);
    }

    Result<void> body()
    {
        std::error_code error;
        std::filesystem::create_directories(m_state.dir, error);
        if (error)
            return make_error(ErrorCode::FailedPrecondition, "cannot create {}: {}", m_state.dir, error.message());

        // Kernel settings to compare (an [isolation] table...): the bench's own keys come first.
        std::string extra;
        if (!m_options.kernel_config.empty()) {
            std::ifstream file(m_options.kernel_config);
            extra.assign(std::istreambuf_iterator<char>(file), {});
        }
        std::vector<std::string> run_args;
        if (m_options.fuse_threads != 0)
            run_args = { "--fuse-threads", std::to_string(m_options.fuse_threads) };
        auto built = harness::Ext4Stack::create({ .nooks_binary = m_context.nooks_binary, .mode = m_run.mode, .dir = m_state.dir,
            .disk_size = std::to_string(m_options.disk_size), .image = m_state.image, .driver = m_options.driver, .config_extra = extra,
            .run_args = run_args, .ext4 = false });
        if (!built) {
            // "exited before it was ready": the kernel refused this configuration.
            bool rejected = built.error().code() == ErrorCode::FailedPrecondition;
            auto line = kernel_error_line(m_state.dir + "/kernel.log");
            m_run.status = rejected ? RunStatus::Rejected : RunStatus::Failed;
            m_run.error = line.empty() ? built.error().message() : line;
            return make_error(ErrorCode::FailedPrecondition, "{}", m_run.error);
        }
        m_state.stack = std::move(*built);
        m_context.interrupts.protect(m_state.stack->kernel().pid());
        m_context.progress.line("{} kernel up (pid {}), {} disk", prefix(), m_state.stack->kernel().pid(), format_size(m_options.disk_size));

        // The raw disk file first: its writes would destroy the ext4 made afterwards.
        auto targets = m_options.targets;
        std::ranges::sort(targets);
        for (auto target : targets) {
            auto file = TRY(prepare(target));
            for (auto const* workload : m_context.workloads)
                m_run.jobs.push_back(TRY(run_job(target, *workload, file)));
        }
        return {};
    }

    Result<void> check_interrupt() const
    {
        if (m_context.interrupts.requested())
            return make_error(ErrorCode::Aborted, "interrupted");
        return {};
    }

    // Says why a step failed when the kernel is the reason.
    Error explain(Error error)
    {
        if (m_state.stack && !m_state.stack->kernel().running()) {
            return Error(error.code(), fmt::format("{}; the kernel died ({}); end of its log:\n{}", error.message(),
                m_state.stack->kernel().exit_description(), m_state.stack->kernel().log_tail(15)));
        }
        return error;
    }

    // Makes `target` ready for jobs and returns the file fio uses.
    Result<std::string> prepare(Target target)
    {
        TRY(check_interrupt());
        auto start = monotonic_ns();
        std::string file;
        if (target == Target::FuseFile) {
            file = m_state.stack->disk_file();
        } else {
            // Like the demo: loop device with direct I/O (no second page cache),
            // ext4 with its tables written now rather than by a background thread
            // during the measurements.
            TRY(m_state.stack->attach_ext4({ "-E", "lazy_itable_init=0,lazy_journal_init=0" }));
            file = m_state.stack->ext4() + "/fio.dat";
        }
        if (auto filled = fill_file(m_options, file, m_state.dir + "/fill.json"); !filled)
            return std::unexpected(explain(std::move(filled).error()));
        m_context.progress.line("{} {:<5} ready: {} written in {:.1f} s{}", prefix(), target_id(target), format_size(m_options.size),
            static_cast<double>(monotonic_ns() - start) / 1e9,
            target == Target::Ext4 ? fmt::format(" (ext4 on {})", m_state.stack->loop()->path()) : std::string());
        return file;
    }

    Result<JobResult> run_job(Target target, Workload const& workload, std::string const& file)
    {
        TRY(check_interrupt());
        auto json = fmt::format("{}/{}-{}.json", m_state.dir, target_id(target), workload.id);
        // Warm-up: the same job, unmeasured, right before the measured one.
        // It plays the part of fio's --ramp_time, but keeps the measured run
        // free of ramp I/O, so the CPU time read around it covers exactly the
        // I/O fio counts.
        if (m_options.warmup_s > 0) {
            if (auto warm = run_fio(m_options, workload, file, m_options.warmup_s, m_state.dir + "/warmup.json"); !warm)
                return std::unexpected(explain(std::move(warm).error()));
        }
        TRY(check_interrupt());
        auto pid = m_state.stack->kernel().pid();
        auto cpu_before = TRY(process_tree_cpu_seconds(pid));
        auto start = monotonic_ns();
        auto sample = run_fio(m_options, workload, file, m_options.runtime_s, json);
        auto wall = static_cast<double>(monotonic_ns() - start) / 1e9;
        if (!sample)
            return std::unexpected(explain(std::move(sample).error()));
        auto cpu_after = process_tree_cpu_seconds(pid);
        if (!cpu_after)
            return std::unexpected(explain(std::move(cpu_after).error()));

        JobResult job { .target = target, .workload = workload.id, .fio = *sample, .cpu_seconds = *cpu_after - cpu_before, .wall_seconds = wall };
        m_context.progress.line("{} {:<5} {:<17} {:>8.1f} MB/s {:>8.0f} IOPS  p50 {:>7.1f} p99 {:>7.1f} p99.9 {:>7.1f} µs  {} {:.3g}",
            prefix(), target_id(target), workload.label, sample->bw_bytes / 1e6, sample->iops, sample->clat_p50_ns / 1e3,
            sample->clat_p99_ns / 1e3, sample->clat_p999_ns / 1e3, metric_label(Metric::Cpu, workload),
            metric_value(job, workload, Metric::Cpu));
        return job;
    }

    void warn(std::string message)
    {
        m_context.progress.line("{} warning: {}", prefix(), message);
        m_run.warnings.push_back(std::move(message));
    }

    // Idempotent: runs on every path, including errors and interrupts.
    void teardown()
    {
        if (auto& stack = m_state.stack) {
            if (auto done = stack->detach_loop(); !done)
                warn(done.error().message());
            auto& kernel = stack->kernel();
            auto pid = kernel.pid();
            bool died = !kernel.running();
            if (auto done = kernel.stop(); !done)
                warn(done.error().message());
            else if (!died && kernel.exit_description() != "exit 0")
                warn(fmt::format("kernel stopped with {}; end of its log:\n{}", kernel.exit_description(), kernel.log_tail(10)));
            m_context.interrupts.unprotect(pid);
            // A kernel that died leaves its FUSE mount behind, disconnected (the stack detaches it).
            if (is_mounted(stack->disks()))
                warn(fmt::format("{} was still mounted after the kernel stopped; detached it", stack->disks()));
            stack.reset();
        }
        std::error_code error;
        std::filesystem::remove(m_state.image, error);
    }

    SessionContext const& m_context;
    BenchOptions const& m_options;
    SessionState m_state;
    BootRun m_run;
};

} // namespace

BootRun run_session(SessionContext const& context, std::string const& mode, unsigned repetition)
{
    return Session(context, mode, repetition).run();
}

} // namespace nk::bench
