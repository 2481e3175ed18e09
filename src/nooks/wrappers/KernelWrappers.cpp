// SPDX-License-Identifier: MIT
#include "nooks/wrappers/KernelWrappers.h"

#include "kernel/bus/BusDevice.h"
#include "nooks/module/IsolatedModule.h"

namespace nk {

KernelWrappers::KernelWrappers(IsolatedModule& module)
{
#define NK_X(cls) m_classes[static_cast<unsigned>(abi::ClassId::cls)] = make_##cls##_wrappers(module);
    NOOKS_CLASSES(NK_X)
#undef NK_X
}

// The endpoint has checked the id is valid and arrived by its delivery.
Result<XpcReply> KernelWrappers::handle_call(IncomingCall const& call, ReplyPayload& reply)
{
    return m_classes[static_cast<unsigned>(abi::class_of(call.id))]->handle(call, reply);
}

Result<void> KernelWrappers::handle_deferred(IncomingCall const& call)
{
    ReplyPayload none;
    TRY(handle_call(call, none));
    return {};
}

Result<BusDevice*> ClassWrappers::device(IncomingCall const& call, abi::ObjectHandle handle, char const* parameter) const
{
    auto ref = TRY(m_module.tracker().lookup(handle, ObjectType::Device, abi::name_of(call.id), parameter));
    return static_cast<BusDevice*>(ref.object);
}

Result<void> ClassWrappers::check_quota(IncomingCall const& call) const
{
    auto limit = m_module.options().max_objects;
    if (m_module.tracker().count() >= limit)
        return std::unexpected(Error(ErrorCode::ResourceExhausted,
            fmt::format("{}: the driver holds {} kernel objects, its limit (too many resources: a leak?)", abi::name_of(call.id), limit)));
    return {};
}

std::string ClassWrappers::printable(char const* bytes, size_t length)
{
    std::string result(bytes, length);
    // Logs and names are shown to people: no control characters from a driver.
    for (auto& c : result) {
        if (!std::isprint(static_cast<unsigned char>(c)) && c != '\t')
            c = '?';
    }
    return result;
}

} // namespace nk
