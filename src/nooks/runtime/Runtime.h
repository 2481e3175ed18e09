// SPDX-License-Identifier: MIT
#pragma once

// The protection domain's runtime: what runs in the domain process besides the
// driver. It owns the domain's side of every XPC channel (one worker thread per
// channel), the driver's heap, the table of driver functions the kernel may
// name, and the stubs that turn the driver's nk_* calls into messages.
//
// Threads: driver code only ever runs on the channel workers, on behalf of a
// kernel thread waiting on the other end. A worker's channel is thread-local;
// a driver -> kernel call goes out on the calling worker's channel.

#include "base/Mutex.h"
#include "nooks/domain/Layout.h"
#include "nooks/runtime/Heap.h"

#include <nooks/kernel.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <vector>

namespace nk::runtime {

struct KernelReply {
    int64_t result { 0 };
    uint64_t word { 0 };
    size_t payload_size { 0 }; // bytes copied into the caller's reply buffer
};

class Runtime {
public:
    static Runtime& the();

    // Maps the domain (fd 3 = kernel area, fd 4 = domain area; the kernel area
    // address is argv[1]). Does not load the driver.
    bool map(uint64_t kernel_area_address, int kernel_fd, int domain_fd);
    // Starts the channel workers (they wait until ready()).
    bool start_workers();
    // Resolves nk_module in the loaded driver and records its load address.
    bool bind_driver(void* handle);
    // Lets the workers serve calls.
    void ready();
    // Ends the domain with a fault record (the kernel reads it).
    [[noreturn]] void die(abi::FaultKind kind, char const* message);

    abi::Bootstrap const& bootstrap() const { return *m_bootstrap; }
    abi::DomainHeader& header() const { return *m_header; }
    Heap& heap() { return *m_heap; }
    nk_module const* module() const { return m_module; }

    // Driver -> kernel, synchronous: `args` is the call's arguments struct
    // (src/abi). The reply payload (if any) is copied into `reply`.
    template<abi::KernelCall Call>
    KernelReply call(typename abi::KernelCallTraits<Call>::Args const& args, std::span<std::byte> reply = {})
    {
        static_assert(abi::KernelCallTraits<Call>::delivery == abi::Delivery::Sync);
        return call(Call, bytes_of(args), reply);
    }
    // Driver -> kernel, deferred to the next message on this channel.
    template<abi::KernelCall Call>
    void defer(typename abi::KernelCallTraits<Call>::Args const& args)
    {
        static_assert(abi::KernelCallTraits<Call>::delivery == abi::Delivery::Deferred);
        defer(Call, bytes_of(args));
    }

    // Driver functions the kernel may name by handle (never by address).
    uint64_t function_handle(void const* function);
    void* function(uint64_t handle);

    // Small caches of driver-private pointers the kernel stores for the driver:
    // answered locally, so nk_blk_disk_private() in a fast path costs no crossing.
    void remember(uint64_t handle, void* value);
    void forget(uint64_t handle);
    void* recall(uint64_t handle);

    // Records an initialized lock so the kernel can list (and report held) locks.
    void register_lock(void const* lock, uint32_t kind);

    // The channel of the calling worker, or -1 outside the workers.
    static int current_channel();

private:
    Runtime() = default;
    template<typename Args>
    static std::span<std::byte const> bytes_of(Args const& args)
    {
        return { reinterpret_cast<std::byte const*>(&args), abi::wire_size<Args> };
    }
    KernelReply call(abi::KernelCall id, std::span<std::byte const> args, std::span<std::byte> reply);
    void defer(abi::KernelCall id, std::span<std::byte const> args);
    void worker(unsigned channel);
    // Waits for the kernel's next message on `channel`; returns it (copied).
    abi::Message receive(unsigned channel);
    void send(unsigned channel, abi::Message& message);
    KernelReply handle_kernel_call_while_waiting(unsigned channel, abi::Message const& message);
    // Runs the kernel's call (or batch of calls) and returns the answer to send.
    abi::Message dispatch(unsigned channel, abi::Message const& message);

    abi::Bootstrap const* m_bootstrap { nullptr };
    abi::DomainHeader* m_header { nullptr };
    std::byte* m_kernel_area { nullptr };
    std::byte* m_domain_area { nullptr };
    std::unique_ptr<Heap> m_heap;
    nk_module const* m_module { nullptr };

    struct ChannelState {
        uint32_t kernel_seen { 0 };
        uint32_t payload_top { 0 };
        uint32_t deferred { 0 };
    };
    std::array<ChannelState, abi::max_channels> m_channels {};
    std::atomic<uint32_t> m_ready { 0 };

    Mutex m_functions_mutex;
    std::vector<void const*> m_functions NK_GUARDED_BY(m_functions_mutex);

    Mutex m_cache_mutex;
    std::map<uint64_t, void*> m_cache NK_GUARDED_BY(m_cache_mutex);
};

} // namespace nk::runtime
