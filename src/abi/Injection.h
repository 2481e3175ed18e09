// SPDX-License-Identifier: MIT
#pragma once

// Faults injected by hand into a running, unchanged driver, and the one form an
// injection takes end to end: the control socket decodes a request into an
// InjectionSpec, native mode arms it in the kernel's injector, isolated modes
// send it to the domain as the `inject` entry's arguments (or leave it in the
// bootstrap page for the driver's next instance), and the injector fires it.
// The mechanism is src/inject.

#include <cstdint>

namespace nk::abi {

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

// Where and when a fault fires. Flags say which optional fields are set: no
// sentinel values. A trivially copyable struct without padding, so it crosses
// into a domain as it is.
struct InjectionSpec {
    uint8_t armed;      // 0: disarm whatever is armed
    uint8_t fault;      // Fault
    uint8_t repeat;     // fire on every matching call from the Nth on (a deterministic fault)
    uint8_t has_entry;  // 0: any entry point
    uint16_t entry;     // DriverEntry, when has_entry
    uint8_t has_target; // 0: any target
    uint8_t reserved;
    uint32_t after;     // fire on the Nth matching call (1: the next)
    uint32_t reserved2;
    uint64_t target;    // class-defined, when has_target (block: the request's first sector; net: the frame's length at start_xmit)
};

} // namespace nk::abi
