// SPDX-License-Identifier: MIT
#pragma once

// The kernel wrappers of one isolated driver: what its XPC endpoint calls for
// every driver -> kernel call. Each call goes to the wrappers of the class it
// belongs to (ClassWrappers), made once per driver for every class in
// src/abi/Interface.h.

#include "nooks/wrappers/ClassWrappers.h"

#include <array>

namespace nk {

class KernelWrappers final : public XpcHandler {
public:
    explicit KernelWrappers(IsolatedModule& module);

    Result<XpcReply> handle_call(IncomingCall const& call, ReplyPayload& reply) override;
    Result<void> handle_deferred(IncomingCall const& call) override;

private:
    std::array<std::unique_ptr<ClassWrappers>, abi::class_count> m_classes;
};

} // namespace nk
