// SPDX-License-Identifier: MIT
#include "recovery/FaultRun.h"

#include "base/Clock.h"
#include "control/ControlServer.h"
#include "harness/Ext4Stack.h"
#include "harness/Interrupt.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <thread>

namespace nk::bench {

namespace {

constexpr uint64_t disk_bytes = 64ull << 20;

struct DriverView {
    std::string name;
    unsigned restarts { 0 };
    bool live { false };
};

Result<DriverView> look(std::string const& control)
{
    auto reply = TRY(control_request(control, { { "command", "list" } }, std::chrono::seconds(5)));
    if (!reply.value("ok", false))
        return make_error(ErrorCode::Internal, "list: {}", reply.value("error", std::string("no answer")));
    for (auto const& module : reply["modules"]) {
        if (module.value("isolation", std::string()) != "isolated")
            continue;
        DriverView view { module.value("name", std::string()), module.value("restarts", 0u), false };
        view.live = module.value("recovery", std::string()) == "live" && module.value("state", std::string()) == "live";
        return view;
    }
    return make_error(ErrorCode::NotFound, "list: no isolated driver is loaded");
}

// Waits until the driver is live again after its `restarts`-th restart.
Result<void> wait_recovered(std::string const& control, unsigned restarts, std::chrono::seconds timeout)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline && !harness::interrupted()) {
        auto view = look(control);
        if (view && view->live && view->restarts >= restarts)
            return {};
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (harness::interrupted())
        return make_error(ErrorCode::Aborted, "interrupted");
    return make_error(ErrorCode::DeadlineExceeded, "the driver was not live again {} s after fault {}", timeout.count(), restarts);
}

} // namespace

Result<FaultRunResult> run_faults(FaultRunOptions const& options, ProgressFn const& progress)
{
    FaultRunResult result;
    result.mode = options.mode;
    auto dir = options.work_dir;
    auto image = (options.image_dir.empty() ? dir : options.image_dir) + "/" + std::filesystem::path(dir).filename().string() + "-disk0.img";
    struct ImageGuard {
        std::string path;
        ~ImageGuard() { std::filesystem::remove(path); }
    } image_guard { image };
    // The disk file only: the probe's threads do I/O on it directly.
    auto stack = TRY(harness::Ext4Stack::create({ .nooks_binary = options.nooks_binary, .mode = options.mode, .dir = dir,
        .disk_size = std::to_string(disk_bytes), .image = image, .driver = options.driver,
        .config_extra = fmt::format("[isolation]\nlivelock_ms = {}\nagent = \"\"\n", options.livelock_ms), .ext4 = false }));
    auto* kernel = &stack->kernel();
    auto control = stack->control();
    std::unique_ptr<IoProbe> probe;
    auto fail = [&](Error error) -> Result<FaultRunResult> {
        auto log = kernel->log_tail(5);
        // The kernel first: with it gone, I/O the probe's threads are blocked in ends.
        (void)kernel->stop(std::chrono::seconds(5));
        probe.reset();
        return std::unexpected(std::move(error).with_context(fmt::format("{} mode (kernel log: {})", options.mode, log)));
    };
    auto driver = look(control);
    if (!driver)
        return fail(driver.error());

    auto started = IoProbe::start(stack->disk_file(), disk_bytes, options.threads);
    if (!started)
        return fail(started.error());
    probe = std::move(*started);
    std::this_thread::sleep_for(std::chrono::milliseconds(options.settle_ms));

    for (size_t i = 0; i < options.faults.size() && !harness::interrupted(); ++i) {
        InjectedFault injected { options.faults[i] };
        auto reply = control_request(control, { { "command", "inject" }, { "driver", driver->name }, { "fault", injected.fault },
                                                   { "entry", "blk_queue_rq" }, { "after", 1 } },
            std::chrono::seconds(5));
        if (!reply || !reply->value("ok", false)) {
            return fail(reply ? Error(ErrorCode::InvalidArgument, fmt::format("inject {}: {}", injected.fault, reply->value("error", std::string())))
                              : reply.error());
        }
        injected.armed_ns = monotonic_ns();
        auto recovered = wait_recovered(control, static_cast<unsigned>(i + 1), std::chrono::seconds(20));
        if (!recovered)
            return fail(recovered.error());
        injected.recovered_ns = monotonic_ns();
        if (progress)
            progress(fmt::format("{:<6} fault {}/{} {:<18} live again after {:.1f} ms", options.mode, i + 1, options.faults.size(), injected.fault,
                static_cast<double>(injected.recovered_ns - injected.armed_ns) / 1e6));
        result.faults.push_back(injected);
        std::this_thread::sleep_for(std::chrono::milliseconds(options.settle_ms));
    }
    probe->stop();
    result.operations = probe->operations();
    probe.reset();

    auto failures = control_request(control, { { "command", "failures" } }, std::chrono::seconds(5));
    if (!failures || !failures->value("ok", false))
        return fail(failures ? Error(ErrorCode::Internal, "failures: no answer") : failures.error());
    result.failures = (*failures)["failures"];
    if (auto stopped = kernel->stop(); !stopped)
        return fail(stopped.error());
    std::ifstream log(dir + "/kernel.log");
    result.kernel_log.assign(std::istreambuf_iterator<char>(log), {});
    if (harness::interrupted())
        return make_error(ErrorCode::Aborted, "interrupted");
    return result;
}

} // namespace nk::bench
