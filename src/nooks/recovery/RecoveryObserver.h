// SPDX-License-Identifier: MIT
#pragma once

// Who wants to know how a driver's recovery ends: a class's shadow driver,
// which plays the kernel's part when the driver is back and lets go of what it
// kept when the driver is given up.
//
// Called on the recovering driver's own recovery thread, after the stages that
// lead there; never with the manager's lock held.

namespace nk {

class IsolatedModule;

class RecoveryObserver {
public:
    // The failed instance's threads have left it and its interrupts are
    // masked; its devices are about to be reset. A shadow may let a device
    // finish what the driver had handed it (a sound card playing out its
    // ring) before the reset; the recovery waits for it.
    virtual void driver_stopping(IsolatedModule& failed) { }
    // The driver's next instance is up (re-initialized, its devices back),
    // before it is marked live.
    virtual void driver_restarted(IsolatedModule& fresh) { }
    // The policy gave up on the driver: `failed` is its last instance (its
    // name() is the driver's). Only that driver's devices are concerned.
    virtual void driver_given_up(IsolatedModule& failed) { }

protected:
    ~RecoveryObserver() = default;
};

} // namespace nk
