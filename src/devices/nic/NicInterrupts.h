// SPDX-License-Identifier: MIT
#pragma once

// The interrupt logic of a NKNIC (<hw/nknic.h>): causes (ICR), their mask
// (IMS/IMC) and moderation (ITR). Plain state: the device holds it under its
// lock, applies the decisions (arms its moderation timer, raises the vector
// once its lock is released) and reads the time for it.
//
// The vector fires when ICR & IMS becomes non-zero: a new cause, ICS, or IMS
// enabling a pending cause. It does not fire again until ICR & IMS has been
// zero in between (reading ICR, IMC), as a level-triggered line would be seen
// by an edge-triggered controller. With ITR != 0, an interrupt that comes
// less than ITR x 256 ns after the previous one is deferred to that moment
// (the causes accumulate meanwhile); if ICR & IMS is zero by then, nothing
// fires.

#include <chrono>
#include <cstdint>
#include <optional>

namespace nk {

class NicInterrupts {
public:
    using Clock = std::chrono::steady_clock;

    // What the device must do after a change: raise the vector now, or arm
    // its moderation timer to expire `defer` from now and call expired() then.
    struct Decision {
        bool raise { false };
        std::optional<std::chrono::nanoseconds> defer;
        Decision& operator|=(Decision const& other);
    };

    uint32_t causes() const { return m_icr; }
    uint32_t mask() const { return m_ims; }
    uint32_t interval() const { return m_itr; }
    bool asserted() const { return m_asserted; }
    bool deferred() const { return m_deferred; }

    // Causes that happened (or ICS).
    Decision set(uint32_t causes, Clock::time_point now);
    // An ICR read: the causes, cleared.
    uint32_t read_and_clear();
    // IMS: enables `causes` in addition to those enabled.
    Decision enable(uint32_t causes, Clock::time_point now);
    // IMC: disables `causes`.
    void disable(uint32_t causes);
    // ITR.
    void set_interval(uint32_t itr) { m_itr = itr; }
    // The moderation timer expired. Ignored before the deferred moment (a
    // callback of a timer that was re-armed since) and when nothing is deferred.
    Decision expired(Clock::time_point now);
    // Fires what is deferred now (the moderation timer could not be armed).
    Decision flush(Clock::time_point now);
    // Power-on state: no cause, all masked, no moderation, nothing deferred.
    void reset() { *this = NicInterrupts(); }

private:
    Decision update(Clock::time_point now);
    Decision fire(Clock::time_point now);

    uint32_t m_icr { 0 };
    uint32_t m_ims { 0 };
    uint32_t m_itr { 0 };
    // The vector fired (or its firing is deferred) since ICR & IMS became non-zero.
    bool m_asserted { false };
    // The moderation timer is armed.
    bool m_deferred { false };
    Clock::time_point m_due {}; // when the deferred interrupt may fire
    std::optional<Clock::time_point> m_last_fired;
};

} // namespace nk
