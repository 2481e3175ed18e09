// SPDX-License-Identifier: MIT
#include "nooks/runtime/Runtime.h"

#include "base/Clock.h"
#include "kernel/exec/Context.h"
#include "nooks/domain/SharedRegion.h"
#include "nooks/runtime/Entries.h"
#include "nooks/xpc/Futex.h"

#include <csignal>
#include <cstring>
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

namespace nk::runtime {

namespace {

thread_local int tls_channel = -1;
constexpr uint32_t payload_alignment = 64;
constexpr size_t signal_stack_size = 64 * 1024;

uint32_t align_up(uint64_t value) { return static_cast<uint32_t>((value + payload_alignment - 1) & ~uint64_t(payload_alignment - 1)); }

std::atomic<uint32_t> workers_started { 0 };

} // namespace

Runtime& Runtime::the()
{
    static Runtime runtime;
    return runtime;
}

int Runtime::current_channel() { return tls_channel; }

bool Runtime::map(uint64_t kernel_area_address, int kernel_fd, int domain_fd)
{
    // The bootstrap page says how big everything is; map a page of it first.
    auto first = map_shared_fd(kernel_fd, kernel_area_address, abi::page_size, false);
    if (!first)
        return false;
    auto const* bootstrap = static_cast<abi::Bootstrap const*>(*first);
    if (bootstrap->magic != abi::bootstrap_magic || bootstrap->version != abi::layout_version
        || bootstrap->slot_base + abi::kernel_area_offset != kernel_area_address || bootstrap->channel_count == 0
        || bootstrap->channel_count > abi::max_channels)
        return false;
    auto kernel_size = bootstrap->kernel_area_size;
    auto domain_size = bootstrap->domain_area_size;
    auto domain_address = bootstrap->slot_base + abi::domain_area_offset;
    ::munmap(*first, abi::page_size);

    auto kernel = map_shared_fd(kernel_fd, kernel_area_address, kernel_size, false);
    auto domain = map_shared_fd(domain_fd, domain_address, domain_size, true);
    if (!kernel || !domain)
        return false;
    m_kernel_area = static_cast<std::byte*>(*kernel);
    m_domain_area = static_cast<std::byte*>(*domain);
    m_bootstrap = reinterpret_cast<abi::Bootstrap const*>(m_kernel_area + abi::bootstrap_offset);
    m_header = reinterpret_cast<abi::DomainHeader*>(m_domain_area + abi::domain_header_offset);
    m_header->pid = static_cast<uint32_t>(::getpid());
    m_heap = std::make_unique<Heap>(m_domain_area + m_bootstrap->heap_offset, m_bootstrap->heap_size, m_header->heap);
    return true;
}

bool Runtime::start_workers()
{
    for (unsigned index = 0; index < m_bootstrap->channel_count; ++index) {
        auto* slot = m_domain_area + m_bootstrap->stacks_offset + index * m_bootstrap->stack_size;
        // [guard page][signal stack][thread stack]: an overflow hits the guard page.
        if (::mprotect(slot, abi::page_size, PROT_NONE) != 0)
            return false;
        auto* stack = slot + abi::page_size + signal_stack_size;
        auto stack_size = m_bootstrap->stack_size - abi::page_size - signal_stack_size;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setstack(&attributes, stack, stack_size);
        cpu_set_t cpus;
        CPU_ZERO(&cpus);
        auto const* kernel_channel = reinterpret_cast<abi::KernelChannel const*>(
            m_kernel_area + abi::kernel_channels_offset + index * abi::channel_size);
        CPU_SET(kernel_channel->cpu % std::max(1u, m_bootstrap->cpu_count), &cpus);
        // Pinned next to the kernel threads that use this channel: hand-offs stay on one CPU.
        if ((m_bootstrap->flags & abi::bootstrap_flag_unpinned) == 0)
            pthread_attr_setaffinity_np(&attributes, sizeof(cpus), &cpus);
        pthread_t thread {};
        struct Start {
            Runtime* runtime;
            unsigned index;
            std::byte* signal_stack;
        };
        auto* start = new Start { this, index, slot + abi::page_size };
        int created = pthread_create(&thread, &attributes, [](void* raw) -> void* {
            auto* start = static_cast<Start*>(raw);
            stack_t alternate {};
            alternate.ss_sp = start->signal_stack;
            alternate.ss_size = signal_stack_size;
            sigaltstack(&alternate, nullptr);
            auto* runtime = start->runtime;
            auto index = start->index;
            delete start;
            workers_started.fetch_add(1);
            runtime->worker(index);
            return nullptr;
        }, start);
        pthread_attr_destroy(&attributes);
        if (created != 0)
            return false;
        pthread_detach(thread);
    }
    // Everything a worker does before it waits (sigaltstack...) must happen before seccomp.
    while (workers_started.load() < m_bootstrap->channel_count)
        sched_yield();
    return true;
}

bool Runtime::bind_driver(void* handle)
{
    m_module = static_cast<nk_module const*>(::dlsym(handle, "nk_module"));
    if (m_module == nullptr)
        return false;
    Dl_info info {};
    if (::dladdr(m_module, &info) != 0)
        m_header->driver_base = reinterpret_cast<uint64_t>(info.dli_fbase);
    if (m_module->name != nullptr)
        std::strncpy(m_header->module_name, m_module->name, sizeof(m_header->module_name) - 1);
    return true;
}

void Runtime::ready()
{
    m_header->state.store(static_cast<uint32_t>(abi::DomainState::Ready), std::memory_order_release);
    m_ready.store(1, std::memory_order_release);
    xpc::futex_wake(m_ready, INT32_MAX);
}

void Runtime::die(abi::FaultKind kind, char const* message)
{
    auto& fault = m_header->fault;
    if (fault.kind.load() == 0) {
        std::strncpy(fault.message, message, sizeof(fault.message) - 1);
        fault.channel = static_cast<uint32_t>(tls_channel);
        fault.kind.store(static_cast<uint32_t>(kind), std::memory_order_release);
    }
    m_header->state.store(static_cast<uint32_t>(abi::DomainState::Faulted), std::memory_order_release);
    ::_exit(70);
}

// --- Channels ----------------------------------------------------------------

abi::Message Runtime::receive(unsigned channel)
{
    auto& kernel = *reinterpret_cast<abi::KernelChannel const*>(m_kernel_area + abi::kernel_channels_offset + channel * abi::channel_size);
    auto& domain = *reinterpret_cast<abi::DomainChannel*>(m_domain_area + abi::domain_channels_offset + channel * abi::channel_size);
    auto& state = m_channels[channel];
    auto& seq = const_cast<std::atomic<uint32_t>&>(kernel.seq);
    bool polled = false;
    for (;;) {
        auto current = seq.load(std::memory_order_acquire);
        if (current != state.kernel_seen) {
            state.kernel_seen = current;
            break;
        }
        // The kernel's next call often follows soon (a completion interrupt after a
        // submission): look for it a while, yielding the CPU, rather than sleep and
        // make the kernel pay a wake (a cross-CPU wake costs tens of µs in a VM).
        if (!polled && m_bootstrap->worker_poll_ns != 0) {
            polled = true;
            auto until = monotonic_ns() + m_bootstrap->worker_poll_ns;
            while (seq.load(std::memory_order_acquire) == state.kernel_seen && monotonic_ns() < until)
                ::sched_yield();
            continue;
        }
        domain.running.store(0, std::memory_order_relaxed);
        domain.waiting.store(1, std::memory_order_seq_cst);
        if (seq.load(std::memory_order_seq_cst) == state.kernel_seen)
            xpc::futex_wait(seq, state.kernel_seen, 0);
        domain.waiting.store(0, std::memory_order_relaxed);
        domain.running.store(1, std::memory_order_relaxed);
    }
    // The kernel has taken the deferred calls that came with our last message.
    state.deferred = 0;
    abi::Message message;
    std::memcpy(&message, &kernel.message, sizeof(message));
    return message;
}

void Runtime::send(unsigned channel, abi::Message& message)
{
    auto& kernel = *reinterpret_cast<abi::KernelChannel const*>(m_kernel_area + abi::kernel_channels_offset + channel * abi::channel_size);
    auto& domain = *reinterpret_cast<abi::DomainChannel*>(m_domain_area + abi::domain_channels_offset + channel * abi::channel_size);
    message.deferred = m_channels[channel].deferred;
    domain.message = message;
    domain.seq.fetch_add(1, std::memory_order_seq_cst);
    if (kernel.waiting.load(std::memory_order_seq_cst) != 0)
        xpc::futex_wake(domain.seq);
}

void Runtime::worker(unsigned channel)
{
    tls_channel = static_cast<int>(channel);
    while (m_ready.load(std::memory_order_acquire) == 0)
        xpc::futex_wait(m_ready, 0, 0);
    // kernel_seen starts at 0, the sequence of a fresh channel: the kernel may
    // send the first call the moment the domain is ready, before this line runs.
    for (;;) {
        auto message = receive(channel);
        if (message.kind != static_cast<uint32_t>(abi::MessageKind::Call))
            die(abi::FaultKind::RuntimeError, "protocol violation: the kernel sent a reply with no call outstanding");
        auto answer = dispatch(channel, message);
        send(channel, answer);
    }
}

abi::Message Runtime::dispatch(unsigned channel, abi::Message const& message)
{
    auto const& kernel = *reinterpret_cast<abi::KernelChannel const*>(m_kernel_area + abi::kernel_channels_offset + channel * abi::channel_size);
    auto& domain = *reinterpret_cast<abi::DomainChannel*>(m_domain_area + abi::domain_channels_offset + channel * abi::channel_size);
    auto const entry = static_cast<abi::DriverEntry>(message.id);
    uint64_t const count = message.batch > 1 ? message.batch : 1;
    uint64_t const stride = align_up(message.payload_size);
    if (count > abi::max_batch || message.payload_offset > sizeof(kernel.payload)
        || (count - 1) * stride + message.payload_size > sizeof(kernel.payload) - message.payload_offset)
        die(abi::FaultKind::RuntimeError, "the kernel sent arguments outside the channel");
    abi::Message answer {};
    answer.kind = static_cast<uint32_t>(abi::MessageKind::Return);
    answer.id = message.id;
    // The arguments stay where the kernel wrote them: read-only here, so the
    // driver's view of them (a request) cannot be changed by the driver.
    auto const* args = kernel.payload + message.payload_offset;
    if (count == 1) {
        answer.result = run_entry(entry, args, message.payload_size);
        return answer;
    }
    // A batch: the calls run back to back on this worker, so whatever the
    // driver posts while running them leaves with this one answer, in order.
    // The answers go above this worker's frames (its nested kernel calls use the rest).
    auto& state = m_channels[channel];
    auto const frame = state.payload_top;
    auto const bytes = count * sizeof(int64_t);
    if (frame + align_up(bytes) > sizeof(domain.payload))
        die(abi::FaultKind::RuntimeError, "the answers to a batch do not fit the channel (nesting too deep?)");
    state.payload_top = frame + align_up(bytes);
    for (uint64_t i = 0; i < count; ++i) {
        int64_t result = run_entry(entry, args + i * stride, message.payload_size);
        std::memcpy(domain.payload + frame + i * sizeof(int64_t), &result, sizeof(result));
        answer.result = result;
    }
    state.payload_top = frame;
    answer.payload_offset = frame;
    answer.payload_size = static_cast<uint32_t>(bytes);
    return answer;
}

KernelReply Runtime::call(abi::KernelCall id, std::span<std::byte const> args, std::span<std::byte> reply)
{
    int channel = tls_channel;
    if (channel < 0)
        die(abi::FaultKind::RuntimeError, "kernel API called outside a domain worker");
    auto& state = m_channels[static_cast<unsigned>(channel)];
    auto& domain = *reinterpret_cast<abi::DomainChannel*>(m_domain_area + abi::domain_channels_offset + unsigned(channel) * abi::channel_size);
    auto const& kernel = *reinterpret_cast<abi::KernelChannel const*>(m_kernel_area + abi::kernel_channels_offset + unsigned(channel) * abi::channel_size);

    auto frame = state.payload_top;
    if (frame + align_up(args.size()) > sizeof(domain.payload))
        die(abi::FaultKind::RuntimeError, "kernel call arguments do not fit the channel (nesting too deep?)");
    if (!args.empty())
        std::memcpy(domain.payload + frame, args.data(), args.size());
    abi::Message message {};
    message.kind = static_cast<uint32_t>(abi::MessageKind::Call);
    message.id = static_cast<uint32_t>(id);
    message.payload_offset = frame;
    message.payload_size = static_cast<uint32_t>(args.size());
    state.payload_top = frame + align_up(args.size());
    send(static_cast<unsigned>(channel), message);

    for (;;) {
        auto incoming = receive(static_cast<unsigned>(channel));
        if (incoming.kind == static_cast<uint32_t>(abi::MessageKind::Return)) {
            KernelReply result { incoming.result, incoming.result_word, 0 };
            if (incoming.payload_size > 0 && incoming.payload_offset <= sizeof(kernel.payload)
                && incoming.payload_size <= sizeof(kernel.payload) - incoming.payload_offset) {
                result.payload_size = std::min<size_t>(incoming.payload_size, reply.size());
                std::memcpy(reply.data(), kernel.payload + incoming.payload_offset, result.payload_size);
            }
            state.payload_top = frame;
            return result;
        }
        if (incoming.kind != static_cast<uint32_t>(abi::MessageKind::Call))
            die(abi::FaultKind::RuntimeError, "protocol violation on a channel");
        // The kernel calls back into the driver while serving our call: nest.
        auto answer = dispatch(static_cast<unsigned>(channel), incoming);
        send(static_cast<unsigned>(channel), answer);
    }
}

void Runtime::defer(abi::KernelCall id, std::span<std::byte const> args)
{
    int channel = tls_channel;
    if (channel < 0)
        die(abi::FaultKind::RuntimeError, "kernel API called outside a domain worker");
    auto& state = m_channels[static_cast<unsigned>(channel)];
    if (state.deferred == abi::deferred_capacity)
        call<abi::KernelCall::flush>({}); // carries the full queue; the kernel empties it
    auto& domain = *reinterpret_cast<abi::DomainChannel*>(m_domain_area + abi::domain_channels_offset + unsigned(channel) * abi::channel_size);
    auto& entry = domain.deferred[state.deferred++];
    entry.id = static_cast<uint32_t>(id);
    entry.size = static_cast<uint32_t>(args.size());
    if (!args.empty())
        std::memcpy(entry.args, args.data(), args.size());
}

// --- Tables ------------------------------------------------------------------

uint64_t Runtime::function_handle(void const* function)
{
    if (function == nullptr)
        return 0;
    MutexLocker lock(m_functions_mutex);
    for (size_t i = 0; i < m_functions.size(); ++i) {
        if (m_functions[i] == function)
            return i + 1;
    }
    m_functions.push_back(function);
    return m_functions.size();
}

void* Runtime::function(uint64_t handle)
{
    MutexLocker lock(m_functions_mutex);
    if (handle == 0 || handle > m_functions.size())
        return nullptr;
    return const_cast<void*>(m_functions[handle - 1]);
}

void Runtime::remember(uint64_t handle, void* value)
{
    MutexLocker lock(m_cache_mutex);
    m_cache[handle] = value;
}

void Runtime::forget(uint64_t handle)
{
    MutexLocker lock(m_cache_mutex);
    m_cache.erase(handle);
}

void* Runtime::recall(uint64_t handle)
{
    MutexLocker lock(m_cache_mutex);
    auto it = m_cache.find(handle);
    return it != m_cache.end() ? it->second : nullptr;
}

void Runtime::register_lock(void const* lock, uint32_t kind)
{
    auto count = m_header->lock_count.load(std::memory_order_relaxed);
    for (uint32_t i = 0; i < std::min(count, abi::lock_table_capacity); ++i) {
        if (m_header->locks[i].address == reinterpret_cast<uint64_t>(lock))
            return;
    }
    auto index = m_header->lock_count.fetch_add(1, std::memory_order_relaxed);
    if (index < abi::lock_table_capacity) {
        m_header->locks[index].address = reinterpret_cast<uint64_t>(lock);
        m_header->locks[index].kind = kind;
    }
}

} // namespace nk::runtime
