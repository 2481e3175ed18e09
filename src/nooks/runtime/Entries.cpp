// SPDX-License-Identifier: MIT
#include "nooks/runtime/Entries.h"

#include "inject/Injector.h"
#include "kernel/exec/Context.h"
#include "nooks/runtime/Runtime.h"

namespace nk::runtime {

namespace {

inject::Injector injector;

} // namespace

AtomicSection::AtomicSection() { current_context().atomic_depth++; }
AtomicSection::~AtomicSection() { current_context().atomic_depth--; }

void* resolve_function(uint64_t handle, char const* what)
{
    auto* function = Runtime::the().function(handle);
    if (function == nullptr)
        Runtime::the().die(abi::FaultKind::RuntimeError, what);
    return function;
}

int arm_injection(abi::InjectionSpec const& spec)
{
    if (!inject::validate(spec))
        return -EINVAL;
    injector.arm(spec);
    return 0;
}

int64_t run_entry(abi::DriverEntry entry, void const* args, size_t size)
{
    auto& runtime = Runtime::the();
    if (!abi::valid(entry))
        runtime.die(abi::FaultKind::RuntimeError, "the kernel called an unknown entry point");
    if (size != abi::args_size_of(entry))
        runtime.die(abi::FaultKind::RuntimeError, "the kernel sent an entry's arguments with the wrong size");
    auto id = abi::class_of(entry);
    if (injector.armed()) {
        EntryView view;
        switch (id) {
#define NK_X(cls) \
    case abi::ClassId::cls: view = view_##cls##_entry(entry, args); break;
            NOOKS_CLASSES(NK_X)
#undef NK_X
        case abi::ClassId::Count: break;
        }
        if (auto fault = injector.check(entry, view.target)) {
            // The kernel area is mapped read-only here: the wild write's target.
            inject::perform(*fault, { view.own_data, const_cast<abi::Bootstrap*>(&runtime.bootstrap()) });
            if (inject::skips_call(*fault))
                return 0;
        }
    }
    switch (id) {
#define NK_X(cls) \
    case abi::ClassId::cls: return run_##cls##_entry(entry, args);
        NOOKS_CLASSES(NK_X)
#undef NK_X
    case abi::ClassId::Count: break;
    }
    runtime.die(abi::FaultKind::RuntimeError, "an entry point of no class");
}

} // namespace nk::runtime
