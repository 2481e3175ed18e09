// SPDX-License-Identifier: MIT
// Kernel wrappers: the bodies of the net class's calls.

#include "nooks/wrappers/net/NetWrappers.h"

#include "classes/net/NetDevice.h"
#include "classes/net/NetLayer.h"
#include "kernel/Kernel.h"
#include "kernel/exec/Context.h"
#include "nooks/module/IsolatedModule.h"
#include "nooks/wrappers/net/IsolatedNetPort.h"

#include <cstring>

namespace nk {

std::unique_ptr<ClassWrappers> make_net_wrappers(IsolatedModule& module) { return std::make_unique<NetWrappers>(module); }

NetWrappers::NetWrappers(IsolatedModule& module)
    : ClassWrappers(module)
    , m_net(module.kernel().driver_class<NetLayer>())
{
    name_object_type(netdev_object, "netdev");
    name_object_type(napi_object, "napi");
}

Result<XpcReply> NetWrappers::handle(IncomingCall const& call, ReplyPayload& reply)
{
    switch (call.id) {
#define NK_X(cls, name, delivery, Args) \
    case abi::KernelCall::name: return name(call, TRY(decode<abi::Args>(call)), reply);
        NOOKS_NET_KERNEL_CALLS(NK_X)
#undef NK_X
    default: break;
    }
    return NK_REJECT(call, "not a net call");
}

namespace {

NetDevice& netdev_of(TrackedRef const& ref) { return *static_cast<NetDevice*>(ref.object); }
Napi& napi_of(TrackedRef const& ref) { return *static_cast<Napi*>(ref.object); }

// The <nooks/net.h> function a netif_state op comes from.
char const* state_function(uint32_t op)
{
    switch (static_cast<abi::NetQueueOp>(op)) {
    case abi::NetQueueOp::start: return "nk_netif_start_queue";
    case abi::NetQueueOp::stop: return "nk_netif_stop_queue";
    case abi::NetQueueOp::wake: return "nk_netif_wake_queue";
    case abi::NetQueueOp::carrier_on: return "nk_netif_carrier_on";
    case abi::NetQueueOp::carrier_off: return "nk_netif_carrier_off";
    }
    return abi::name_of(abi::KernelCall::netif_state);
}

// The calls <nooks/net.h> allows in process context only (they may wait: for
// a running poll, for the device's stop). From atomic context (a poll,
// start_xmit, set_rx_mode, an interrupt handler, a timer) the kernel thread
// could wait for the very poll it is running, so they are refused, as
// nk_msleep is.
Result<void> check_may_sleep(IncomingCall const& call)
{
    if (current_context().atomic_depth > 0)
        return std::unexpected(Error(ErrorCode::FailedPrecondition, fmt::format("{}: may sleep, called in atomic context", abi::name_of(call.id))));
    return {};
}

} // namespace

Result<XpcReply> NetWrappers::netdev_register(IncomingCall const& call, abi::NetdevRegisterArgs const& args, ReplyPayload&)
{
    TRY(check_may_sleep(call));
    TRY(check_quota(call));
    auto* dev = TRY(device(call, args.dev, "dev"));
    if (args.ops.open == 0 || args.ops.stop == 0 || args.ops.start_xmit == 0 || args.ops.set_rx_mode == 0)
        return NK_REJECT(call, "ops: open, stop, start_xmit and set_rx_mode are required");
    nk_netdev_params params {};
    std::memcpy(params.mac, args.params.mac, sizeof(params.mac));
    params.mtu = args.params.mtu;
    params.min_mtu = args.params.min_mtu;
    params.max_mtu = args.params.max_mtu;
    params.features = args.params.features;
    // The checks are the net class's own (the native path runs them too).
    if (auto config = NetDeviceConfig::from_params(params); !config)
        return NK_REJECT(call, "{}", config.error().message());
    if (m_net == nullptr)
        return XpcReply { -ENODEV, 0 }; // a kernel with no net class
    auto port = std::make_unique<IsolatedNetPort>(m_module, args.ops);
    auto* port_raw = port.get();
    auto& net = *m_net;
    auto registered = net.register_device(m_module, dev, params, std::move(port), nullptr);
    if (!registered)
        return XpcReply { -registered.error().to_errno(), 0 };
    auto* raw = registered->get();
    auto& module = m_module;
    // Released with a failed driver: the net class (or its shadow) decides the device's fate.
    auto handle = m_module.tracker().add({ .type = netdev_object, .lifetime = Lifetime::Explicit, .object = raw,
                                             .description = fmt::format("net device {}", raw->name()) },
        [&net, raw, &module] { net.release_device(*raw, module); });
    port_raw->set_handle(handle);
    {
        MutexLocker lock(m_unready_mutex);
        m_unready[handle] = port_raw;
    }
    return XpcReply { 0, handle };
}

Result<XpcReply> NetWrappers::netdev_unregister(IncomingCall const& call, abi::NetdevArgs const& args, ReplyPayload&)
{
    TRY(check_may_sleep(call));
    auto ref = TRY(m_module.tracker().lookup(args.netdev, netdev_object, abi::name_of(call.id), "dev"));
    // Unregistering waits for the device's open, stop, set_mac_address and
    // change_mtu (it stops the device under the same lock): from inside one of
    // them it would wait for itself.
    if (auto const* entry = IsolatedNetPort::control_entry_running(netdev_of(ref)))
        return std::unexpected(Error(ErrorCode::FailedPrecondition,
            fmt::format("{}: dev {:#x}: called from the device's own {} (it waits for that to return)", abi::name_of(call.id), args.netdev, entry)));
    // Unregistering stops an up device: the driver's stop() still uses the
    // handle (its queue and carrier calls arrive meanwhile), so it is
    // forgotten only afterwards. A net device handle exists only where a net
    // class made the device.
    (void)m_net->unregister_device(netdev_of(ref));
    (void)m_module.tracker().remove(args.netdev);
    {
        MutexLocker lock(m_unready_mutex);
        m_unready.erase(args.netdev);
    }
    {
        MutexLocker lock(m_state_mutex);
        m_applied.erase(args.netdev);
    }
    return XpcReply {};
}

Result<XpcReply> NetWrappers::netdev_ready(IncomingCall const& call, abi::NetdevArgs const& args, ReplyPayload&)
{
    TRY(m_module.tracker().lookup(args.netdev, netdev_object, abi::name_of(call.id), "dev"));
    IsolatedNetPort* port = nullptr;
    {
        MutexLocker lock(m_unready_mutex);
        if (auto it = m_unready.find(args.netdev); it != m_unready.end()) {
            port = it->second;
            m_unready.erase(it);
        }
    }
    if (port == nullptr)
        return NK_REJECT(call, "dev {:#x}: not a net device waiting to be ready", args.netdev);
    port->mark_ready();
    return XpcReply {};
}

Result<XpcReply> NetWrappers::netif_rx(IncomingCall const& call, abi::NetifRxArgs const& args, ReplyPayload&)
{
    auto ref = TRY(m_module.tracker().lookup(args.netdev, netdev_object, abi::name_of(call.id), "dev"));
    if (args.len < NK_ETH_HLEN || args.len > NK_NET_MAX_FRAME)
        return NK_REJECT(call, "len {}: not a frame length ({}..{})", args.len, NK_ETH_HLEN, NK_NET_MAX_FRAME);
    if (!m_module.memory().in_domain_area(args.frame, args.len))
        return NK_REJECT(call, "frame {:#x} ({} bytes): not in the driver's memory", args.frame, args.len);
    // One copy out of the driver's memory; the stack sees only that.
    thread_local std::vector<std::byte> copy;
    copy.resize(args.len);
    std::memcpy(copy.data(), reinterpret_cast<void const*>(args.frame), args.len);
    netdev_of(ref).netif_rx(copy);
    return XpcReply {};
}

Result<XpcReply> NetWrappers::netif_state(IncomingCall const& call, abi::NetifStateArgs const& args, ReplyPayload&)
{
    // Rejections name the function the driver called (five cross as this one).
    auto ref = TRY(m_module.tracker().lookup(args.netdev, netdev_object, state_function(args.op), "dev"));
    auto& device = netdev_of(ref);
    auto op = static_cast<abi::NetQueueOp>(args.op);
    if (args.op > static_cast<uint32_t>(abi::NetQueueOp::carrier_off))
        return NK_REJECT(call, "op {}: not a queue or carrier operation", args.op);
    // An older change than one applied already came by another channel: it is
    // stale. The check and the change are one step: a wake checked after a
    // stop but applied before it would leave the queue stopped for good.
    MutexLocker lock(m_state_mutex);
    auto& applied = m_applied[args.netdev];
    bool carrier = op == abi::NetQueueOp::carrier_on || op == abi::NetQueueOp::carrier_off;
    auto& last = carrier ? applied.carrier : applied.queue;
    if (static_cast<int32_t>(args.sequence - last) <= 0)
        return XpcReply {};
    last = args.sequence;
    switch (op) {
    case abi::NetQueueOp::start: device.start_queue(); break;
    case abi::NetQueueOp::stop: device.stop_queue(); break;
    case abi::NetQueueOp::wake: device.wake_queue(); break;
    case abi::NetQueueOp::carrier_on: device.carrier_on(); break;
    case abi::NetQueueOp::carrier_off: device.carrier_off(); break;
    }
    return XpcReply {};
}

Result<XpcReply> NetWrappers::netdev_update_stats(IncomingCall const& call, abi::NetdevStatsArgs const& args, ReplyPayload&)
{
    auto ref = TRY(m_module.tracker().lookup(args.netdev, netdev_object, abi::name_of(call.id), "dev"));
    netdev_of(ref).update_hw_stats({ args.rx_missed, args.rx_errors, args.tx_errors, args.hw_errors });
    return XpcReply {};
}

Result<XpcReply> NetWrappers::napi_add(IncomingCall const& call, abi::NapiAddArgs const& args, ReplyPayload&)
{
    TRY(check_may_sleep(call));
    TRY(check_quota(call));
    auto ref = TRY(m_module.tracker().lookup(args.netdev, netdev_object, abi::name_of(call.id), "dev"));
    if (args.poll == 0)
        return NK_REJECT(call, "poll: missing");
    if (args.weight <= 0 || args.weight > 1024)
        return NK_REJECT(call, "weight {}: not 1..1024", args.weight);
    auto poller = std::make_unique<IsolatedNapiPoller>(m_module, args.poll);
    auto* poller_raw = poller.get();
    auto& napi = netdev_of(ref).add_napi(std::move(poller), args.weight);
    // Released with a failed driver: no poll runs into its domain again, and
    // the device's next driver (if a shadow keeps the device) takes the context.
    auto handle = m_module.tracker().add({ .type = napi_object, .lifetime = Lifetime::Explicit, .object = &napi,
                                             .description = fmt::format("napi of {} (weight {})", netdev_of(ref).name(), args.weight) },
        [&napi] { napi.abandon(); });
    poller_raw->set_handle(handle);
    return XpcReply { 0, handle };
}

Result<XpcReply> NetWrappers::napi_del(IncomingCall const& call, abi::NapiArgs const& args, ReplyPayload&)
{
    TRY(check_may_sleep(call));
    auto ref = TRY(m_module.tracker().lookup(args.napi, napi_object, abi::name_of(call.id), "napi"));
    auto& napi = napi_of(ref);
    (void)m_module.tracker().remove(args.napi);
    napi.device().del_napi(napi);
    return XpcReply {};
}

Result<XpcReply> NetWrappers::napi_enable(IncomingCall const& call, abi::NapiArgs const& args, ReplyPayload&)
{
    auto ref = TRY(m_module.tracker().lookup(args.napi, napi_object, abi::name_of(call.id), "napi"));
    napi_of(ref).enable();
    return XpcReply {};
}

Result<XpcReply> NetWrappers::napi_disable(IncomingCall const& call, abi::NapiArgs const& args, ReplyPayload&)
{
    TRY(check_may_sleep(call));
    auto ref = TRY(m_module.tracker().lookup(args.napi, napi_object, abi::name_of(call.id), "napi"));
    napi_of(ref).disable();
    return XpcReply {};
}

Result<XpcReply> NetWrappers::napi_schedule(IncomingCall const& call, abi::NapiArgs const& args, ReplyPayload&)
{
    auto ref = TRY(m_module.tracker().lookup(args.napi, napi_object, abi::name_of(call.id), "napi"));
    napi_of(ref).schedule();
    return XpcReply {};
}

Result<XpcReply> NetWrappers::napi_complete_done(IncomingCall const& call, abi::NapiCompleteArgs const& args, ReplyPayload&)
{
    auto ref = TRY(m_module.tracker().lookup(args.napi, napi_object, abi::name_of(call.id), "napi"));
    auto& napi = napi_of(ref);
    // Work done in one poll, whose budget is the context's weight.
    if (args.work_done < 0 || args.work_done > napi.weight())
        return NK_REJECT(call, "work_done {}: not 0..{} (the context's weight)", args.work_done, napi.weight());
    // The domain told the driver to unmask already; a poll missed meanwhile is rescheduled here.
    (void)napi.complete_done(args.work_done);
    return XpcReply {};
}

} // namespace nk
