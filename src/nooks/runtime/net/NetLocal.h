// SPDX-License-Identifier: MIT
#pragma once

// What the domain knows of a net device of its driver, so that the driver's
// questions about it are answered without crossing: its private pointer, and
// queue and carrier state as the driver made them (and as its start_xmit
// answers made them: BUSY stops the queue, as the kernel does).
//
// Made by nk_netdev_register before it crosses (kept in the runtime's handle
// cache under the device's handle), freed by nk_netdev_unregister.

#include "nooks/runtime/Runtime.h"

#include <nooks/net.h>

#include <atomic>

namespace nk::runtime {

// A flag and the number of the change that set it, in one word, so that the
// number order is the order of the flag's values.
class SequencedFlag {
public:
    explicit SequencedFlag(bool initial)
        : m_word(initial ? 1 : 0)
    {
    }
    // Sets it; returns the change's number (1, 2, ...).
    uint32_t set(bool value)
    {
        auto old = m_word.load(std::memory_order_relaxed);
        uint64_t next = 0;
        do {
            next = (((old >> 1) + 1) << 1) | (value ? 1u : 0u);
        } while (!m_word.compare_exchange_weak(old, next, std::memory_order_acq_rel, std::memory_order_relaxed));
        return static_cast<uint32_t>(next >> 1);
    }
    bool get() const { return (m_word.load(std::memory_order_acquire) & 1) != 0; }

private:
    std::atomic<uint64_t> m_word;
};

struct LocalNetdev {
    void* private_data { nullptr };
    SequencedFlag queue_stopped { true };
    SequencedFlag carrier { false };
    // Set when a start_xmit of the batch under way answered BUSY (the
    // domain answers BUSY for the rest of the batch). The batch's calls run
    // one at a time on one worker.
    bool batch_busy { false };

    static LocalNetdev* of(nk_netdev* dev) { return static_cast<LocalNetdev*>(Runtime::the().recall(reinterpret_cast<uint64_t>(dev))); }
    static LocalNetdev* of(uint64_t dev) { return static_cast<LocalNetdev*>(Runtime::the().recall(dev)); }
};

} // namespace nk::runtime
