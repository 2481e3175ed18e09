// SPDX-License-Identifier: MIT
#include "devices/nic/PeerHost.h"

#include "base/Log.h"
#include "base/net/Rtnetlink.h"
#include "kernel/events/EventLoop.h"

namespace nk {

namespace {

// The TAP's whole frame: the largest the segment carries, and some room.
constexpr size_t frame_buffer = EthernetSegment::max_frame + 64;

// Gives the interface its MAC, MTU and address, brings it (and the
// loopback) up and routes through the gateway; returns the MAC it has.
Result<MacAddress> configure(NetNamespace const& ns, PeerHostOptions const& options, Tap const& tap)
{
    auto rtnl = TRY(Rtnetlink::open(ns));
    if (options.mac)
        TRY(rtnl.set_mac(tap.name(), *options.mac));
    TRY(rtnl.set_mtu(tap.name(), options.mtu));
    TRY(rtnl.add_address(tap.name(), options.address));
    TRY(rtnl.set_up("lo", true));
    TRY(rtnl.set_up(tap.name(), true));
    if (options.gateway)
        TRY(rtnl.add_route(tap.name(), Ipv4Prefix(), *options.gateway));
    return TRY(rtnl.link(tap.name())).mac;
}

} // namespace

Result<std::unique_ptr<PeerHost>> PeerHost::create(EventLoop& loop, EthernetSegment& segment, PeerHostOptions options)
{
    auto context = fmt::format("peer host {}", options.name);
    auto fail = [&](Error&& error) { return std::unexpected(std::move(error).with_context(context)); };
    if (options.namespace_name.empty())
        options.namespace_name = "nooks-" + options.name;
    auto ns = NetNamespace::create(options.namespace_name);
    if (!ns)
        return fail(std::move(ns).error());
    auto tap = Tap::create(*ns, options.interface);
    if (!tap)
        return fail(std::move(tap).error());
    auto mac = configure(*ns, options, *tap);
    if (!mac)
        return fail(std::move(mac).error());

    std::unique_ptr<PeerHost> host(new PeerHost(std::move(options), std::move(*ns), std::move(*tap), *mac));
    auto source = loop.watch_fd(fmt::format("{} tap", host->name()), host->m_tap.fd(), [raw = host.get()] { raw->on_readable(); });
    if (!source)
        return fail(std::move(source).error());
    host->m_source = std::move(*source);
    host->m_port = segment.attach(*host, host->name());
    if (auto started = host->m_source->start(); !started)
        return fail(std::move(started).error());
    log::get("devices")->info("{}: {} {} on {} in namespace {}", context, host->interface(), host->address(), segment.name(),
        host->net_namespace().name());
    return host;
}

PeerHost::PeerHost(PeerHostOptions options, NetNamespace ns, Tap tap, MacAddress mac)
    : m_options(std::move(options))
    , m_namespace(std::move(ns))
    , m_tap(std::move(tap))
    , m_mac(mac)
    , m_frame(frame_buffer)
{
}

PeerHost::~PeerHost()
{
    // In this order: nothing reads the TAP, nothing writes it, nothing runs in
    // the namespace; then the TAP and the namespace go with the members.
    m_source.reset();
    m_port.reset();
    std::vector<NamespaceProcess> processes;
    {
        MutexLocker lock(m_mutex);
        processes.swap(m_processes);
    }
    for (auto& process : processes) {
        auto status = process.stop();
        log::get("devices")->debug("peer host {}: {} (pid {}) stopped: {}", name(), process.command(), process.pid(), status.describe());
    }
}

Result<pid_t> PeerHost::start(std::vector<std::string> const& argv)
{
    auto context = fmt::format("peer host {}", name());
    auto process = NamespaceProcess::start(m_namespace, argv);
    if (!process)
        return std::unexpected(std::move(process).error().with_context(context));
    auto status = process->wait_for(m_options.start_check);
    if (status.exited)
        return make_error(ErrorCode::FailedPrecondition, "{}: {} exited at once: {}", context, process->command(), status.describe());
    pid_t pid = process->pid();
    MutexLocker lock(m_mutex);
    m_processes.push_back(std::move(*process));
    return pid;
}

PeerHost::Stats PeerHost::stats() const
{
    return { .sent = m_sent.load(std::memory_order_relaxed),
        .received = m_received.load(std::memory_order_relaxed),
        .dropped = m_dropped.load(std::memory_order_relaxed) };
}

void PeerHost::receive(std::span<std::byte const> frame)
{
    auto written = m_tap.write(frame);
    if (written && *written) {
        m_received.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    m_dropped.fetch_add(1, std::memory_order_relaxed);
    if (!written)
        log::get("devices")->debug("peer host {}: {}", name(), written.error().message());
}

void PeerHost::on_readable()
{
    for (;;) {
        auto size = m_tap.read(m_frame);
        if (!size) {
            // A TAP that fails to read will not get better: stop watching it.
            log::get("devices")->error("peer host {}: {}; no longer reading its TAP", name(), size.error().message());
            m_source->stop();
            return;
        }
        if (*size == 0)
            return;
        m_sent.fetch_add(1, std::memory_order_relaxed);
        m_port->send(std::span(m_frame.data(), *size));
    }
}

} // namespace nk
