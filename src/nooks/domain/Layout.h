// SPDX-License-Identifier: MIT
#pragma once

// The memory a protection domain shares with the kernel, mapped at the same
// addresses in both processes. Two areas per domain:
//
//   kernel area  written by the kernel; read-only in the domain
//       Bootstrap            what the domain needs to start
//       KernelChannel[n]     the kernel's half of each XPC channel: its message
//                            and the payload it passes by value (request copies,
//                            the arguments of a batch)
//   domain area  writable by both (the kernel reads it as untrusted input)
//       DomainHeader         state, fault record, heap counters, lock table
//       DomainChannel[n]     the domain's half: its message, payload, deferred queue
//       stacks               one per domain worker thread, plus a signal stack
//       heap                 the driver's memory (kmalloc) and DMA buffers
//
// Both sides are built from this header by the same compiler; every type here
// is standard-layout with lock-free atomics, so it means the same in both.

#include "abi/Interface.h"

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace nk::abi {

constexpr uint64_t bootstrap_magic = 0x4e4f4f4b53444f4dull; // "NOOKSDOM"
constexpr uint32_t layout_version = 3;
constexpr unsigned max_channels = 16;
constexpr size_t page_size = 4096;

// Where domains live in every process's address space: slot i at
// domain_space_base + i * domain_slot_size. Far from the heap, stacks and
// libraries of a freshly started process, so the same addresses are free in both.
constexpr uint64_t domain_space_base = 0x5e00'0000'0000ull;
constexpr uint64_t domain_slot_size = 64ull << 30;
constexpr unsigned max_domain_slots = 256;
constexpr uint64_t kernel_area_offset = 0;
constexpr uint64_t domain_area_offset = 4ull << 30;

enum class MessageKind : uint32_t {
    None = 0,
    Call = 1,   // the payload is the call's arguments struct (src/abi/<class>/Calls.h)
    Return = 2, // result/result_word (and the payload, if any) are the answer
};

// One message in flight on a channel, in the sender's half.
struct Message {
    uint32_t kind;           // MessageKind
    uint32_t id;             // KernelCall (domain -> kernel) or DriverEntry (kernel -> domain)
    uint32_t payload_offset; // into the sender's payload area
    uint32_t payload_size;   // a call: exactly its arguments' wire size
    int64_t result;
    uint64_t result_word;
    uint32_t deferred;       // domain -> kernel: deferred entries queued before this message
    uint32_t depth;          // nesting depth of the sender when it sent this
    // Kernel -> domain Call: 0 or 1 for one call; n > 1 for a batch of n calls
    // of `id`, their arguments back to back from payload_offset, each
    // payload_size bytes at a stride of payload_size rounded up to 64. The
    // Return of a batch carries the n answers (int64 each) as its payload.
    uint32_t batch;
    uint32_t reserved;
};
constexpr unsigned max_batch = 256;

// A driver->kernel call queued by the domain (Delivery::Deferred).
struct DeferredCall {
    uint32_t id;   // KernelCall
    uint32_t size; // bytes of args in use: the call's arguments' wire size
    std::byte args[deferred_args_capacity];
};
static_assert(sizeof(DeferredCall) == 48);

constexpr size_t channel_size = 64 * 1024;
static_assert(sizeof(Message) + 16 <= 64, "a channel's header (its words and message) fits a cache line");
constexpr unsigned deferred_capacity = 512;

struct alignas(64) KernelChannel {
    std::atomic<uint32_t> seq;     // futex word: bumped for every kernel message
    std::atomic<uint32_t> waiting; // the kernel sleeps (or is about to) on DomainChannel::seq
    uint32_t cpu;                  // CPU the domain worker of this channel runs on
    uint32_t reserved;
    Message message;
    alignas(64) std::byte payload[channel_size - 64];
};
static_assert(sizeof(KernelChannel) == channel_size);

struct alignas(64) DomainChannel {
    std::atomic<uint32_t> seq;     // futex word: bumped for every domain message
    std::atomic<uint32_t> waiting; // the worker sleeps (or is about to) on KernelChannel::seq
    std::atomic<uint32_t> running; // the worker is handling a message or polling for one (worth waiting for awake)
    uint32_t reserved;
    Message message;
    alignas(64) DeferredCall deferred[deferred_capacity];
    alignas(64) std::byte payload[channel_size - 64 - deferred_capacity * sizeof(DeferredCall)];
};
static_assert(sizeof(DomainChannel) == channel_size);

struct Bootstrap {
    uint64_t magic;
    uint32_t version;
    uint32_t channel_count;
    uint64_t slot_base;
    uint64_t kernel_area_size;
    uint64_t domain_area_size;
    uint64_t heap_offset; // within the domain area
    uint64_t heap_size;
    uint64_t stacks_offset;
    uint64_t stack_size;  // per worker, including its signal stack
    uint32_t cpu_count;
    uint32_t drop_uid;    // the domain switches to this user if it starts as root
    uint32_t drop_gid;
    int32_t driver_fd;    // the driver file, opened by the kernel
    int32_t kernel_area_fd;
    int32_t domain_area_fd;
    uint32_t flags;
    // How long a worker that answered a call keeps looking for the next one
    // (yielding its CPU between looks) before it sleeps; 0: it sleeps at once.
    uint32_t worker_poll_ns;
    uint32_t reserved;
    // A fault to arm before the driver's first call (an injection aimed at
    // initialization, or a repeating one that follows the driver).
    InjectionSpec injection;
    char driver_path[256]; // for messages only; the domain opens nothing
    char module_name[32];
};

constexpr uint32_t bootstrap_flag_no_seccomp = 0x1; // tests of the runtime only
// The workers are not pinned to their channels' CPUs. Pinned, a hand-off stays
// on one CPU, but a worker whose CPU is busy with another program waits for
// its turn there (measured: nooks/native fell to 0.1 under one busy loop).
constexpr uint32_t bootstrap_flag_unpinned = 0x2;

enum class DomainState : uint32_t {
    Starting = 0,
    Ready = 1,   // driver loaded, workers waiting for calls
    Faulted = 2, // the fault record says why; the process is about to die
};

enum class FaultKind : uint32_t {
    None = 0,
    Signal = 1,           // SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT...
    ForbiddenSyscall = 2, // seccomp trapped it
    Panic = 3,            // the driver called nk_panic / nk_bug
    RuntimeError = 4,     // the domain runtime could not continue
};

struct FaultRecord {
    std::atomic<uint32_t> kind; // FaultKind; written last
    int32_t signal;
    int32_t code;     // si_code
    int32_t syscall;  // for ForbiddenSyscall
    uint64_t address; // si_addr
    uint64_t ip;      // instruction pointer at the fault
    uint64_t sp;
    uint32_t channel; // worker that faulted
    uint32_t reserved;
    uint64_t frames[8]; // return addresses: the word at sp, then the frame-pointer chain
    char message[256];
};

struct HeapStats {
    std::atomic<uint64_t> bytes_in_use;
    std::atomic<uint64_t> allocations; // live
    std::atomic<uint64_t> failures;    // allocations refused
    std::atomic<uint64_t> peak_bytes;
};

constexpr unsigned lock_table_capacity = 256;
struct LockEntry {
    uint64_t address; // of the nk_spinlock_t / nk_mutex_t in domain memory
    uint32_t kind;    // 1 spinlock, 2 mutex
    uint32_t reserved;
};

struct alignas(64) DomainHeader {
    std::atomic<uint32_t> state; // DomainState
    uint32_t pid;
    uint64_t driver_base;         // load address of the driver file in the domain
    char module_name[32];         // nk_module.name of the loaded driver
    FaultRecord fault;
    HeapStats heap;
    std::atomic<uint32_t> lock_count;
    uint32_t reserved;
    LockEntry locks[lock_table_capacity];
};

// Offsets within the kernel area.
constexpr uint64_t bootstrap_offset = 0;
constexpr uint64_t kernel_channels_offset = 64 * 1024;
constexpr uint64_t kernel_scratch_offset = kernel_channels_offset + max_channels * channel_size;
// Kernel objects the driver may read but not write (allocated and freed by
// DomainMemory's kernel-area heap). The area is sparse: untouched pages cost nothing.
constexpr uint64_t kernel_scratch_size = 16ull << 20;
constexpr uint64_t kernel_area_size = kernel_scratch_offset + kernel_scratch_size;

// Offsets within the domain area.
constexpr uint64_t domain_header_offset = 0;
constexpr uint64_t domain_channels_offset = (sizeof(DomainHeader) + 65535) & ~uint64_t(65535);
constexpr uint64_t domain_stacks_offset = domain_channels_offset + max_channels * channel_size;

inline uint64_t slot_base(unsigned slot) { return domain_space_base + uint64_t(slot) * domain_slot_size; }

} // namespace nk::abi
