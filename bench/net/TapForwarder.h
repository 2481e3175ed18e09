// SPDX-License-Identifier: MIT
#pragma once

// The ceiling of the emulated path: two TAP interfaces, one in each of two
// namespaces, and one thread per direction that copies every frame read from
// one to the other. It is what the kernel's path does (frames out of a TAP,
// into a TAP on the far side) without the net layer, the driver, the NIC model
// and the wire; the native mode's throughput over it says what those cost.
//
// Owns its namespaces and TAPs; the destructor stops the threads and removes
// them. Threads: the two copy threads, started by start().

#include "base/Error.h"
#include "base/UniqueFd.h"
#include "base/net/NetNamespace.h"
#include "base/net/Tap.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>

namespace nk::bench {

class TapForwarder {
public:
    struct Sides {
        std::string app_namespace;
        std::string app_address; // "10.83.0.1/24"
        std::string peer_namespace;
        std::string peer_address;
    };
    static Result<std::unique_ptr<TapForwarder>> start(Sides const& sides);
    ~TapForwarder();
    TapForwarder(TapForwarder const&) = delete;
    TapForwarder& operator=(TapForwarder const&) = delete;

    // CPU seconds both copy threads have used so far.
    Result<double> cpu_seconds() const;
    // Frames a full queue on the far side made it drop.
    uint64_t dropped() const { return m_dropped.load(std::memory_order_relaxed); }

private:
    TapForwarder(NetNamespace app, NetNamespace peer, Tap app_tap, Tap peer_tap, UniqueFd stop);
    void copy(Tap& from, Tap& to, clockid_t& clock);

    NetNamespace m_app;
    NetNamespace m_peer;
    Tap m_app_tap;
    Tap m_peer_tap;
    UniqueFd m_stop; // an eventfd: readable when the threads are to end
    std::atomic<uint64_t> m_dropped { 0 };
    clockid_t m_clocks[2] {};
    std::atomic<unsigned> m_started { 0 };
    std::thread m_threads[2];
};

} // namespace nk::bench
