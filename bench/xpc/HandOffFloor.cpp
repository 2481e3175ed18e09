// SPDX-License-Identifier: MIT
// Futex ping-pong between two pinned threads: the cost of a hand-off itself.

#include "HandOffFloor.h"

#include "CallerPin.h"
#include "nooks/xpc/Futex.h"

#include <benchmark/benchmark.h>

#include <atomic>
#include <optional>
#include <thread>

namespace nk::bench {

namespace {

// One direction of the exchange, as in an XPC channel half.
struct Mailbox {
    alignas(64) std::atomic<uint32_t> seq { 0 };
    std::atomic<uint32_t> receiver_waiting { 0 };

    void post()
    {
        seq.fetch_add(1, std::memory_order_seq_cst);
        if (receiver_waiting.load(std::memory_order_seq_cst) != 0)
            xpc::futex_wake(seq);
    }

    // Waits until seq differs from `seen`; returns the new value.
    uint32_t receive(uint32_t seen)
    {
        for (;;) {
            auto current = seq.load(std::memory_order_acquire);
            if (current != seen)
                return current;
            receiver_waiting.store(1, std::memory_order_seq_cst);
            if (seq.load(std::memory_order_seq_cst) == seen)
                xpc::futex_wait(seq, seen, 0);
            receiver_waiting.store(0, std::memory_order_relaxed);
        }
    }
};

struct PingPong {
    Mailbox ping;
    Mailbox pong;
    std::atomic<bool> stop { false };
};

void answer_pings(PingPong& words, int cpu)
{
    auto pin = CallerPin::pin_to(cpu);
    uint32_t seen = 0;
    for (;;) {
        seen = words.ping.receive(seen);
        if (words.stop.load(std::memory_order_acquire))
            return;
        words.pong.post();
    }
}

void futex_round_trip(benchmark::State& state, bool same_cpu)
{
    auto pin = CallerPin::pin_here();
    if (!pin) {
        state.SkipWithError(pin.error().message().c_str());
        return;
    }
    auto const here = ::sched_getcpu();
    auto const cpus = static_cast<int>(std::thread::hardware_concurrency());
    auto const partner_cpu = same_cpu ? here : (here + 1) % cpus;

    PingPong words;
    std::thread partner(answer_pings, std::ref(words), partner_cpu);
    uint32_t answered = 0;
    for (auto _ : state) {
        words.ping.post();
        answered = words.pong.receive(answered);
    }
    words.stop.store(true, std::memory_order_release);
    words.ping.post();
    partner.join();
}

} // namespace

void register_hand_off_floor_benchmarks()
{
    benchmark::RegisterBenchmark("floor/futex_round_trip/same_cpu", [](benchmark::State& state) { futex_round_trip(state, true); })
        ->UseRealTime();
    if (std::thread::hardware_concurrency() > 1) {
        benchmark::RegisterBenchmark("floor/futex_round_trip/other_cpu", [](benchmark::State& state) { futex_round_trip(state, false); })
            ->UseRealTime();
    }
}

} // namespace nk::bench
