// SPDX-License-Identifier: MIT
#pragma once

// Everything that comes back from a protection domain is tainted until it is
// checked: a driver's return value is whatever the domain wrote into its reply,
// and the kernel must not branch on it, index with it or hand it on before it
// knows the value is one the driver's contract allows.
//
// A Tainted<T> gives up its value only through verify(): the value if the
// check accepts it, or else the driver has failed (a Rejection that names
// where the value came from, what it was and what was expected) and the
// caller gets DriverFailed. The one place every port checks what a driver
// returned, instead of a check-and-fail block in each.

#include "base/Error.h"

#include <fmt/format.h>

#include <algorithm>

#include <cstdint>
#include <string>
#include <string_view>

namespace nk {

// Who learns that a tainted value failed its check (the isolated module: it
// fails the driver).
class TaintSink {
public:
    virtual void reject_tainted(std::string message) = 0;

protected:
    ~TaintSink() = default;
};

template<typename T>
class [[nodiscard]] Tainted {
public:
    Tainted(T value, TaintSink& sink, char const* origin)
        : m_value(value)
        , m_sink(&sink)
        , m_origin(origin)
    {
    }

    // The value, if `accept(value)` holds; otherwise the driver has failed.
    template<typename Accept>
    Result<T> verify(Accept&& accept, std::string_view expected) const
    {
        if (accept(m_value))
            return m_value;
        m_sink->reject_tainted(fmt::format("{} returned {} ({})", m_origin, m_value, expected));
        return make_error(ErrorCode::DriverFailed, "{} returned garbage", m_origin);
    }

    // A result that must be 0 or a negative errno.
    Result<int> verify_errno() const
    {
        auto value = TRY(verify([](T v) { return v == 0 || (v < 0 && v >= -4095); }, "not 0 or a negative errno"));
        return static_cast<int>(value);
    }

    // A result that must be one of `allowed`.
    Result<T> verify_one_of(std::initializer_list<T> allowed, std::string_view expected) const
    {
        return verify([&](T v) { return std::find(allowed.begin(), allowed.end(), v) != allowed.end(); }, expected);
    }

private:
    T m_value;
    TaintSink* m_sink;
    char const* m_origin;
};

} // namespace nk
