// SPDX-License-Identifier: MIT
#pragma once

#include <nooks/kernel.h>

#include <cstdint>
#include <string>

namespace nk {

class Module;

// What runs when an interrupt line fires: a driver's handler, reached directly
// (native) or across a protection domain (isolated). Created by nk_request_irq.
//
// handle() is called by the interrupt controller on the delivering kernel
// thread, never concurrently for the same line. It returns what the handler
// returned, or NK_IRQ_NONE if the handler could not run (its driver failed).
class IrqAction {
public:
    IrqAction(Module& owner, std::string name, void* dev_id)
        : m_owner(owner)
        , m_name(std::move(name))
        , m_dev_id(dev_id)
    {
    }
    virtual ~IrqAction() = default;

    virtual nk_irqreturn_t handle(uint32_t irq) = 0;

    // free_irq or a waiting disable_irq is about to wait for this action's
    // running handler. A handler that has not reached its driver yet, and
    // may be waiting for the very thread that waits here (an isolated
    // driver's channels all busy, one of them running that free_irq), must
    // give up instead and return NK_IRQ_NONE. Nests; undone by readmit().
    // Called with the line's lock held, possibly while handle() runs on
    // another thread: must not block.
    virtual void withdraw() { }
    virtual void readmit() { }

    Module& owner() const { return m_owner; }
    std::string const& name() const { return m_name; }
    void* dev_id() const { return m_dev_id; }

private:
    Module& m_owner;
    std::string m_name;
    void* m_dev_id;
};

} // namespace nk
