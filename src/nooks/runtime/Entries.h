// SPDX-License-Identifier: MIT
#pragma once

// Entry thunks: how the domain runs a kernel -> driver entry. run_entry checks
// the entry's id and its arguments' size, asks the entry's class what the call
// is about (the driver data it concerns, its injection target), fires a fault
// armed for it, and then calls the class's thunk, which calls the driver
// function the handle names with the entry's C signature. One pair of
// functions per class, in src/nooks/runtime/<class>.

#include "abi/Interface.h"

#include <cstddef>
#include <cstdint>
#include <new>
#include <optional>

namespace nk::runtime {

// Runs `entry` with its arguments, `size` bytes at `args` (in the kernel area:
// read-only here). Returns the driver's result. A malformed entry ends the
// domain (the kernel never sends one).
int64_t run_entry(abi::DriverEntry entry, void const* args, size_t size);

// Arms (or disarms) the fault injector. -EINVAL if the spec is malformed.
int arm_injection(abi::InjectionSpec const& spec);

// What an entry call is about, for the fault injector.
struct EntryView {
    void* own_data { nullptr };        // the driver's data the call concerns (what wild-write-own scribbles on)
    std::optional<uint64_t> target;    // the class-defined injection target (block: the request's sector)
};

// The arguments of an entry, in place.
template<typename Args>
Args const& args_as(void const* args)
{
    return *std::launder(reinterpret_cast<Args const*>(args));
}

// Interrupt handlers, timer callbacks and queue_rq run atomic: sleeping there is a driver bug.
struct AtomicSection {
    AtomicSection();
    ~AtomicSection();
    AtomicSection(AtomicSection const&) = delete;
    AtomicSection& operator=(AtomicSection const&) = delete;
};

// The driver function a handle names, with the signature the entry defines; an
// unknown handle ends the domain (`what` says which).
void* resolve_function(uint64_t handle, char const* what);
template<typename Function>
Function resolve(uint64_t handle, char const* what)
{
    return reinterpret_cast<Function>(resolve_function(handle, what));
}

// One pair per class: what a call of the class's entry is about, and its thunk.
#define NK_X(cls)                                                      \
    EntryView view_##cls##_entry(abi::DriverEntry entry, void const* args); \
    int64_t run_##cls##_entry(abi::DriverEntry entry, void const* args);
NOOKS_CLASSES(NK_X)
#undef NK_X

} // namespace nk::runtime
