// SPDX-License-Identifier: MIT
#include "nooks/xpc/XpcEndpoint.h"

#include "base/Clock.h"
#include "nooks/domain/DomainMemory.h"
#include "nooks/domain/Layout.h"
#include "nooks/xpc/Futex.h"

#include <cstring>
#include <sched.h>

namespace nk {

namespace {

// The channels this thread is using, innermost last: a call made while serving
// a domain's call on a channel must go back through that same channel.
struct ActiveChannel {
    XpcEndpoint const* endpoint;
    unsigned channel;
};
thread_local std::vector<ActiveChannel> active_channels;

constexpr uint32_t payload_alignment = 64;

uint32_t align_up(uint64_t value) { return static_cast<uint32_t>((value + payload_alignment - 1) & ~uint64_t(payload_alignment - 1)); }

void bump(std::atomic<uint64_t>& counter, uint64_t by = 1) { counter.fetch_add(by, std::memory_order_relaxed); }

} // namespace

XpcEndpoint::XpcEndpoint(DomainMemory& memory, XpcHandler& handler, Options options, std::function<void(Error const&)> on_failure)
    : m_memory(memory)
    , m_handler(handler)
    , m_options(options)
    , m_on_failure(std::move(on_failure))
    , m_channels(memory.geometry().channels)
    , m_uncollected(abi::kernel_deferred_capacity, false)
{
    auto cpus = std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < m_channels.size(); ++i) {
        m_channels[i].cpu = i % cpus;
        m_memory.kernel_channel(i).cpu = m_channels[i].cpu;
    }
    m_memory.bootstrap().cpu_count = cpus;
}

XpcEndpoint::~XpcEndpoint()
{
    {
        MutexLocker lock(m_defer_mutex);
        m_stopping = true;
    }
    m_defer_changed.notify_all();
    if (m_flusher.joinable())
        m_flusher.join();
}

void XpcEndpoint::start()
{
    if (!m_flusher.joinable())
        m_flusher = std::thread([this] { flusher(); });
}

Error XpcEndpoint::failure(ErrorCode code, std::string message)
{
    Error error(code, std::move(message));
    if (!m_failed.load(std::memory_order_acquire) && m_on_failure)
        m_on_failure(error);
    fail(error);
    return error;
}

void XpcEndpoint::fail(Error const&)
{
    if (m_failed.exchange(true, std::memory_order_acq_rel))
        return;
    // Wake every kernel thread waiting for the domain: they see m_failed.
    for (unsigned i = 0; i < m_channels.size(); ++i) {
        m_memory.domain_channel(i).seq.fetch_add(1, std::memory_order_seq_cst);
        xpc::futex_wake(m_memory.domain_channel(i).seq, 64);
    }
    m_free_generation.fetch_add(1, std::memory_order_release);
    m_free_generation.notify_all();
    m_defer_changed.notify_all();
}

namespace {

thread_local std::atomic<unsigned> const* t_give_up = nullptr;

} // namespace

XpcEndpoint::GiveUpScope::GiveUpScope(std::atomic<unsigned> const& give_up)
    : m_previous(std::exchange(t_give_up, &give_up))
{
}

XpcEndpoint::GiveUpScope::~GiveUpScope() { t_give_up = m_previous; }

void XpcEndpoint::wake_channel_waiters()
{
    m_free_generation.fetch_add(1, std::memory_order_release);
    m_free_generation.notify_all();
}

Result<unsigned> XpcEndpoint::acquire_channel()
{
    for (;;) {
        if (failed())
            return make_error(ErrorCode::DriverFailed, "driver has failed");
        // The generation before the flag: a give-up after this read changes it.
        auto generation = m_free_generation.load(std::memory_order_acquire);
        if (t_give_up != nullptr && t_give_up->load(std::memory_order_acquire) != 0)
            return make_error(ErrorCode::Unavailable, "gave up waiting for a channel (the handler is being withdrawn)");
        unsigned cpu = static_cast<unsigned>(std::max(0, ::sched_getcpu()));
        // First a worker awake on another CPU (it is polling for a call: the
        // hand-off is a cache-line exchange, no switch, no wake); then one pinned
        // here (a local context switch); then any.
        for (int pass = 0; pass < 3; ++pass) {
            for (unsigned i = 0; i < m_channels.size(); ++i) {
                auto& channel = m_channels[i];
                if (pass == 0 && (channel.cpu == cpu || m_memory.domain_channel(i).running.load(std::memory_order_relaxed) == 0))
                    continue;
                if (pass == 1 && channel.cpu != cpu)
                    continue;
                bool expected = false;
                if (!channel.busy.load(std::memory_order_relaxed)
                    && channel.busy.compare_exchange_strong(expected, true, std::memory_order_acquire))
                    return i;
            }
        }
        m_free_generation.wait(generation, std::memory_order_acquire);
    }
}

void XpcEndpoint::release_channel(unsigned index)
{
    m_channels[index].busy.store(false, std::memory_order_release);
    m_free_generation.fetch_add(1, std::memory_order_release);
    m_free_generation.notify_one();
}

Result<XpcReply> XpcEndpoint::call(abi::DriverEntry entry, std::span<std::byte const> args)
{
    if (failed())
        return make_error(ErrorCode::DriverFailed, "driver has failed");
    if (args.size() != abi::args_size_of(entry))
        return make_error(ErrorCode::Internal, "xpc {}: {} bytes of arguments, the entry takes {}", abi::name_of(entry), args.size(),
            abi::args_size_of(entry));

    // Nested inside a call the domain made on one of our channels: reuse it.
    bool nested = false;
    unsigned index = 0;
    for (auto it = active_channels.rbegin(); it != active_channels.rend(); ++it) {
        if (it->endpoint == this) {
            nested = true;
            index = it->channel;
            break;
        }
    }
    if (!nested)
        index = TRY(acquire_channel());

    auto& channel = m_channels[index];
    auto& kernel = m_memory.kernel_channel(index);
    auto& domain = m_memory.domain_channel(index);
    auto const frame = channel.payload_top;
    auto const frame_size = align_up(args.size());
    if (frame + frame_size > sizeof(kernel.payload)) {
        if (!nested)
            release_channel(index);
        return make_error(ErrorCode::ResourceExhausted, "xpc {}: payload area full (nesting too deep)", abi::name_of(entry));
    }

    auto start = monotonic_ns();
    bump(m_counters.calls);
    bump(m_counters.per_entry[static_cast<unsigned>(entry)]);
    if (nested)
        bump(m_counters.nested_calls);

    abi::Message message {};
    message.kind = static_cast<uint32_t>(abi::MessageKind::Call);
    message.id = static_cast<uint32_t>(entry);
    message.payload_offset = frame;
    message.payload_size = static_cast<uint32_t>(args.size());
    if (!args.empty())
        std::memcpy(kernel.payload + frame, args.data(), args.size());
    message.depth = static_cast<uint32_t>(active_channels.size());
    channel.payload_top = frame + frame_size;

    kernel.message = message;
    kernel.seq.fetch_add(1, std::memory_order_seq_cst);
    if (domain.waiting.load(std::memory_order_seq_cst) != 0) {
        xpc::futex_wake(kernel.seq);
        bump(m_counters.wakeups);
    }

    active_channels.push_back({ this, index });
    auto reply = exchange(index);
    active_channels.pop_back();
    channel.payload_top = frame;
    if (!nested)
        release_channel(index);
    bump(m_counters.call_ns, monotonic_ns() - start);
    return reply;
}

// Waits for the domain's answer on `index`, serving its calls meanwhile.
Result<XpcReply> XpcEndpoint::exchange(unsigned index)
{
    auto& kernel = m_memory.kernel_channel(index);
    auto& domain = m_memory.domain_channel(index);
    auto& seen = m_channels[index].domain_seen;
    unsigned const my_cpu = static_cast<unsigned>(std::max(0, ::sched_getcpu()));
    auto deadline = monotonic_ns() + m_options.livelock_ns;

    for (;;) {
        auto current = domain.seq.load(std::memory_order_acquire);
        if (current == seen) {
            // Spinning only helps when the worker runs on another CPU right now.
            if (m_channels[index].cpu != my_cpu && domain.running.load(std::memory_order_relaxed) != 0) {
                for (unsigned i = 0; i < m_options.spin_iterations && current == seen; ++i) {
                    xpc::cpu_relax();
                    current = domain.seq.load(std::memory_order_acquire);
                }
            } else if (m_channels[index].cpu == my_cpu && m_options.yield_poll_ns != 0) {
                // The worker shares this CPU: hand it the CPU (a yield is a direct
                // switch when it is the only other runnable thread) and look again,
                // rather than sleep and make it pay a wake to answer.
                auto until = monotonic_ns() + m_options.yield_poll_ns;
                while (current == seen && !failed() && monotonic_ns() < until) {
                    ::sched_yield();
                    current = domain.seq.load(std::memory_order_acquire);
                }
            }
        }
        while (current == seen) {
            if (failed())
                return make_error(ErrorCode::DriverFailed, "driver has failed");
            auto now = monotonic_ns();
            if (now >= deadline) {
                return std::unexpected(failure(ErrorCode::DeadlineExceeded, fmt::format("the driver did not answer for {} ms (channel {})",
                    m_options.livelock_ns / 1'000'000, index)));
            }
            kernel.waiting.store(1, std::memory_order_seq_cst);
            current = domain.seq.load(std::memory_order_seq_cst);
            if (current == seen) {
                bump(m_counters.waits);
                xpc::futex_wait(domain.seq, seen, std::min<uint64_t>(deadline - now, 100'000'000ull));
                current = domain.seq.load(std::memory_order_acquire);
            }
            kernel.waiting.store(0, std::memory_order_relaxed);
        }
        if (failed())
            return make_error(ErrorCode::DriverFailed, "driver has failed");
        seen = current;

        // Copy the message out of shared memory before looking at it.
        abi::Message message;
        std::memcpy(&message, &domain.message, sizeof(message));
        TRY(run_deferred_from_domain(index, message.deferred));

        switch (static_cast<abi::MessageKind>(message.kind)) {
        case abi::MessageKind::Return:
            return XpcReply { message.result, message.result_word };
        case abi::MessageKind::Call:
            TRY(serve_call(index, message));
            deadline = monotonic_ns() + m_options.livelock_ns;
            break;
        default:
            return std::unexpected(failure(ErrorCode::Internal, fmt::format("protocol violation: message kind {} on channel {}", message.kind, index)));
        }
    }
}

Result<void> XpcEndpoint::run_deferred_from_domain(unsigned index, uint32_t count)
{
    if (count == 0)
        return {};
    if (count > abi::deferred_capacity)
        return std::unexpected(failure(ErrorCode::Internal, fmt::format("protocol violation: {} deferred calls (at most {})", count, abi::deferred_capacity)));
    auto& domain = m_memory.domain_channel(index);
    for (uint32_t i = 0; i < count; ++i) {
        // Copied out of shared memory before anything looks at it.
        abi::DeferredCall entry;
        std::memcpy(&entry, &domain.deferred[i], sizeof(entry));
        auto id = static_cast<abi::KernelCall>(entry.id);
        if (!abi::valid(id) || abi::delivery_of(id) != abi::Delivery::Deferred)
            return std::unexpected(failure(ErrorCode::Internal, fmt::format("protocol violation: deferred call id {}", entry.id)));
        if (entry.size > sizeof(entry.args))
            return std::unexpected(failure(ErrorCode::Internal, fmt::format("protocol violation: {} with {} bytes of arguments", abi::name_of(id), entry.size)));
        bump(m_counters.deferred_in);
        bump(m_counters.per_kernel_call[entry.id]);
        IncomingCall call { id, std::span<std::byte const>(entry.args, entry.size), index };
        auto handled = m_handler.handle_deferred(call);
        if (!handled)
            return std::unexpected(failure(handled.error().code(), handled.error().message()));
    }
    return {};
}

Result<void> XpcEndpoint::serve_call(unsigned index, abi::Message const& message)
{
    auto& kernel = m_memory.kernel_channel(index);
    auto& domain = m_memory.domain_channel(index);
    auto id = static_cast<abi::KernelCall>(message.id);
    if (!abi::valid(id) || abi::delivery_of(id) != abi::Delivery::Sync)
        return std::unexpected(failure(ErrorCode::Internal, fmt::format("protocol violation: call id {}", message.id)));
    if (message.payload_offset > sizeof(domain.payload) || message.payload_size > sizeof(domain.payload) - message.payload_offset)
        return std::unexpected(failure(ErrorCode::Internal, fmt::format("{}: arguments outside the channel", abi::name_of(id))));

    // The arguments stay in shared memory until the wrapper decodes them: it
    // copies them into a typed struct once, then checks the copy.
    IncomingCall call { id, std::span<std::byte const>(domain.payload + message.payload_offset, message.payload_size), index };
    bump(m_counters.kernel_calls);
    bump(m_counters.per_kernel_call[message.id]);

    auto& channel = m_channels[index];
    auto const frame = channel.payload_top;
    ReplyPayload reply_payload { std::span(kernel.payload + frame, sizeof(kernel.payload) - frame) };
    auto reply = m_handler.handle_call(call, reply_payload);
    if (!reply)
        return std::unexpected(failure(reply.error().code(), reply.error().message()));
    if (failed())
        return make_error(ErrorCode::DriverFailed, "driver has failed");

    abi::Message answer {};
    answer.kind = static_cast<uint32_t>(abi::MessageKind::Return);
    answer.id = message.id;
    answer.result = reply->result;
    answer.result_word = reply->word;
    answer.payload_offset = frame;
    answer.payload_size = static_cast<uint32_t>(reply_payload.size);
    kernel.message = answer;
    kernel.seq.fetch_add(1, std::memory_order_seq_cst);
    if (domain.waiting.load(std::memory_order_seq_cst) != 0) {
        xpc::futex_wake(kernel.seq);
        bump(m_counters.wakeups);
    }
    return {};
}

Result<uint64_t> XpcEndpoint::defer(abi::DriverEntry entry, std::span<std::byte const> args)
{
    if (failed())
        return make_error(ErrorCode::DriverFailed, "driver has failed");
    if (args.size() != abi::args_size_of(entry))
        return make_error(ErrorCode::Internal, "xpc defer {}: {} bytes of arguments, the entry takes {}", abi::name_of(entry), args.size(),
            abi::args_size_of(entry));
    auto& ring = m_memory.kernel_deferred();
    uint64_t sequence = 0;
    {
        MutexLocker lock(m_defer_mutex);
        auto slot = m_defer_tail % abi::kernel_deferred_capacity;
        auto consumed = m_memory.header().kernel_deferred_head.load(std::memory_order_acquire);
        if (m_uncollected[slot] || m_defer_tail - std::min(consumed, m_defer_tail) >= abi::kernel_deferred_capacity) {
            // Full: make the domain run what is queued; results not collected yet are dropped.
            lock.unlock();
            TRY(call(abi::DriverEntry::flush, {}));
            lock.lock();
            m_uncollected[slot] = false;
        }
        sequence = ++m_defer_tail;
        auto& out = ring.entries[slot];
        out.sequence = sequence;
        out.id = static_cast<uint32_t>(entry);
        out.size = static_cast<uint32_t>(args.size());
        if (!args.empty())
            std::memcpy(out.args, args.data(), args.size());
        m_uncollected[slot] = true;
        ring.tail.store(sequence, std::memory_order_release);
    }
    bump(m_counters.deferred_out);
    m_defer_changed.notify_one();
    return sequence;
}

Result<int64_t> XpcEndpoint::collect(uint64_t sequence)
{
    MutexLocker lock(m_defer_mutex);
    auto consumed = m_memory.header().kernel_deferred_head.load(std::memory_order_acquire);
    auto slot = (sequence - 1) % abi::kernel_deferred_capacity;
    if (sequence == 0 || sequence > consumed || !m_uncollected[slot])
        return make_error(ErrorCode::FailedPrecondition, "deferred call {} has not run", sequence);
    m_uncollected[slot] = false;
    return m_memory.header().kernel_deferred_results[slot];
}

void XpcEndpoint::flusher()
{
    MutexLocker lock(m_defer_mutex);
    while (!m_stopping && !failed()) {
        auto consumed = m_memory.header().kernel_deferred_head.load(std::memory_order_acquire);
        if (consumed >= m_defer_tail) {
            m_defer_changed.wait_for(lock, std::chrono::milliseconds(100));
            continue;
        }
        // Something is queued: give the next crossing the bounded delay to take it.
        auto pending = m_defer_tail;
        m_defer_changed.wait_for(lock, std::chrono::nanoseconds(m_options.defer_bound_ns));
        if (m_stopping || failed())
            break;
        if (m_memory.header().kernel_deferred_head.load(std::memory_order_acquire) >= pending)
            continue;
        lock.unlock();
        bump(m_counters.forced_flushes);
        (void)call(abi::DriverEntry::flush, {});
        lock.lock();
    }
}

XpcEndpoint::Stats XpcEndpoint::stats() const
{
    Stats stats;
    auto load = [](std::atomic<uint64_t> const& counter) { return counter.load(std::memory_order_relaxed); };
    stats.calls = load(m_counters.calls);
    stats.nested_calls = load(m_counters.nested_calls);
    stats.kernel_calls = load(m_counters.kernel_calls);
    stats.deferred_in = load(m_counters.deferred_in);
    stats.deferred_out = load(m_counters.deferred_out);
    stats.forced_flushes = load(m_counters.forced_flushes);
    stats.wakeups = load(m_counters.wakeups);
    stats.waits = load(m_counters.waits);
    stats.call_ns = load(m_counters.call_ns);
    for (unsigned i = 0; i < abi::driver_entry_count; ++i)
        stats.per_entry[i] = load(m_counters.per_entry[i]);
    for (unsigned i = 0; i < abi::kernel_call_count; ++i)
        stats.per_kernel_call[i] = load(m_counters.per_kernel_call[i]);
    return stats;
}

} // namespace nk
