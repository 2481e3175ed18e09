// SPDX-License-Identifier: MIT
// The crossing benchmarks, through the nktest driver:
//   null_entry      kernel -> driver call that runs no driver code
//   echo_ioctl      NKTEST_ECHO through the disk's ioctl (a driver function that returns its argument)
//   kernel_reads    NKTEST_READS: one call, 64 synchronous register reads driver -> kernel
//   posted_writes   NKTEST_POSTED: one call, 64 posted (deferred) register writes
//   nested          NKTEST_NEST: kernel -> driver -> kernel (unregister, register) -> driver (remove, probe) -> kernel
// Real time throughout: in the process backend the calling thread sleeps while
// the domain works, so its CPU time says little.

#include "Crossings.h"

#include "CallerPin.h"
#include "RunCounters.h"

#include <nktest.h>

#include <benchmark/benchmark.h>

#include <optional>

namespace nk::bench {

namespace {

[[gnu::noinline]] int64_t empty_function(int64_t value) { return value; }
int64_t (*volatile empty_function_pointer)(int64_t) = empty_function;

void indirect_call(benchmark::State& state)
{
    int64_t value = 0;
    for (auto _ : state) {
        value = empty_function_pointer(value);
        benchmark::DoNotOptimize(value);
    }
}

// Runs `one_call` (returning Result<void>) in the timed loop; the first error ends the benchmark.
template<typename Call>
void run_crossing(benchmark::State& state, CrossingTarget const& target, Call&& one_call)
{
    std::optional<CallerPin> pin;
    if (target.pin_caller) {
        auto pinned = CallerPin::pin_here();
        if (!pinned) {
            state.SkipWithError(pinned.error().message().c_str());
            return;
        }
        pin.emplace(std::move(*pinned));
    }
    RunCounters counters(target.machine->isolated());
    for (auto _ : state) {
        if (auto done = one_call(); !done) [[unlikely]] {
            state.SkipWithError(done.error().message().c_str());
            break;
        }
    }
    counters.report(state);
}

Result<void> expect_result(Result<int> result, int expected, char const* what)
{
    auto value = TRY(std::move(result));
    if (value != expected)
        return make_error(ErrorCode::Internal, "{} returned {}, expected {}", what, value, expected);
    return {};
}

// Time per register access, next to the time per call.
void report_per_access(benchmark::State& state, char const* counter_name)
{
    using benchmark::Counter;
    auto accesses = static_cast<double>(state.iterations() * register_accesses_per_call);
    state.SetItemsProcessed(static_cast<int64_t>(accesses));
    state.counters[counter_name] = Counter(accesses, Counter::kIsRate | Counter::kInvert);
}

void null_entry(benchmark::State& state, CrossingTarget const& target)
{
    run_crossing(state, target, [&] { return target.machine->null_call(); });
}

void echo_ioctl(benchmark::State& state, CrossingTarget const& target)
{
    run_crossing(state, target, [&] { return expect_result(target.machine->ioctl(NKTEST_ECHO, 7), 7, "NKTEST_ECHO"); });
}

void kernel_reads(benchmark::State& state, CrossingTarget const& target)
{
    auto const reads = static_cast<int>(register_accesses_per_call);
    run_crossing(state, target, [&] { return expect_result(target.machine->ioctl(NKTEST_READS, reads), reads, "NKTEST_READS"); });
    report_per_access(state, "time_per_read");
}

void posted_writes(benchmark::State& state, CrossingTarget const& target)
{
    auto& aux = target.machine->aux();
    auto const before = aux.fifo_writes();
    run_crossing(state, target, [&] {
        return expect_result(target.machine->ioctl(NKTEST_POSTED, register_accesses_per_call), 0, "NKTEST_POSTED");
    });
    // Posted writes have all landed when the call returns.
    auto const landed = aux.fifo_writes() - before;
    auto const expected = static_cast<uint64_t>(state.iterations()) * register_accesses_per_call;
    if (!state.error_occurred() && landed != expected) {
        auto message = fmt::format("{} posted writes reached the device, expected {}", landed, expected);
        state.SkipWithError(message.c_str());
    }
    report_per_access(state, "time_per_write");
}

void nested(benchmark::State& state, CrossingTarget const& target)
{
    run_crossing(state, target, [&]() -> Result<void> {
        auto probes = TRY(target.machine->ioctl(NKTEST_NEST));
        if (probes <= 0)
            return make_error(ErrorCode::Internal, "NKTEST_NEST returned {}", probes);
        return {};
    });
}

struct CrossingBenchmark {
    char const* name;
    void (*function)(benchmark::State&, CrossingTarget const&);
};

constexpr CrossingBenchmark crossing_benchmarks[] = {
    { "null_entry", null_entry },
    { "echo_ioctl", echo_ioctl },
    { "kernel_reads/64", kernel_reads },
    { "posted_writes/64", posted_writes },
    { "nested", nested },
};

} // namespace

void register_floor_benchmark()
{
    benchmark::RegisterBenchmark("floor/indirect_call", indirect_call)->UseRealTime();
}

void register_crossing_benchmarks(std::span<CrossingTarget const> targets)
{
    static_assert(register_accesses_per_call == 64, "the benchmark names say 64");
    for (auto const& benchmark : crossing_benchmarks) {
        for (auto const& target : targets) {
            auto name = fmt::format("{}/{}", benchmark.name, target.label);
            auto function = benchmark.function;
            benchmark::RegisterBenchmark(name.c_str(), [function, target](benchmark::State& state) { function(state, target); })
                ->UseRealTime();
        }
    }
}

} // namespace nk::bench
