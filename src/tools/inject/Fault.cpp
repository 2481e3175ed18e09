// SPDX-License-Identifier: MIT
#include "tools/inject/Fault.h"

#include <nooks/kernel.h>

#include <cstring>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace nk::inject {

namespace {

struct FaultInfo {
    char const* name;
    char const* description;
};

constexpr FaultInfo faults[] = {
#define NK_X(id, name, what) { name, what },
    NOOKS_FAULTS(NK_X)
#undef NK_X
};

void timer_noop(void*) { }

} // namespace

char const* fault_name(Fault fault) { return static_cast<size_t>(fault) < std::size(faults) ? faults[static_cast<size_t>(fault)].name : "?"; }
char const* fault_description(Fault fault)
{
    return static_cast<size_t>(fault) < std::size(faults) ? faults[static_cast<size_t>(fault)].description : "?";
}

Result<Fault> parse_fault(std::string_view name)
{
    for (size_t i = 0; i < std::size(faults); ++i) {
        if (name == faults[i].name)
            return static_cast<Fault>(i);
    }
    std::string known;
    for (auto const& info : faults)
        known += (known.empty() ? "" : ", ") + std::string(info.name);
    return make_error(ErrorCode::InvalidArgument, "unknown fault '{}' (known: {})", name, known);
}

Result<std::optional<abi::DriverEntry>> parse_entry(std::string_view name)
{
    if (name.empty() || name == "any")
        return std::optional<abi::DriverEntry> {};
    for (unsigned i = 0; i < abi::driver_entry_count; ++i) {
        if (name == abi::driver_entry_names[i])
            return std::optional<abi::DriverEntry>(static_cast<abi::DriverEntry>(i));
    }
    std::string known = "any";
    for (auto const* entry : abi::driver_entry_names)
        known += std::string(", ") + entry;
    return make_error(ErrorCode::InvalidArgument, "unknown entry point '{}' (known: {})", name, known);
}

void Injector::arm(Fault fault, Trigger trigger)
{
    m_armed.store(false, std::memory_order_release);
    m_fault.store(static_cast<uint8_t>(fault));
    m_entry.store(trigger.entry ? static_cast<int>(*trigger.entry) : -1);
    m_remaining.store(std::max(trigger.after, 1u));
    m_repeat.store(trigger.repeat);
    m_has_sector.store(trigger.sector.has_value());
    m_sector.store(trigger.sector.value_or(0));
    m_armed.store(true, std::memory_order_release);
}

void Injector::disarm() { m_armed.store(false, std::memory_order_release); }

std::optional<Fault> Injector::check(abi::DriverEntry entry, std::optional<uint64_t> sector)
{
    if (!m_armed.load(std::memory_order_acquire))
        return std::nullopt;
    // The kernel's own housekeeping crossings are not the driver's calls.
    if (entry == abi::DriverEntry::null || entry == abi::DriverEntry::flush || entry == abi::DriverEntry::inject)
        return std::nullopt;
    auto target = m_entry.load();
    if (target >= 0 && target != static_cast<int>(entry))
        return std::nullopt;
    if (m_has_sector.load() && (!sector || *sector != m_sector.load()))
        return std::nullopt;
    if (m_repeat.load()) {
        // From the Nth matching call on, every one.
        auto remaining = m_remaining.load();
        if (remaining > 1) {
            m_remaining.compare_exchange_strong(remaining, remaining - 1);
            return std::nullopt;
        }
        return static_cast<Fault>(m_fault.load());
    }
    if (m_remaining.fetch_sub(1) != 1)
        return std::nullopt;
    // This call is the Nth: fire once.
    if (!m_armed.exchange(false))
        return std::nullopt;
    return static_cast<Fault>(m_fault.load());
}

bool skips_call(Fault fault) { return fault == Fault::SkipInit; }

[[gnu::noinline]] static void corrupt_stack()
{
    // Overwrite the frames above this one (saved frame pointers and return
    // addresses of the callers): the crash comes when they return.
    auto* frame = static_cast<uint64_t*>(__builtin_frame_address(0));
    for (int i = 0; i < 32; ++i)
        frame[i] = 0xbad0'bad0'bad0'bad0ull;
}

void perform(Fault fault, Target const& target)
{
    switch (fault) {
    case Fault::NullDeref:
        (void)*static_cast<int volatile*>(nullptr);
        break;
    case Fault::WildWriteKernel:
        *static_cast<uint64_t volatile*>(target.kernel_readonly) = 0xdeadbeefdeadbeefull;
        break;
    case Fault::WildWriteOwn:
        // Garbage over the driver's own structure: pointers in it now point nowhere.
        if (target.own_data != nullptr)
            std::memset(target.own_data, 0xa5, 256);
        break;
    case Fault::StackCorrupt:
        corrupt_stack();
        break;
    case Fault::Hang:
        for (;;)
            __asm__ volatile("pause" ::: "memory");
    case Fault::ForbiddenSyscall:
        ::syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
        break;
    case Fault::BadPointer:
        (void)nk_timer_mod(reinterpret_cast<nk_timer*>(uintptr_t(0x1234)), 1);
        break;
    case Fault::FreedObject: {
        auto* timer = nk_timer_create(timer_noop, nullptr);
        nk_timer_destroy(timer);
        (void)nk_timer_mod(timer, 1);
        break;
    }
    case Fault::WrongHandle: {
        auto* work = nk_work_create(timer_noop, nullptr);
        (void)nk_timer_mod(reinterpret_cast<nk_timer*>(work), 1);
        break;
    }
    case Fault::DoubleFree: {
        auto* block = nk_kmalloc(48, NK_GFP_ATOMIC);
        nk_kfree(block);
        nk_kfree(block);
        break;
    }
    case Fault::Leak:
        // Enough objects to exceed any sane per-driver quota; never freed.
        for (int i = 0; i < 5000; ++i) {
            if (nk_timer_create(timer_noop, nullptr) == nullptr)
                break;
        }
        break;
    case Fault::Panic:
        nk_panic("injected panic");
    case Fault::SkipInit:
    case Fault::Count:
        break;
    }
}

} // namespace nk::inject
