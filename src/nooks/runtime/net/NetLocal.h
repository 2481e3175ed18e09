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

struct LocalNetdev {
    void* private_data { nullptr };
    std::atomic<bool> queue_stopped { true };
    std::atomic<bool> carrier { false };
    // Set when a start_xmit of the batch under way answered BUSY (the
    // domain answers BUSY for the rest of the batch). The batch's calls run
    // one at a time on one worker.
    bool batch_busy { false };

    static LocalNetdev* of(nk_netdev* dev) { return static_cast<LocalNetdev*>(Runtime::the().recall(reinterpret_cast<uint64_t>(dev))); }
    static LocalNetdev* of(uint64_t dev) { return static_cast<LocalNetdev*>(Runtime::the().recall(dev)); }
};

} // namespace nk::runtime
