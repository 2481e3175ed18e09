// SPDX-License-Identifier: MIT
#pragma once

// The wrappers of one class: the kernel's side of the class's driver ->
// kernel calls (src/abi/<class>/Calls.h) for one isolated driver. handle() is
// a switch generated from the class's list; each case decodes the call's
// arguments struct (one copy out of shared memory, exactly its size) and
// passes it to the body named after the call. A body checks every field
// first (handles against the object tracker, with the right type; addresses
// against the domain's memory; sizes, ranges, enum values, strings), rejects
// with a message that names the function and the argument, and only then acts
// on the kernel services the native API uses too. Objects the driver gains
// are tracked with their release function; objects it gives back untracked.
//
// Called on the kernel thread waiting on the channel the call came in on,
// inside that thread's crossing into the driver; deferred calls on the thread
// that received the message they came with.

#include "abi/Interface.h"
#include "nooks/xpc/XpcEndpoint.h"

#include <cstring>
#include <memory>
#include <string>

namespace nk {

class BusDevice;
class IsolatedModule;

class ClassWrappers {
public:
    explicit ClassWrappers(IsolatedModule& module)
        : m_module(module)
    {
    }
    virtual ~ClassWrappers() = default;
    ClassWrappers(ClassWrappers const&) = delete;
    ClassWrappers& operator=(ClassWrappers const&) = delete;

    // A call of this class. An error rejects it: the driver has failed.
    virtual Result<XpcReply> handle(IncomingCall const& call, ReplyPayload& reply) = 0;

protected:
    // The call's arguments, copied out of shared memory: exactly sizeof(Args) bytes.
    template<typename Args>
    static Result<Args> decode(IncomingCall const& call);

    // The device `handle` names, if the driver holds it.
    Result<BusDevice*> device(IncomingCall const& call, abi::ObjectHandle handle, char const* parameter) const;
    // A call that makes the driver hold one more object: refused past its quota.
    Result<void> check_quota(IncomingCall const& call) const;
    // A NUL-terminated name from a fixed array: rejected if unterminated or empty.
    template<size_t N>
    static Result<std::string> name(IncomingCall const& call, char const (&array)[N], char const* parameter);
    // Text shown to people (logs, names): control characters replaced.
    template<unsigned N>
    static Result<std::string> text(IncomingCall const& call, abi::Text<N> const& text, char const* parameter);

    IsolatedModule& m_module;

private:
    static std::string printable(char const* bytes, size_t length);
};

// "nk_iomap: <what>" as an InvalidArgument error: a rejected parameter.
#define NK_REJECT(call, ...) \
    std::unexpected(Error(ErrorCode::InvalidArgument, fmt::format("{}: {}", abi::name_of((call).id), fmt::format(__VA_ARGS__))))

template<typename Args>
Result<Args> ClassWrappers::decode(IncomingCall const& call)
{
    Args args {};
    if (call.args.size() != abi::wire_size<Args>)
        return NK_REJECT(call, "{} bytes of arguments, it takes {}", call.args.size(), abi::wire_size<Args>);
    if constexpr (abi::wire_size<Args> > 0)
        std::memcpy(&args, call.args.data(), sizeof(Args));
    return args;
}

template<size_t N>
Result<std::string> ClassWrappers::name(IncomingCall const& call, char const (&array)[N], char const* parameter)
{
    auto length = strnlen(array, N);
    if (length == N)
        return NK_REJECT(call, "{}: not NUL-terminated", parameter);
    if (length == 0)
        return NK_REJECT(call, "{}: empty", parameter);
    return printable(array, length);
}

template<unsigned N>
Result<std::string> ClassWrappers::text(IncomingCall const& call, abi::Text<N> const& text, char const* parameter)
{
    if (text.length > N)
        return NK_REJECT(call, "{}: length {} (at most {})", parameter, text.length, N);
    return printable(text.bytes, text.length);
}

// One factory per class (src/nooks/wrappers/<class>), made for every isolated driver.
#define NK_X(cls) std::unique_ptr<ClassWrappers> make_##cls##_wrappers(IsolatedModule& module);
NOOKS_CLASSES(NK_X)
#undef NK_X

} // namespace nk
