// SPDX-License-Identifier: MIT
#pragma once

// The kernel's side of the XPC channels of one protection domain.
//
// Synchronous calls. call() takes a free channel, writes the message, wakes the
// worker only if it sleeps, and waits. The hand-off avoids the cross-CPU wake
// (tens of µs in a VM): a worker that answered stays awake `yield_poll_ns`
// looking for the next call (in the domain: Bootstrap::worker_poll_ns), so
// call() prefers a channel whose worker is awake on another CPU (the hand-off is
// a cache-line exchange: the caller spins `spin_iterations` pauses), then one
// whose worker is pinned to the caller's CPU (the caller yields the CPU to it,
// up to `yield_poll_ns`, before it sleeps), then any. While it waits, the
// domain may call the kernel (nk_* functions): the waiting thread
// serves those calls itself, so kernel -> driver -> kernel -> driver nests on
// one channel and one pair of threads, to any depth the payload allows.
//
// Concurrency. Up to `channels` kernel threads call into one domain at once,
// each on its own channel and domain worker; more wait for a free channel. A
// nested call from a thread that already holds a channel reuses it.
//
// Deferred calls. Driver -> kernel: calls with Delivery::Deferred are queued
// in the domain and arrive with the next message; they are executed, in
// order, before that message. They are ordered per channel only: what two
// workers post reaches the kernel in the order their messages do.
//
// Batches. Kernel -> driver: call_batch() hands the driver n calls of one entry
// in one crossing; the worker runs them back to back, so what the driver posts
// while running them (a doorbell write, a queue stop) comes back on that one
// channel, in the order it did it, before call_batch() returns. A caller that
// serializes its batches (a transmit queue, a request queue) therefore sees the
// driver's posted register writes in program order.
//
// Failure. A livelock (no message from the domain for `livelock_ns` while a
// call is outstanding: DeadlineExceeded), a wrapper rejection (the wrapper's
// error) or a protocol violation (Internal) is reported to `on_failure` and
// the call returns that error. After fail(),
// every waiter returns DriverFailed at once and new calls fail immediately.

#include "abi/Interface.h"
#include "base/Error.h"
#include "base/Mutex.h"

#include <array>
#include <atomic>
#include <functional>
#include <span>
#include <thread>
#include <vector>

namespace nk {

namespace abi {
struct Message;
}
class DomainMemory;

struct XpcReply {
    int64_t result { 0 };
    uint64_t word { 0 };
};

// A driver -> kernel call: its id (valid, and of the delivery it arrived by)
// and its arguments, not checked yet: everything in them is untrusted. For a
// synchronous call `args` is still in shared memory, where the domain may
// change it: the wrapper copies it out once (ClassWrappers::decode) and looks
// only at its copy. A deferred call's arguments are the endpoint's own copy.
struct IncomingCall {
    abi::KernelCall id;
    std::span<std::byte const> args;
    unsigned channel;
};

// Where a call's reply payload goes (the kernel half of the channel).
struct ReplyPayload {
    std::span<std::byte> buffer;
    size_t size { 0 };
};

// The wrappers: check and execute driver -> kernel calls.
class XpcHandler {
public:
    virtual ~XpcHandler() = default;
    // A synchronous call. An error means the call was rejected (a bad
    // parameter): the driver has failed.
    virtual Result<XpcReply> handle_call(IncomingCall const& call, ReplyPayload& reply) = 0;
    // A deferred call (no answer). An error means it was rejected.
    virtual Result<void> handle_deferred(IncomingCall const& call) = 0;
};

class XpcEndpoint {
public:
    struct Options {
        uint64_t livelock_ns { 3'000'000'000ull };
        unsigned spin_iterations { 2000 }; // only when the worker runs on another CPU
        uint64_t yield_poll_ns { 50'000 }; // when it shares the caller's CPU: yield to it this long before sleeping (0: sleep at once)
    };

    struct Stats {
        uint64_t calls { 0 };             // kernel -> driver synchronous calls
        uint64_t nested_calls { 0 };      // of which nested inside a driver -> kernel call
        uint64_t kernel_calls { 0 };      // driver -> kernel synchronous calls
        uint64_t deferred_in { 0 };       // driver -> kernel deferred calls executed
        uint64_t batches { 0 };           // of the calls, batches (call_batch with two or more)
        uint64_t batched { 0 };           // kernel -> driver calls those batches carried
        uint64_t wakeups { 0 };           // futex wakes sent to the domain
        uint64_t waits { 0 };             // times the kernel slept for the domain
        uint64_t call_ns { 0 };           // total time in synchronous calls
        std::array<uint64_t, abi::driver_entry_count> per_entry {};
        std::array<uint64_t, abi::kernel_call_count> per_kernel_call {};
    };

    XpcEndpoint(DomainMemory& memory, XpcHandler& handler, Options options, std::function<void(Error const&)> on_failure);
    ~XpcEndpoint();
    XpcEndpoint(XpcEndpoint const&) = delete;
    XpcEndpoint& operator=(XpcEndpoint const&) = delete;

    // Calls `entry` in the domain. `args` (exactly the entry's arguments
    // struct, see src/abi) is copied into the kernel half of the channel,
    // read-only for the driver. The reply is untrusted.
    Result<XpcReply> call(abi::DriverEntry entry, std::span<std::byte const> args);
    template<abi::DriverEntry Entry>
    Result<XpcReply> call(typename abi::DriverEntryTraits<Entry>::Args const& args)
    {
        return call(Entry, bytes_of(args));
    }

    // Calls `entry` once per element of `args`, in order, in as few crossings
    // as the channel holds (one for any batch the classes make: up to
    // abi::max_batch calls whose arguments fit a channel). results[i] is the
    // driver's answer to args[i], untrusted; `results` holds args.size() values.
    // An error (the driver failed) leaves `results` undefined: the caller
    // treats the whole batch as not done.
    template<abi::DriverEntry Entry>
    Result<void> call_batch(std::span<typename abi::DriverEntryTraits<Entry>::Args const> args, std::span<int64_t> results)
    {
        static_assert(abi::wire_size<typename abi::DriverEntryTraits<Entry>::Args> > 0);
        return call_batch(Entry, std::as_bytes(args), args.size(), results);
    }
    // The same, untyped: `packed` is `count` arguments structs back to back.
    Result<void> call_batch(abi::DriverEntry entry, std::span<std::byte const> packed, size_t count, std::span<int64_t> results);

    // While a GiveUpScope is alive on a thread, a call it makes that would
    // wait for a free channel returns Unavailable instead once `give_up` is
    // non-zero (an interrupt handler withdrawn by free_irq). Whoever sets the
    // flag calls wake_channel_waiters() after.
    class GiveUpScope {
    public:
        explicit GiveUpScope(std::atomic<unsigned> const& give_up);
        ~GiveUpScope();
        GiveUpScope(GiveUpScope const&) = delete;
        GiveUpScope& operator=(GiveUpScope const&) = delete;

    private:
        std::atomic<unsigned> const* m_previous;
    };
    void wake_channel_waiters();

    // The domain is gone or has failed: wake every waiter; every call fails from now on.
    void fail(Error const& cause);
    bool failed() const { return m_failed.load(std::memory_order_acquire); }

    Stats stats() const;

    // The wire bytes of an arguments struct (none for an empty one).
    template<typename Args>
    static std::span<std::byte const> bytes_of(Args const& args)
    {
        return { reinterpret_cast<std::byte const*>(&args), abi::wire_size<Args> };
    }

private:
    struct Channel {
        std::atomic<bool> busy { false };
        uint32_t cpu { 0 };
        uint32_t payload_top { 0 }; // bytes of the kernel payload area in use (owner thread only)
        // The domain's last message sequence this side has consumed. Per channel, not
        // per call: a nested exchange consumes messages its outer call must not see again.
        uint32_t domain_seen { 0 };
    };

    Result<unsigned> acquire_channel();
    void release_channel(unsigned index);
    // One crossing: `count` calls of `entry` (packed arguments, each args_size
    // bytes); the answers of a batch (count > 1) land in `results`.
    Result<XpcReply> crossing(abi::DriverEntry entry, std::span<std::byte const> packed, uint32_t count, std::span<int64_t> results);
    // Waits for the domain's answer on `index`, serving its calls meanwhile;
    // fills `answer` with the Return message.
    Result<XpcReply> exchange(unsigned channel, abi::Message& answer);
    Result<void> run_deferred_from_domain(unsigned channel, uint32_t count);
    Result<void> serve_call(unsigned channel, abi::Message const& message);
    Error failure(ErrorCode code, std::string message);

    DomainMemory& m_memory;
    XpcHandler& m_handler;
    Options m_options;
    std::function<void(Error const&)> m_on_failure;
    std::vector<Channel> m_channels;
    std::atomic<uint32_t> m_free_generation { 0 };
    std::atomic<bool> m_failed { false };

    // Counters, updated with relaxed atomics on the hot path.
    struct Counters {
        std::atomic<uint64_t> calls { 0 }, nested_calls { 0 }, kernel_calls { 0 }, deferred_in { 0 }, batches { 0 },
            batched { 0 }, wakeups { 0 }, waits { 0 }, call_ns { 0 };
        std::array<std::atomic<uint64_t>, abi::driver_entry_count> per_entry {};
        std::array<std::atomic<uint64_t>, abi::kernel_call_count> per_kernel_call {};
    };
    Counters m_counters;
};

} // namespace nk
