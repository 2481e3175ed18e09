// SPDX-License-Identifier: MIT
#pragma once

// What the domain knows of its driver's net devices and napi contexts, so
// that the driver's questions about them are answered without crossing: a
// device's private pointer, and queue and carrier state as the driver made
// them (and as its start_xmit answers made them: BUSY stops the queue, as the
// kernel does); a napi context's device.
//
// Kept by type, apart from the runtime's handle cache (which holds drvdata
// and disk pointers under other handles): a handle of another type passed
// where a net device or napi context belongs (a napi context as a net device,
// a bus device with drvdata) finds no record here, so the stub writes through
// nothing and crosses with the handle for the kernel to reject.
//
// A device's record is made by nk_netdev_register (before netdev_ready
// crosses) and freed by nk_netdev_unregister; a context's by nk_napi_add and
// nk_napi_del. Thread-safety: every function may be called from any worker.

#include <nooks/net.h>

#include <atomic>
#include <cstdint>

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

    // The record of net device `dev`; null if `dev` is no net device the driver registered.
    static LocalNetdev* of(uint64_t dev);
    static LocalNetdev* of(nk_netdev* dev) { return of(reinterpret_cast<uint64_t>(dev)); }
    // Takes `record` as the record of `dev`.
    static void add(uint64_t dev, LocalNetdev* record);
    // Forgets `dev`'s record and returns it (the caller frees it); null if none.
    static LocalNetdev* remove(uint64_t dev);
};

// The net device napi context `napi` was added to; 0 if `napi` is no context the driver added.
uint64_t napi_device(uint64_t napi);
void add_napi(uint64_t napi, uint64_t dev);
void remove_napi(uint64_t napi);

} // namespace nk::runtime
