// SPDX-License-Identifier: MIT
#pragma once

// The fault injector: faults injected by hand into a running, unchanged driver
// (`nooks ctl inject`), fired on the driver's own thread, inside the Nth
// matching call of an entry point, before the driver's function runs.
//
// The mechanism lives outside the driver: in the domain runtime's entry thunks
// under isolation, in the native ports in native mode (where the fault takes
// the kernel down, which is the baseline's point). The faults use the kernel
// API as a driver would, so the same fault is the same bad call to the kernel
// in every mode. An injection travels as one abi::InjectionSpec everywhere.

#include "abi/Injection.h"
#include "abi/Interface.h"
#include "base/Error.h"
#include "base/Mutex.h"

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nk::inject {

using abi::Fault;
using abi::InjectionSpec;

char const* fault_name(Fault fault);
char const* fault_description(Fault fault);
// "null-deref", ...; the error lists the known names.
Result<Fault> parse_fault(std::string_view name);
// Entry point names as `--entry` takes them ("blk_queue_rq"), or "any" / "".
Result<std::optional<abi::DriverEntry>> parse_entry(std::string_view name);

// The spec that arms `fault`, and the one that disarms.
InjectionSpec arm_spec(Fault fault, std::optional<abi::DriverEntry> entry, uint32_t after, std::optional<uint64_t> target, bool repeat);
InjectionSpec disarm_spec();
// Checks a spec that came from elsewhere (a control request, shared memory):
// InvalidArgument naming the bad field.
Result<void> validate(InjectionSpec const& spec);
// For people: "null-deref at call 1 of blk_queue_rq on target 4096", "nothing (disarmed)".
std::string describe(InjectionSpec const& spec);
// True if the spec aims at initialization (module_init or bus_probe): it can
// only fire in a driver instance that has not initialized yet.
bool aims_at_initialization(InjectionSpec const& spec);

// Arms and counts. One injection armed at a time.
//
// Thread-safety: every method may be called from any thread. check() is on
// every entry call's path: disarmed, it costs one atomic load; armed, calls
// are counted under a lock, so concurrent calls never lose a count.
class Injector {
public:
    // Arms `spec` (a disarming spec disarms). The spec must be valid.
    void arm(InjectionSpec const& spec);
    void disarm();
    // Called before every entry call; `target` is the call's class-defined
    // target (the block request's sector), if it has one. Returns the fault
    // when this call is one the injection was armed for.
    std::optional<Fault> check(abi::DriverEntry entry, std::optional<uint64_t> target = std::nullopt);
    bool armed() const { return m_armed.load(std::memory_order_acquire); }

private:
    std::atomic<bool> m_armed { false };
    Mutex m_mutex;
    InjectionSpec m_spec NK_GUARDED_BY(m_mutex) {};
    uint32_t m_remaining NK_GUARDED_BY(m_mutex) { 0 }; // matching calls until it fires
};

// What a fault needs from where it runs.
struct Target {
    void* own_data { nullptr };        // the driver's data the entry is about (its private struct), if known
    void* kernel_readonly { nullptr }; // an address the driver must not write
};

// Performs `fault` on the calling thread. Returns normally only for SkipInit
// (the caller then skips the driver's function) and for faults the
// environment tolerates (a forbidden system call succeeds in native mode).
void perform(Fault fault, Target const& target);

// Whether the fault means "skip the driver's function and report success".
bool skips_call(Fault fault);

} // namespace nk::inject
