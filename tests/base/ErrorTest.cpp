// SPDX-License-Identifier: MIT
#include "base/Error.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace nk {
namespace {

struct ErrnoCase {
    int sys_errno;
    ErrorCode code;
};

// Each errno lands in the category a caller acts on.
TEST(Error, FromErrno_MapsToCategory)
{
    std::vector<ErrnoCase> const cases {
        { EINVAL, ErrorCode::InvalidArgument },
        { E2BIG, ErrorCode::InvalidArgument },
        { ENAMETOOLONG, ErrorCode::InvalidArgument },
        { EFAULT, ErrorCode::InvalidArgument },
        { ENOENT, ErrorCode::NotFound },
        { ENODEV, ErrorCode::NotFound },
        { ENXIO, ErrorCode::NotFound },
        { EEXIST, ErrorCode::AlreadyExists },
        { EPERM, ErrorCode::PermissionDenied },
        { EACCES, ErrorCode::PermissionDenied },
        { ENOMEM, ErrorCode::ResourceExhausted },
        { ENOSPC, ErrorCode::ResourceExhausted },
        { EMFILE, ErrorCode::ResourceExhausted },
        { ENFILE, ErrorCode::ResourceExhausted },
        { EAGAIN, ErrorCode::Unavailable },
        { EBUSY, ErrorCode::Unavailable },
        { EINTR, ErrorCode::Unavailable },
        { ETIMEDOUT, ErrorCode::DeadlineExceeded },
        { EIO, ErrorCode::IoError },
        { ENOSYS, ErrorCode::Unimplemented },
        { EOPNOTSUPP, ErrorCode::Unimplemented },
        { EXDEV, ErrorCode::FailedPrecondition },
        { ENOTEMPTY, ErrorCode::FailedPrecondition },
    };
    for (auto const& entry : cases) {
        auto error = Error::from_errno(entry.sys_errno, "op");
        EXPECT_EQ(error.code(), entry.code) << std::strerror(entry.sys_errno) << ": got "
                                            << error_code_name(error.code());
        // The original errno is what an application sees.
        EXPECT_EQ(error.to_errno(), entry.sys_errno) << std::strerror(entry.sys_errno);
    }
}

// The message names the operation and includes the system's description.
TEST(Error, FromErrno_MessageNamesOperation)
{
    auto error = Error::from_errno(ENOENT, "open /nonexistent");
    EXPECT_EQ(error.message(), fmt::format("open /nonexistent: {}", std::strerror(ENOENT)));
}

// The single-argument form reads the thread's current errno.
TEST(Error, FromErrno_UsesCurrentErrno)
{
    errno = EACCES;
    auto error = Error::from_errno("open secret");
    EXPECT_EQ(error.code(), ErrorCode::PermissionDenied);
    EXPECT_EQ(error.to_errno(), EACCES);

    errno = EEXIST;
    auto result = errno_error("mkdir x");
    EXPECT_EQ(result.error().code(), ErrorCode::AlreadyExists);
    EXPECT_EQ(result.error().message(), fmt::format("mkdir x: {}", std::strerror(EEXIST)));
}

struct CodeErrno {
    ErrorCode code;
    int sys_errno;
};

// Errors created without an errno still give an application a meaningful, non-zero errno.
TEST(Error, ToErrno_DerivedFromCode)
{
    std::vector<CodeErrno> const cases {
        { ErrorCode::InvalidArgument, EINVAL },
        { ErrorCode::NotFound, ENOENT },
        { ErrorCode::AlreadyExists, EEXIST },
        { ErrorCode::PermissionDenied, EACCES },
        { ErrorCode::FailedPrecondition, EINVAL },
        { ErrorCode::ResourceExhausted, ENOMEM },
        { ErrorCode::Unavailable, EAGAIN },
        { ErrorCode::Aborted, EINTR },
        { ErrorCode::DeadlineExceeded, ETIMEDOUT },
        { ErrorCode::IoError, EIO },
        { ErrorCode::DriverFailed, EIO },
        { ErrorCode::Unimplemented, ENOSYS },
        { ErrorCode::Internal, EIO },
    };
    for (auto const& entry : cases) {
        Error error(entry.code, "message");
        EXPECT_EQ(error.to_errno(), entry.sys_errno) << error_code_name(entry.code);
        EXPECT_NE(error.to_errno(), 0) << error_code_name(entry.code);
    }
}

// An explicit errno wins over the code's default.
TEST(Error, ToErrno_ExplicitErrnoWins)
{
    Error error(ErrorCode::IoError, "short read", ENOSPC);
    EXPECT_EQ(error.to_errno(), ENOSPC);
    EXPECT_EQ(error.code(), ErrorCode::IoError);
}

// Only transient categories are worth retrying.
TEST(Error, Retryable_OnlyTransientCodes)
{
    EXPECT_TRUE(Error(ErrorCode::ResourceExhausted, "").retryable());
    EXPECT_TRUE(Error(ErrorCode::Unavailable, "").retryable());
    EXPECT_TRUE(Error(ErrorCode::Aborted, "").retryable());
    EXPECT_TRUE(Error(ErrorCode::DeadlineExceeded, "").retryable());
    EXPECT_TRUE(Error(ErrorCode::DriverFailed, "").retryable());

    EXPECT_FALSE(Error(ErrorCode::InvalidArgument, "").retryable());
    EXPECT_FALSE(Error(ErrorCode::NotFound, "").retryable());
    EXPECT_FALSE(Error(ErrorCode::AlreadyExists, "").retryable());
    EXPECT_FALSE(Error(ErrorCode::PermissionDenied, "").retryable());
    EXPECT_FALSE(Error(ErrorCode::FailedPrecondition, "").retryable());
    EXPECT_FALSE(Error(ErrorCode::IoError, "").retryable());
    EXPECT_FALSE(Error(ErrorCode::Unimplemented, "").retryable());
    EXPECT_FALSE(Error(ErrorCode::Internal, "").retryable());
}

// Retryability follows the errno's category.
TEST(Error, Retryable_FromErrno)
{
    EXPECT_TRUE(Error::from_errno(EAGAIN, "read").retryable());
    EXPECT_TRUE(Error::from_errno(ENOMEM, "alloc").retryable());
    EXPECT_FALSE(Error::from_errno(ENOENT, "open").retryable());
    EXPECT_FALSE(Error::from_errno(EINVAL, "ioctl").retryable());
}

// Context is prefixed, repeatedly, and code and errno are kept.
TEST(Error, WithContext_PrefixesMessage)
{
    auto error = Error::from_errno(ENOENT, "open x.so").with_context("loading driver");
    EXPECT_EQ(error.message(), fmt::format("loading driver: open x.so: {}", std::strerror(ENOENT)));
    EXPECT_EQ(error.code(), ErrorCode::NotFound);
    EXPECT_EQ(error.to_errno(), ENOENT);

    auto twice = Error(ErrorCode::Internal, "inner").with_context("middle").with_context("outer");
    EXPECT_EQ(twice.message(), "outer: middle: inner");
}

// make_error formats its message and carries the code.
TEST(Error, MakeError_FormatsMessage)
{
    auto error = make_error(ErrorCode::NotFound, "line {} of {}", 7, "disk0");
    EXPECT_EQ(error.error().code(), ErrorCode::NotFound);
    EXPECT_EQ(error.error().message(), "line 7 of disk0");
    EXPECT_EQ(fmt::format("[{}]", error.error()), "[line 7 of disk0]");
}

// Every code has a distinct printable name.
TEST(Error, CodeName_Distinct)
{
    std::vector<std::string> names;
    for (auto code = static_cast<unsigned>(ErrorCode::InvalidArgument); code <= static_cast<unsigned>(ErrorCode::Internal);
         ++code)
        names.emplace_back(error_code_name(static_cast<ErrorCode>(code)));
    EXPECT_EQ(names.front(), "invalid-argument");
    EXPECT_EQ(names.back(), "internal");
    for (size_t i = 0; i < names.size(); ++i) {
        for (size_t j = i + 1; j < names.size(); ++j)
            EXPECT_NE(names[i], names[j]);
    }
}

Result<int> half(int value)
{
    if (value % 2 != 0)
        return make_error(ErrorCode::InvalidArgument, "{} is odd", value);
    return value / 2;
}

Result<void> check_positive(int value)
{
    if (value <= 0)
        return make_error(ErrorCode::FailedPrecondition, "{} is not positive", value);
    return {};
}

Result<int> quarter(int value, int& steps)
{
    auto first = TRY(half(value));
    ++steps;
    auto second = TRY(half(first));
    ++steps;
    return second;
}

Result<std::string> describe(int value, int& steps)
{
    TRY(check_positive(value));
    ++steps;
    return fmt::format("{} is fine", value);
}

Result<std::unique_ptr<int>> make_boxed(int value)
{
    if (value < 0)
        return make_error(ErrorCode::InvalidArgument, "negative");
    return std::make_unique<int>(value);
}

Result<int> unbox(int value)
{
    auto boxed = TRY(make_boxed(value));
    return *boxed + 1;
}

// TRY yields the value of a successful Result and continues.
TEST(Error, Try_YieldsValue)
{
    int steps = 0;
    auto result = quarter(12, steps);
    ASSERT_TRUE(result.has_value()) << result.error().message();
    EXPECT_EQ(*result, 3);
    EXPECT_EQ(steps, 2);
}

// TRY returns the error from the enclosing function at the first failure.
TEST(Error, Try_PropagatesErrorAndStops)
{
    int steps = 0;
    auto early = quarter(7, steps);
    ASSERT_FALSE(early.has_value());
    EXPECT_EQ(early.error().message(), "7 is odd");
    EXPECT_EQ(early.error().code(), ErrorCode::InvalidArgument);
    EXPECT_EQ(steps, 0);

    steps = 0;
    auto late = quarter(6, steps);
    ASSERT_FALSE(late.has_value());
    EXPECT_EQ(late.error().message(), "3 is odd");
    EXPECT_EQ(steps, 1);
}

// TRY works on Result<void>, in a function with another value type.
TEST(Error, Try_VoidResult)
{
    int steps = 0;
    auto ok = describe(5, steps);
    ASSERT_TRUE(ok.has_value());
    EXPECT_EQ(*ok, "5 is fine");
    EXPECT_EQ(steps, 1);

    steps = 0;
    auto failed = describe(-1, steps);
    ASSERT_FALSE(failed.has_value());
    EXPECT_EQ(failed.error().code(), ErrorCode::FailedPrecondition);
    EXPECT_EQ(failed.error().message(), "-1 is not positive");
    EXPECT_EQ(steps, 0);
}

// TRY moves move-only values out of the Result.
TEST(Error, Try_MoveOnlyValue)
{
    EXPECT_EQ(unbox(41).value(), 42);
    auto failed = unbox(-1);
    ASSERT_FALSE(failed.has_value());
    EXPECT_EQ(failed.error().message(), "negative");
}

} // namespace
} // namespace nk
