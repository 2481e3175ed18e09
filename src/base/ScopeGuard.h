// SPDX-License-Identifier: MIT
#pragma once

#include <utility>

namespace nk {

// Runs a callable when the scope ends, unless disarmed. Used for teardown that
// must happen on every path (unmount, detach, kill), including failed assertions.
template<typename Callback>
class [[nodiscard]] ScopeGuard {
public:
    explicit ScopeGuard(Callback callback)
        : m_callback(std::move(callback))
    {
    }
    ScopeGuard(ScopeGuard const&) = delete;
    ScopeGuard& operator=(ScopeGuard const&) = delete;
    ~ScopeGuard()
    {
        if (m_armed)
            m_callback();
    }
    void disarm() { m_armed = false; }

private:
    Callback m_callback;
    bool m_armed { true };
};

} // namespace nk
