// SPDX-License-Identifier: MIT
#pragma once

// Errors travel in return values: every fallible kernel function returns
// Result<T>. An Error carries a code that tells the caller whether retrying can
// help (the codes follow Abseil's status semantics), the errno an application
// would see, and a message that names the operation that failed.

#include <cerrno>
#include <expected>
#include <string>
#include <utility>

#include <fmt/format.h>

namespace nk {

enum class ErrorCode : unsigned char {
    InvalidArgument,    // The caller asked for something malformed. Retrying cannot help.
    NotFound,           // What was named does not exist. Retrying cannot help.
    AlreadyExists,      // Retrying cannot help.
    PermissionDenied,   // Retrying cannot help until privileges change.
    FailedPrecondition, // The system is not in a state that allows this; fix the state first.
    ResourceExhausted,  // Out of memory, tags, slots... Retrying later may help.
    Unavailable,        // Transient: the component is restarting or busy. Retrying helps.
    Aborted,            // Interrupted by a concurrent failure; retry the whole operation.
    DeadlineExceeded,   // Took too long. Retrying may help.
    IoError,            // The device or medium reported an error.
    DriverFailed,       // The driver faulted; recovery may bring it back.
    Unimplemented,      // Not built (yet).
    Internal,           // A kernel invariant broke. A bug in nooks itself.
};

[[nodiscard]] char const* error_code_name(ErrorCode code);

class [[nodiscard]] Error {
public:
    Error(ErrorCode code, std::string message, int sys_errno = 0)
        : m_code(code)
        , m_errno(sys_errno)
        , m_message(std::move(message))
    {
    }

    // An error from a failed system call; `what` names the operation ("open /dev/fuse").
    static Error from_errno(int sys_errno, std::string_view what);
    static Error from_errno(std::string_view what) { return from_errno(errno, what); }

    ErrorCode code() const { return m_code; }
    std::string const& message() const { return m_message; }
    // The errno an application should see for this error (never 0).
    int to_errno() const;
    // True if the same call may succeed later without anything else changing.
    bool retryable() const;

    // Prefixes the message with more context: "loading driver: open x.so: No such file".
    Error&& with_context(std::string_view context) &&;

private:
    ErrorCode m_code;
    int m_errno;
    std::string m_message;
};

template<typename T>
using Result = std::expected<T, Error>;

template<typename... Args>
[[nodiscard]] std::unexpected<Error> make_error(ErrorCode code, fmt::format_string<Args...> format, Args&&... args)
{
    return std::unexpected(Error(code, fmt::format(format, std::forward<Args>(args)...)));
}

[[nodiscard]] inline std::unexpected<Error> errno_error(std::string_view what)
{
    return std::unexpected(Error::from_errno(what));
}

namespace detail {
template<typename T>
decltype(auto) take_value(std::expected<T, Error>&& result)
{
    if constexpr (std::is_void_v<T>)
        return;
    else
        return std::move(*result);
}
}

} // namespace nk

// TRY(expr): evaluates a Result; returns its error from the enclosing function,
// or yields its value. Uses a GNU statement expression (GCC and Clang).
#define TRY(...)                                                                       \
    ({                                                                                 \
        auto&& _nk_try_result = (__VA_ARGS__);                                         \
        if (!_nk_try_result.has_value()) [[unlikely]]                                  \
            return std::unexpected(std::move(_nk_try_result).error());                 \
        ::nk::detail::take_value(std::move(_nk_try_result));                           \
    })

template<>
struct fmt::formatter<nk::Error> : fmt::formatter<std::string_view> {
    auto format(nk::Error const& error, format_context& ctx) const
    {
        return fmt::formatter<std::string_view>::format(error.message(), ctx);
    }
};
