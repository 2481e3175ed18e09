// SPDX-License-Identifier: MIT
#pragma once

namespace nk {

// A Badge<T> parameter restricts a public method to callers of type T: only T
// can construct the badge. Used for calls only the recovery manager or the
// kernel itself may make.
template<typename T>
class Badge {
    friend T;
    constexpr Badge() = default;

public:
    Badge(Badge const&) = delete;
    Badge& operator=(Badge const&) = delete;
};

} // namespace nk
