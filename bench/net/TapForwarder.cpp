// SPDX-License-Identifier: MIT
#include "TapForwarder.h"

#include "base/net/Ipv4Prefix.h"
#include "base/net/Rtnetlink.h"

#include <array>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

namespace nk::bench {

namespace {

Result<void> configure(NetNamespace const& ns, std::string const& interface, std::string const& address)
{
    auto links = TRY(Rtnetlink::open(ns));
    TRY(links.set_up("lo", true));
    TRY(links.add_address(interface, TRY(Ipv4Prefix::parse(address))));
    TRY(links.set_up(interface, true));
    return {};
}

} // namespace

Result<std::unique_ptr<TapForwarder>> TapForwarder::start(Sides const& sides)
{
    auto app = TRY(NetNamespace::create(sides.app_namespace));
    auto peer = TRY(NetNamespace::create(sides.peer_namespace));
    auto app_tap = TRY(Tap::create(app, "nkf0"));
    auto peer_tap = TRY(Tap::create(peer, "nkf1"));
    TRY(app_tap.set_carrier(true));
    TRY(peer_tap.set_carrier(true));
    TRY(configure(app, "nkf0", sides.app_address));
    TRY(configure(peer, "nkf1", sides.peer_address));
    int stop = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (stop < 0)
        return std::unexpected(Error::from_errno(errno, "eventfd"));
    std::unique_ptr<TapForwarder> forwarder(new TapForwarder(std::move(app), std::move(peer), std::move(app_tap), std::move(peer_tap), UniqueFd(stop)));
    auto* raw = forwarder.get();
    raw->m_threads[0] = std::thread([raw] { raw->copy(raw->m_app_tap, raw->m_peer_tap, raw->m_clocks[0]); });
    raw->m_threads[1] = std::thread([raw] { raw->copy(raw->m_peer_tap, raw->m_app_tap, raw->m_clocks[1]); });
    // Their CPU clocks are known once both run.
    while (raw->m_started.load(std::memory_order_acquire) < 2)
        std::this_thread::yield();
    return forwarder;
}

TapForwarder::TapForwarder(NetNamespace app, NetNamespace peer, Tap app_tap, Tap peer_tap, UniqueFd stop)
    : m_app(std::move(app))
    , m_peer(std::move(peer))
    , m_app_tap(std::move(app_tap))
    , m_peer_tap(std::move(peer_tap))
    , m_stop(std::move(stop))
{
}

TapForwarder::~TapForwarder()
{
    uint64_t one = 1;
    (void)!::write(m_stop.get(), &one, sizeof(one));
    for (auto& thread : m_threads) {
        if (thread.joinable())
            thread.join();
    }
    // Then the members go in reverse order: the TAPs close before their namespaces are removed.
}

void TapForwarder::copy(Tap& from, Tap& to, clockid_t& clock)
{
    pthread_setname_np(pthread_self(), "nk-forwarder");
    pthread_getcpuclockid(pthread_self(), &clock);
    m_started.fetch_add(1, std::memory_order_release);
    std::array<std::byte, 65536 + 18> buffer;
    std::array<pollfd, 2> fds { pollfd { from.fd(), POLLIN, 0 }, pollfd { m_stop.get(), POLLIN, 0 } };
    for (;;) {
        if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR)
            return;
        if ((fds[1].revents & POLLIN) != 0)
            return;
        for (;;) {
            auto length = from.read(buffer);
            if (!length || *length == 0)
                break;
            auto written = to.write(std::span(buffer).first(*length));
            if (!written || !*written)
                m_dropped.fetch_add(1, std::memory_order_relaxed);
        }
    }
}

Result<double> TapForwarder::cpu_seconds() const
{
    double total = 0;
    for (auto clock : m_clocks) {
        timespec spent {};
        if (::clock_gettime(clock, &spent) != 0)
            return std::unexpected(Error::from_errno(errno, "clock_gettime of a forwarder thread"));
        total += static_cast<double>(spent.tv_sec) + static_cast<double>(spent.tv_nsec) / 1e9;
    }
    return total;
}

} // namespace nk::bench
