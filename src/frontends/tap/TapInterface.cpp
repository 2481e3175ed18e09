// SPDX-License-Identifier: MIT
#include "frontends/tap/TapInterface.h"

#include "base/Log.h"
#include "base/net/MulticastList.h"
#include "kernel/events/EventLoop.h"

#include <net/if.h>

#include <cstring>

namespace nk {

namespace {

// Frames read per turn of the loop before the device's queue runs.
constexpr size_t read_batch = 64;

auto logger() { return log::get("tap"); }

bool same_mode(nk_net_rx_mode const& a, nk_net_rx_mode const& b)
{
    return a.flags == b.flags && a.mc_count == b.mc_count && std::memcmp(a.mc, b.mc, sizeof(a.mc[0]) * a.mc_count) == 0;
}

} // namespace

Result<std::unique_ptr<TapInterface>> TapInterface::create(std::shared_ptr<NetDevice> device, NetNamespace const& ns, TapSpec spec,
    EventLoop& loop)
{
    auto tap = TRY(Tap::create(ns, spec.interface));
    auto requests = TRY(Rtnetlink::open(ns));
    auto mac = device->mac();
    TRY(requests.set_mac(spec.interface, MacAddress(mac)));
    TRY(requests.set_mtu(spec.interface, device->mtu()));
    TRY(requests.set_up(spec.interface, true));
    if (spec.address)
        TRY(requests.add_address(spec.interface, *spec.address));
    std::unique_ptr<TapInterface> interface(new TapInterface(std::move(device), ns, std::move(spec), std::move(tap), std::move(requests)));
    auto* raw = interface.get();
    interface->m_reader = TRY(loop.watch_fd(fmt::format("tap {}", interface->m_spec.interface), interface->m_tap.fd(),
        [raw] { raw->on_readable(); }));
    interface->m_device->attach_upper(raw);
    TRY(interface->m_tap.set_carrier(interface->m_device->carrier()));
    TRY(interface->m_reader->start());
    // The interface is up: the device opens.
    if (auto link = interface->m_requests.link(interface->m_spec.interface))
        interface->link_changed(*link);
    return interface;
}

TapInterface::TapInterface(std::shared_ptr<NetDevice> device, NetNamespace const& ns, TapSpec spec, Tap tap, Rtnetlink requests)
    : m_device(std::move(device))
    , m_namespace(ns)
    , m_spec(std::move(spec))
    , m_tap(std::move(tap))
    , m_requests(std::move(requests))
    , m_buffer(NK_NET_MAX_FRAME + 64)
{
}

TapInterface::~TapInterface()
{
    // No driver thread calls us after this; then the reader stops (synchronously).
    m_device->attach_upper(nullptr);
    m_reader.reset();
}

TapInterface::Stats TapInterface::stats() const
{
    return { m_from_stack.load(std::memory_order_relaxed), m_to_stack.load(std::memory_order_relaxed),
        m_dropped.load(std::memory_order_relaxed), m_pauses.load(std::memory_order_relaxed) };
}

void TapInterface::on_readable()
{
    auto& device = *m_device;
    auto limit = device.tx_queue_length();
    size_t read = 0;
    while (read < read_batch) {
        if (device.queued() >= limit) {
            // The device is behind: the stack's own queue holds the rest until
            // the device says it has room. Stopped before the pause is marked,
            // so a resume (on another thread) always comes after the stop; the
            // queue is looked at again after the device was asked, so a drain
            // in between is not missed.
            m_reader->stop();
            m_pauses.fetch_add(1, std::memory_order_relaxed);
            m_paused.store(true, std::memory_order_release);
            device.notify_when_room();
            if (device.queued() <= limit / 2)
                queue_woken();
            break;
        }
        auto length = m_tap.read(m_buffer);
        if (!length) {
            logger()->error("{}: reading the TAP failed: {}; it is no longer read", m_spec.interface, length.error());
            m_reader->stop();
            break;
        }
        if (*length == 0)
            break;
        ++read;
        m_from_stack.fetch_add(1, std::memory_order_relaxed);
        (void)device.enqueue(std::span(m_buffer).first(*length)); // a down device drops it (counted)
    }
    if (read > 0)
        device.run_queue();
}

void TapInterface::queue_woken()
{
    if (m_paused.exchange(false, std::memory_order_acq_rel))
        (void)m_reader->start();
}

void TapInterface::frame_received(std::span<std::byte const> frame)
{
    auto written = m_tap.write(frame);
    if (written && *written)
        m_to_stack.fetch_add(1, std::memory_order_relaxed);
    else
        m_dropped.fetch_add(1, std::memory_order_relaxed);
}

void TapInterface::carrier_changed(bool on)
{
    if (auto set = m_tap.set_carrier(on); !set)
        logger()->warn("{}: setting the carrier {}: {}", m_spec.interface, on ? "on" : "off", set.error());
}

void TapInterface::link_changed(LinkInfo const& link)
{
    auto& device = *m_device;
    if (link.up() && !device.up()) {
        if (auto opened = device.open(); !opened)
            logger()->error("{}: opening {} failed: {}", m_spec.interface, device.name(), opened.error());
    } else if (!link.up() && device.up()) {
        if (auto stopped = device.stop(); !stopped)
            logger()->error("{}: stopping {} failed: {}", m_spec.interface, device.name(), stopped.error());
    }
    if (link.mtu != 0 && link.mtu != device.mtu()) {
        if (auto changed = device.change_mtu(link.mtu); !changed) {
            logger()->warn("{}: MTU {} refused: {}; back to {}", m_spec.interface, link.mtu, changed.error(), device.mtu());
            (void)m_requests.set_mtu(m_spec.interface, device.mtu());
        }
    }
    if (link.mac.octets() != device.mac()) {
        if (auto changed = device.set_mac_address(link.mac.octets()); !changed) {
            logger()->warn("{}: MAC {} refused: {}; back to {}", m_spec.interface, link.mac, changed.error(), MacAddress(device.mac()));
            (void)m_requests.set_mac(m_spec.interface, MacAddress(device.mac()));
        }
    }
    m_last_link = link;
    apply_rx_mode(link);
}

void TapInterface::refresh()
{
    if (m_last_link)
        apply_rx_mode(*m_last_link);
    if (m_paused.load(std::memory_order_acquire) && m_device->queued() < m_device->tx_queue_length())
        queue_woken();
}

void TapInterface::apply_rx_mode(LinkInfo const& link)
{
    nk_net_rx_mode mode {};
    if (link.promiscuous())
        mode.flags |= NK_NET_RX_PROMISC;
    if (link.all_multicast())
        mode.flags |= NK_NET_RX_ALLMULTI;
    if (auto addresses = multicast_addresses(m_namespace, m_spec.interface)) {
        if (addresses->size() > NK_NET_MC_MAX) {
            mode.flags |= NK_NET_RX_ALLMULTI;
        } else {
            for (auto const& address : *addresses)
                std::memcpy(mode.mc[mode.mc_count++], address.octets().data(), NK_ETH_ALEN);
        }
    }
    if (m_last_mode && same_mode(*m_last_mode, mode))
        return;
    m_last_mode = mode;
    if (auto set = m_device->set_rx_mode(mode); !set)
        logger()->error("{}: setting the receive mode of {} failed: {}", m_spec.interface, m_device->name(), set.error());
}

} // namespace nk
