// SPDX-License-Identifier: MIT
#pragma once

// The kernel wrappers: the kernel's side of every driver -> kernel call of an
// isolated driver (abi/Interface.h). Each body decodes and checks every
// argument first (handles against the object tracker, with the right type;
// addresses against the domain's memory; sizes, ranges, enum values, strings),
// rejects with a message that names the function and the argument, and only
// then acts on the kernel services the native API uses too. Objects the driver
// gains are tracked with their release function; objects it gives back are
// untracked.
//
// Called on the kernel thread that is waiting on the channel the call came
// in on, inside that thread's crossing into the driver.

#include "base/ThreadAnnotations.h"
#include <map>
#include <mutex>
#include "nooks/xpc/XpcEndpoint.h"

namespace nk {

class IsolatedModule;
class IsolatedBlockPort;
class BusDevice;

class KernelWrappers final : public XpcHandler {
public:
    explicit KernelWrappers(IsolatedModule& module)
        : m_module(module)
    {
    }

    Result<XpcReply> handle_call(IncomingCall const& call, ReplyPayload& reply) override;
    Result<void> handle_deferred(abi::KernelCall id, std::span<uint64_t const, 3> words) override;

    // One body per kernel call, named after it; dispatch() switches over the
    // interface list, so a missing body does not compile.
#define NK_X(name, delivery) Result<XpcReply> name(IncomingCall const& call, ReplyPayload& reply);
    NOOKS_KERNEL_CALLS(NK_X)
#undef NK_X

private:
    Result<XpcReply> dispatch(IncomingCall const& call, ReplyPayload& reply);
    Result<BusDevice*> device(IncomingCall const& call, unsigned word, char const* parameter);
    // The irq must be a line of a device this driver holds.
    Result<void> check_own_irq(IncomingCall const& call, uint32_t irq);
    Result<std::string> text(IncomingCall const& call, size_t limit, char const* parameter);
    // A call that makes the driver hold one more object: refused past the quota.
    Result<void> check_quota(IncomingCall const& call);

    IsolatedModule& m_module;
    // Ports of disks registered but not yet known to the driver (blk_disk_ready).
    std::mutex m_unready_mutex;
    std::map<uint64_t, IsolatedBlockPort*> m_unready NK_GUARDED_BY(m_unready_mutex);
};

// "nk_iomap: <what>" as an InvalidArgument error: a rejected parameter.
#define NK_REJECT(call, ...) std::unexpected(Error(ErrorCode::InvalidArgument, fmt::format("{}: {}", abi::name_of((call).id), fmt::format(__VA_ARGS__))))

} // namespace nk
