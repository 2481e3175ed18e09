// SPDX-License-Identifier: MIT
// nooks-bench-xpc: the cost of crossing into and out of a driver, measured on
// the nktest driver loaded natively (direct calls: the baseline) and in a
// protection domain process (XPC over shared memory), in one run. Google
// Benchmark flags work as usual; by default every benchmark is repeated and
// only the aggregates (mean, median, stddev, cv) are reported.

#include "Crossings.h"
#include "HandOffFloor.h"
#include "XpcMachine.h"
#include "base/Log.h"

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <thread>
#include <vector>

namespace nk::bench {

namespace {

// Placed before the caller's own flags, which override them.
constexpr char const* default_flags[] = {
    "--benchmark_repetitions=10",
    "--benchmark_report_aggregates_only=true",
};

std::vector<char*> arguments_with_defaults(int argc, char** argv)
{
    std::vector<char*> arguments { argv[0] };
    for (auto const* flag : default_flags)
        arguments.push_back(const_cast<char*>(flag));
    for (int i = 1; i < argc; ++i)
        arguments.push_back(argv[i]);
    arguments.push_back(nullptr);
    return arguments;
}

std::unique_ptr<XpcMachine> boot_or_explain(Backend backend)
{
    auto machine = XpcMachine::boot(backend);
    if (!machine) {
        fmt::print(stderr, "nooks-bench-xpc: skipping the {} backend: {}\n", backend_name(backend), machine.error().message());
        benchmark::AddCustomContext(fmt::format("{}_backend", backend_name(backend)), "skipped: " + machine.error().message());
        return nullptr;
    }
    return std::move(*machine);
}

int run(int argc, char** argv)
{
    log::configure("warn");
    auto arguments = arguments_with_defaults(argc, argv);
    int count = static_cast<int>(arguments.size()) - 1;
    benchmark::Initialize(&count, arguments.data());
    if (benchmark::ReportUnrecognizedArguments(count, arguments.data()))
        return 2;

    auto native = boot_or_explain(Backend::Native);
    auto process = boot_or_explain(Backend::Process);
    if (!native && !process) {
        fmt::print(stderr, "nooks-bench-xpc: error: no backend could start\n");
        return 1;
    }
    benchmark::AddCustomContext("driver", nktest_driver_path());
    benchmark::AddCustomContext("cpus", std::to_string(std::thread::hardware_concurrency()));

    std::vector<CrossingTarget> targets;
    if (native)
        targets.push_back({ "native", native.get(), false });
    if (process) {
        targets.push_back({ "process", process.get(), false });
        targets.push_back({ "process_pinned", process.get(), true });
    }
    register_floor_benchmark();
    register_hand_off_floor_benchmarks();
    register_crossing_benchmarks(targets);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    // The machines go now: the domain process ends with its kernel.
    return 0;
}

} // namespace

} // namespace nk::bench

int main(int argc, char** argv) { return nk::bench::run(argc, argv); }
