// SPDX-License-Identifier: MIT
#include "nooks/wrappers/net/IsolatedNetPort.h"

#include "classes/net/NetDevice.h"
#include "nooks/module/IsolatedModule.h"

#include <array>
#include <cstring>
#include <vector>

namespace nk {

namespace {

constexpr size_t frame_alignment = 64;
// Frames handed to the driver in one crossing (the net layer batches 64).
constexpr size_t frames_per_crossing = 64;

size_t aligned(size_t size) { return (size + frame_alignment - 1) & ~(frame_alignment - 1); }

struct ControlEntry {
    NetDevice const* device;
    char const* name;
};
// The control entries this thread is inside, innermost last (one may nest
// another device's: open unregistering another device stops that one).
thread_local std::vector<ControlEntry> t_control_entries;

class ControlEntryScope {
public:
    ControlEntryScope(NetDevice const& device, char const* name) { t_control_entries.push_back({ &device, name }); }
    ~ControlEntryScope() { t_control_entries.pop_back(); }
    ControlEntryScope(ControlEntryScope const&) = delete;
    ControlEntryScope& operator=(ControlEntryScope const&) = delete;
};

} // namespace

char const* IsolatedNetPort::control_entry_running(NetDevice const& device)
{
    for (auto const& entry : t_control_entries) {
        if (entry.device == &device)
            return entry.name;
    }
    return nullptr;
}

void IsolatedNetPort::mark_ready()
{
    {
        MutexLocker lock(m_ready_mutex);
        m_ready = true;
    }
    m_ready_fast.store(true, std::memory_order_release);
    m_ready_changed.notify_all();
}

Result<uint64_t> IsolatedNetPort::ready_handle(char const* operation, bool wait)
{
    if (!m_ready_fast.load(std::memory_order_acquire)) {
        if (!wait)
            return make_error(ErrorCode::Unavailable, "{}: the net device is still being registered by {}", operation, m_module.name());
        MutexLocker lock(m_ready_mutex);
        if (!m_ready_changed.wait_for(lock, ready_timeout, [this]() NK_REQUIRES(m_ready_mutex) { return m_ready; }))
            return make_error(ErrorCode::Unavailable, "{}: {} did not finish registering its net device within {} ms", operation,
                m_module.name(), ready_timeout.count());
    }
    return m_handle.load(std::memory_order_acquire);
}

Result<int> IsolatedNetPort::open(NetDevice& device)
{
    auto handle = TRY(ready_handle("open", true));
    ControlEntryScope entry(device, "open");
    auto reply = TRY(m_module.call<abi::DriverEntry::net_open>(CrossingScope::Kind::Process, { m_functions.open, handle }));
    return reply.verify_errno();
}

Result<int> IsolatedNetPort::stop(NetDevice& device)
{
    auto handle = TRY(ready_handle("stop", true));
    ControlEntryScope entry(device, "stop");
    auto reply = TRY(m_module.call<abi::DriverEntry::net_stop>(CrossingScope::Kind::Process, { m_functions.stop, handle }));
    return reply.verify_errno();
}

Result<size_t> IsolatedNetPort::start_xmit_batch(NetDevice&, std::span<Frame const* const> frames, std::span<int> answers)
{
    if (frames.empty())
        return 0;
    auto handle = ready_handle("start_xmit", false);
    if (!handle)
        return 0; // not open yet: nothing attempted, the frames stay queued
    // The layer's batches are this size already; a longer one is taken in part (the rest stays queued).
    frames = frames.first(std::min(frames.size(), frames_per_crossing));
    size_t bytes = 0;
    for (auto const* frame : frames)
        bytes += aligned(frame->size());
    // Lent for the crossing: freed when this returns, after the driver's last start_xmit.
    auto block = TRY(m_module.memory().allocate_readonly(bytes, frame_alignment));
    auto* base = static_cast<std::byte*>(block.data());
    size_t offset = 0;
    std::array<uint64_t, frames_per_crossing> addresses;
    for (size_t i = 0; i < frames.size(); ++i) {
        std::memcpy(base + offset, frames[i]->data(), frames[i]->size());
        addresses[i] = reinterpret_cast<uint64_t>(base + offset);
        offset += aligned(frames[i]->size());
    }

    auto active = TRY(m_module.enter());
    CrossingScope crossing(m_module, CrossingScope::Kind::Atomic);
    auto& xpc = m_module.xpc();
    auto check = [this](int64_t answer) -> Result<int> {
        auto checked = TRY(m_module.taint(answer, "net_start_xmit").verify_one_of({ NK_NETDEV_TX_OK, NK_NETDEV_TX_BUSY }, "not an nk_netdev_tx"));
        return static_cast<int>(checked);
    };
    // One crossing for the batch: every doorbell write the driver makes while
    // taking it comes back on that crossing, in order (see XpcEndpoint).
    std::array<abi::NetStartXmitArgs, frames_per_crossing> args;
    std::array<int64_t, frames_per_crossing> results;
    auto const count = frames.size();
    for (size_t i = 0; i < count; ++i)
        args[i] = { m_functions.start_xmit, *handle, addresses[i], static_cast<uint32_t>(frames[i]->size()), i + 1 == count ? 0u : 1u };
    TRY(xpc.call_batch<abi::DriverEntry::net_start_xmit>(std::span(args).first(count), results));
    for (size_t i = 0; i < count; ++i)
        answers[i] = TRY(check(results[i]));
    return count;
}

Result<void> IsolatedNetPort::set_rx_mode(NetDevice&, nk_net_rx_mode const& mode)
{
    auto handle = ready_handle("set_rx_mode", false);
    if (!handle)
        return {}; // the device is down until the driver knows it; open programs the filter
    auto block = TRY(m_module.memory().allocate_readonly(sizeof(nk_net_rx_mode)));
    std::memcpy(block.data(), &mode, sizeof(mode));
    TRY(m_module.call<abi::DriverEntry::net_set_rx_mode>(CrossingScope::Kind::Atomic,
        { m_functions.set_rx_mode, *handle, reinterpret_cast<uint64_t>(block.data()) }));
    return {};
}

Result<int> IsolatedNetPort::set_mac_address(NetDevice& device, EthernetAddress const& mac)
{
    if (m_functions.set_mac_address == 0)
        return -EOPNOTSUPP;
    auto handle = TRY(ready_handle("set_mac_address", true));
    ControlEntryScope entry(device, "set_mac_address");
    abi::NetSetMacArgs args { m_functions.set_mac_address, handle, {}, 0 };
    std::memcpy(args.mac, mac.data(), mac.size());
    auto reply = TRY(m_module.call<abi::DriverEntry::net_set_mac_address>(CrossingScope::Kind::Process, args));
    return reply.verify_errno();
}

Result<int> IsolatedNetPort::change_mtu(NetDevice& device, uint32_t mtu)
{
    if (m_functions.change_mtu == 0)
        return -EOPNOTSUPP; // as natively
    auto handle = TRY(ready_handle("change_mtu", true));
    ControlEntryScope entry(device, "change_mtu");
    auto reply = TRY(m_module.call<abi::DriverEntry::net_change_mtu>(CrossingScope::Kind::Process, { m_functions.change_mtu, handle, mtu, 0 }));
    return reply.verify_errno();
}

void IsolatedNetPort::tx_timed_out(NetDevice& device, uint64_t stalled_ns)
{
    m_module.fail({ .cause = FailureCause::Livelock, .module = m_module.name(),
        .message = fmt::format("the transmit queue of {} was stopped for {} ms with nothing sent", device.name(), stalled_ns / 1'000'000) });
}

void IsolatedNetPort::rx_stalled(NetDevice& device, uint64_t silent_ns, uint64_t frames_waiting)
{
    m_module.fail({ .cause = FailureCause::Livelock, .module = m_module.name(),
        .message = fmt::format("the NIC took {} frames for {} off the wire in {} ms and the driver delivered none", frames_waiting,
            device.name(), silent_ns / 1'000'000) });
}

Result<int> IsolatedNapiPoller::poll(Napi&, int budget)
{
    auto reply = TRY(m_module.call<abi::DriverEntry::napi_poll>(CrossingScope::Kind::Atomic,
        { m_poll, m_handle.load(std::memory_order_acquire), budget, 0 }));
    auto work = TRY(reply.verify([budget](int64_t v) { return v >= 0 && v <= budget; }, fmt::format("not a work count within the budget {}", budget)));
    return static_cast<int>(work);
}

} // namespace nk
