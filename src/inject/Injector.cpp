// SPDX-License-Identifier: MIT
#include "inject/Injector.h"


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

InjectionSpec arm_spec(Fault fault, std::optional<abi::DriverEntry> entry, uint32_t after, std::optional<uint64_t> target, bool repeat)
{
    InjectionSpec spec {};
    spec.armed = 1;
    spec.fault = static_cast<uint8_t>(fault);
    spec.repeat = repeat ? 1 : 0;
    spec.has_entry = entry ? 1 : 0;
    spec.entry = entry ? static_cast<uint16_t>(*entry) : 0;
    spec.has_target = target ? 1 : 0;
    spec.target = target.value_or(0);
    spec.after = std::max(after, 1u);
    return spec;
}

InjectionSpec disarm_spec() { return InjectionSpec {}; }

Result<void> validate(InjectionSpec const& spec)
{
    if (spec.armed > 1 || spec.repeat > 1 || spec.has_entry > 1 || spec.has_target > 1)
        return make_error(ErrorCode::InvalidArgument, "injection: a flag is neither 0 nor 1");
    if (spec.armed == 0)
        return {};
    if (spec.fault >= static_cast<uint8_t>(Fault::Count))
        return make_error(ErrorCode::InvalidArgument, "injection: fault {} does not exist", spec.fault);
    if (spec.has_entry != 0 && !abi::valid(static_cast<abi::DriverEntry>(spec.entry)))
        return make_error(ErrorCode::InvalidArgument, "injection: entry point {} does not exist", spec.entry);
    if (spec.after < 1 || spec.after > 1'000'000'000)
        return make_error(ErrorCode::InvalidArgument, "injection: after must be 1..1000000000");
    return {};
}

std::string describe(InjectionSpec const& spec)
{
    if (spec.armed == 0)
        return "nothing (disarmed)";
    auto fault = static_cast<Fault>(spec.fault);
    return fmt::format("{} at {} {} of {}{}", fault_name(fault), spec.repeat != 0 ? "every call from" : "call", spec.after,
        spec.has_entry != 0 ? abi::name_of(static_cast<abi::DriverEntry>(spec.entry)) : "any entry",
        spec.has_target != 0 ? fmt::format(" on target {}", spec.target) : "");
}

bool aims_at_initialization(InjectionSpec const& spec)
{
    if (spec.armed == 0 || spec.has_entry == 0)
        return false;
    auto entry = static_cast<abi::DriverEntry>(spec.entry);
    return entry == abi::DriverEntry::module_init || entry == abi::DriverEntry::bus_probe;
}

void Injector::arm(InjectionSpec const& spec)
{
    MutexLocker lock(m_mutex);
    m_spec = spec;
    m_remaining = std::max(spec.after, 1u);
    m_armed.store(spec.armed != 0, std::memory_order_release);
}

void Injector::disarm()
{
    MutexLocker lock(m_mutex);
    m_spec = disarm_spec();
    m_armed.store(false, std::memory_order_release);
}

std::optional<Fault> Injector::check(abi::DriverEntry entry, std::optional<uint64_t> target)
{
    if (!m_armed.load(std::memory_order_acquire))
        return std::nullopt;
    // The kernel's own housekeeping crossings are not the driver's calls.
    if (entry == abi::DriverEntry::null || entry == abi::DriverEntry::flush || entry == abi::DriverEntry::inject)
        return std::nullopt;
    MutexLocker lock(m_mutex);
    if (!m_armed.load(std::memory_order_relaxed))
        return std::nullopt;
    if (m_spec.has_entry != 0 && m_spec.entry != static_cast<uint16_t>(entry))
        return std::nullopt;
    if (m_spec.has_target != 0 && (!target || *target != m_spec.target))
        return std::nullopt;
    if (m_remaining > 1) {
        --m_remaining;
        return std::nullopt;
    }
    // This call is the Nth matching one: fire (once, or from now on).
    if (m_spec.repeat == 0)
        m_armed.store(false, std::memory_order_release);
    return static_cast<Fault>(m_spec.fault);
}

} // namespace nk::inject
