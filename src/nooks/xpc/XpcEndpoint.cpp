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
{
    auto cpus = std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < m_channels.size(); ++i) {
        m_channels[i].cpu = i % cpus;
        m_memory.kernel_channel(i).cpu = m_channels[i].cpu;
    }
    m_memory.bootstrap().cpu_count = cpus;
}

XpcEndpoint::~XpcEndpoint() = default;

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
    if (args.size() != abi::args_size_of(entry))
        return make_error(ErrorCode::Internal, "xpc {}: {} bytes of arguments, the entry takes {}", abi::name_of(entry), args.size(),
            abi::args_size_of(entry));
    return crossing(entry, args, 1, {});
}

Result<void> XpcEndpoint::call_batch(abi::DriverEntry entry, std::span<std::byte const> packed, size_t count, std::span<int64_t> results)
{
    auto const size = abi::args_size_of(entry);
    if (size == 0 || packed.size() != count * size || results.size() < count)
        return make_error(ErrorCode::Internal, "xpc batch of {}: {} bytes of arguments for {} calls of {} bytes, {} answers", abi::name_of(entry),
            packed.size(), count, size, results.size());
    // As many calls per crossing as the channel's payload holds (and the domain takes).
    auto const stride = align_up(size);
    size_t const per_crossing = std::min<size_t>(abi::max_batch, (sizeof(abi::KernelChannel::payload) / 2) / stride);
    for (size_t done = 0; done < count;) {
        auto n = std::min(per_crossing, count - done);
        if (n == 1) {
            results[done] = TRY(crossing(entry, packed.subspan(done * size, size), 1, {})).result;
        } else {
            TRY(crossing(entry, packed.subspan(done * size, n * size), static_cast<uint32_t>(n), results.subspan(done, n)));
        }
        done += n;
    }
    return {};
}

Result<XpcReply> XpcEndpoint::crossing(abi::DriverEntry entry, std::span<std::byte const> packed, uint32_t count, std::span<int64_t> results)
{
    if (failed())
        return make_error(ErrorCode::DriverFailed, "driver has failed");
    auto const size = abi::args_size_of(entry);

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
    auto const stride = align_up(size);
    auto const frame_size = align_up(uint64_t(stride) * count);
    if (uint64_t(frame) + frame_size > sizeof(kernel.payload)) {
        if (!nested)
            release_channel(index);
        return make_error(ErrorCode::ResourceExhausted, "xpc {}: payload area full (nesting too deep)", abi::name_of(entry));
    }

    auto start = monotonic_ns();
    bump(m_counters.calls);
    bump(m_counters.per_entry[static_cast<unsigned>(entry)], count);
    if (nested)
        bump(m_counters.nested_calls);
    if (count > 1) {
        bump(m_counters.batches);
        bump(m_counters.batched, count);
    }

    abi::Message message {};
    message.kind = static_cast<uint32_t>(abi::MessageKind::Call);
    message.id = static_cast<uint32_t>(entry);
    message.payload_offset = frame;
    message.payload_size = static_cast<uint32_t>(size);
    message.batch = count > 1 ? count : 0;
    for (uint32_t i = 0; i < count; ++i)
        std::memcpy(kernel.payload + frame + uint64_t(i) * stride, packed.data() + uint64_t(i) * size, size);
    message.depth = static_cast<uint32_t>(active_channels.size());
    channel.payload_top = frame + frame_size;

    kernel.message = message;
    kernel.seq.fetch_add(1, std::memory_order_seq_cst);
    if (domain.waiting.load(std::memory_order_seq_cst) != 0) {
        xpc::futex_wake(kernel.seq);
        bump(m_counters.wakeups);
    }

    active_channels.push_back({ this, index });
    abi::Message answer {};
    auto reply = exchange(index, answer);
    if (reply && count > 1) {
        // The answers, copied out of the domain's half before anything looks at them.
        auto const bytes = uint64_t(count) * sizeof(int64_t);
        if (answer.payload_size != bytes || answer.payload_offset > sizeof(domain.payload) || bytes > sizeof(domain.payload) - answer.payload_offset) {
            reply = std::unexpected(failure(ErrorCode::Internal,
                fmt::format("protocol violation: the answers to a batch of {} {} are not where the reply says", count, abi::name_of(entry))));
        } else {
            std::memcpy(results.data(), domain.payload + answer.payload_offset, bytes);
        }
    }
    active_channels.pop_back();
    channel.payload_top = frame;
    if (!nested)
        release_channel(index);
    bump(m_counters.call_ns, monotonic_ns() - start);
    return reply;
}

// Waits for the domain's answer on `index`, serving its calls meanwhile.
Result<XpcReply> XpcEndpoint::exchange(unsigned index, abi::Message& answer)
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
            answer = message;
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

XpcEndpoint::Stats XpcEndpoint::stats() const
{
    Stats stats;
    auto load = [](std::atomic<uint64_t> const& counter) { return counter.load(std::memory_order_relaxed); };
    stats.calls = load(m_counters.calls);
    stats.nested_calls = load(m_counters.nested_calls);
    stats.kernel_calls = load(m_counters.kernel_calls);
    stats.deferred_in = load(m_counters.deferred_in);
    stats.batches = load(m_counters.batches);
    stats.batched = load(m_counters.batched);
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
