// SPDX-License-Identifier: MIT
#pragma once

// A TAP interface inside a network namespace: Ethernet frames the namespace's
// stack sends on the interface are read here, frames written here are
// received by it. The interface lives as long as the object (it is not made
// persistent) and belongs to the namespace it was created in, whatever thread
// uses it afterwards.
//
// The descriptor is non-blocking and has no packet-information header
// (IFF_NO_PI): a read returns one whole frame, a write sends one. Watch fd()
// for readability with an EventLoop source.
//
// Thread-safety: read() from one thread at a time; write() and
// set_carrier() from any thread (each is one system call).

#include "base/Error.h"
#include "base/UniqueFd.h"

#include <cstddef>
#include <span>
#include <string>

namespace nk {

class NetNamespace;

class Tap {
public:
    // Longest interface name Linux takes (IFNAMSIZ - 1).
    static constexpr size_t max_name = 15;

    // Creates the TAP `name` inside `ns` (/dev/net/tun opened by a thread in the
    // namespace). InvalidArgument for a bad name; AlreadyExists if an interface
    // of that name exists there; NotFound if /dev/net/tun is missing; errors
    // read "tap NAME in namespace NS: TUNSETIFF: Device or resource busy".
    static Result<Tap> create(NetNamespace const& ns, std::string name);

    Tap(Tap&&) = default;
    Tap& operator=(Tap&&) = default;
    // Closes the descriptor: the interface goes.
    ~Tap() = default;

    std::string const& name() const { return m_name; }
    std::string const& namespace_name() const { return m_namespace; }
    // The interface's index in its namespace.
    int ifindex() const { return m_ifindex; }
    int fd() const { return m_fd.get(); }

    // Reads one frame into `buffer`: its size, or 0 when none is waiting. A
    // frame longer than the buffer is cut to it (use a buffer of the MTU plus
    // 18 bytes). The system's error otherwise.
    Result<size_t> read(std::span<std::byte> buffer);
    // Writes one frame: true if the namespace's stack took it, false if it was
    // dropped because the interface's queue is full (EAGAIN) or the
    // interface is down (EIO). The system's error otherwise.
    Result<bool> write(std::span<std::byte const> frame);
    // Carrier on or off (TUNSETCARRIER): what the stack sees as the cable.
    Result<void> set_carrier(bool on);

private:
    Tap(std::string name, std::string ns, int ifindex, UniqueFd fd)
        : m_name(std::move(name))
        , m_namespace(std::move(ns))
        , m_ifindex(ifindex)
        , m_fd(std::move(fd))
    {
    }
    std::string what() const;

    std::string m_name;
    std::string m_namespace;
    int m_ifindex;
    UniqueFd m_fd;
};

} // namespace nk
