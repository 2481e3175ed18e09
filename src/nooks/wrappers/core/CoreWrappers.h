// SPDX-License-Identifier: MIT
#pragma once

// The core wrappers (src/abi/core/Calls.h): bus, register windows, DMA,
// interrupts, timers, work, logging. See ClassWrappers for the contract.

#include "nooks/wrappers/ClassWrappers.h"

namespace nk {

class CoreWrappers final : public ClassWrappers {
public:
    using ClassWrappers::ClassWrappers;

    Result<XpcReply> handle(IncomingCall const& call, ReplyPayload& reply) override;

    // One body per call, named after it; handle() switches over the list, so a
    // missing body does not compile.
#define NK_X(cls, name, delivery, Args) Result<XpcReply> name(IncomingCall const& call, abi::Args const& args, ReplyPayload& reply);
    NOOKS_CORE_KERNEL_CALLS(NK_X)
#undef NK_X

private:
    // The irq must be a line of a device this driver holds.
    Result<void> check_own_irq(IncomingCall const& call, uint32_t irq) const;
    // The irq must be a line this driver requested.
    Result<void> check_requested_irq(IncomingCall const& call, uint32_t irq) const;
};

} // namespace nk
