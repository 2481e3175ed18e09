// SPDX-License-Identifier: MIT
#pragma once

// Faults injected by hand into a running, unchanged driver (`nooks ctl inject`).
//
// An injection is armed for one entry point (or any) and fires on the Nth call
// of it: the fault then happens on the driver's thread, inside that call,
// before the driver's own function runs. The mechanism lives outside the
// driver: in the domain runtime's entry thunks under isolation, in the native
// ports in native mode (where the fault takes the kernel down, which is the
// baseline's point). The actions use the kernel API as a driver would, so the
// same fault is a bad call to the kernel in both modes.

#include "base/Error.h"
#include "nooks/abi/Interface.h"

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nk::inject {

// X(enumerator, "name", what it does)
#define NOOKS_FAULTS(X)                                                                                       \
    X(NullDeref, "null-deref", "reads through a null pointer")                                                \
    X(WildWriteKernel, "wild-write-kernel", "writes to read-only kernel memory")                              \
    X(WildWriteOwn, "wild-write-own", "overwrites the driver's own data (the structure the call is about)")   \
    X(StackCorrupt, "stack-corrupt", "overwrites return addresses on the stack")                              \
    X(Hang, "hang", "never returns (an infinite loop)")                                                       \
    X(ForbiddenSyscall, "forbidden-syscall", "makes a system call the driver has no business making (socket)") \
    X(BadPointer, "bad-param", "passes a made-up handle to a kernel function")                                \
    X(FreedObject, "bad-param-freed", "uses a kernel object after freeing it")                                \
    X(WrongHandle, "bad-param-handle", "passes a handle of the wrong type to a kernel function")              \
    X(DoubleFree, "double-free", "frees a block of memory twice")                                             \
    X(Leak, "leak", "creates kernel objects and never frees them")                                            \
    X(Panic, "panic", "calls nk_panic")                                                                       \
    X(SkipInit, "skip-init", "returns success without running the function (skipped initialization)")

enum class Fault : uint8_t {
#define NK_X(id, name, what) id,
    NOOKS_FAULTS(NK_X)
#undef NK_X
        Count
};

char const* fault_name(Fault fault);
char const* fault_description(Fault fault);
Result<Fault> parse_fault(std::string_view name);
// Entry point names as `--entry` takes them ("blk_queue_rq"), or "any".
Result<std::optional<abi::DriverEntry>> parse_entry(std::string_view name);

// Arming and counting (thread-safe). One injection armed at a time.
// Where a fault fires. A sector narrows it to the block requests that start
// there; `repeat` makes it fire on every matching call from the Nth on (a
// deterministic fault: the same request breaks the driver every time).
struct Trigger {
    std::optional<abi::DriverEntry> entry; // none: any entry
    uint32_t after { 1 };
    std::optional<uint64_t> sector;
    bool repeat { false };
};

class Injector {
public:
    void arm(Fault fault, Trigger trigger);
    void disarm();
    // Called before every entry call (`sector`: the request's, for queue_rq).
    // Returns the fault when this call is one it was armed for.
    std::optional<Fault> check(abi::DriverEntry entry, std::optional<uint64_t> sector = std::nullopt);
    bool armed() const { return m_armed.load(std::memory_order_acquire); }

private:
    std::atomic<bool> m_armed { false };
    std::atomic<uint32_t> m_remaining { 0 };
    std::atomic<int> m_entry { -1 }; // -1: any
    std::atomic<uint8_t> m_fault { 0 };
    std::atomic<bool> m_repeat { false };
    std::atomic<bool> m_has_sector { false };
    std::atomic<uint64_t> m_sector { 0 };
};

// What a fault needs from where it runs.
struct Target {
    void* own_data { nullptr };         // the driver's data the entry is about (its private struct), if known
    void* kernel_readonly { nullptr };  // an address the driver must not write
};

// Performs `fault` in the calling thread. Returns normally only for SkipInit
// (the caller then skips the driver's function) and for faults that the
// environment tolerates (a forbidden system call succeeds in native mode).
void perform(Fault fault, Target const& target);

// Whether entry calls may be skipped (SkipInit) and then report success.
bool skips_call(Fault fault);

} // namespace nk::inject
