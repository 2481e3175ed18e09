// SPDX-License-Identifier: MIT
#include "base/Error.h"

#include <cstring>

namespace nk {

char const* error_code_name(ErrorCode code)
{
    switch (code) {
    case ErrorCode::InvalidArgument: return "invalid-argument";
    case ErrorCode::NotFound: return "not-found";
    case ErrorCode::AlreadyExists: return "already-exists";
    case ErrorCode::PermissionDenied: return "permission-denied";
    case ErrorCode::FailedPrecondition: return "failed-precondition";
    case ErrorCode::ResourceExhausted: return "resource-exhausted";
    case ErrorCode::Unavailable: return "unavailable";
    case ErrorCode::Aborted: return "aborted";
    case ErrorCode::DeadlineExceeded: return "deadline-exceeded";
    case ErrorCode::IoError: return "io-error";
    case ErrorCode::DriverFailed: return "driver-failed";
    case ErrorCode::Unimplemented: return "unimplemented";
    case ErrorCode::Internal: return "internal";
    }
    return "unknown";
}

static ErrorCode code_for_errno(int e)
{
    switch (e) {
    case EINVAL:
    case E2BIG:
    case ENAMETOOLONG:
    case EFAULT:
        return ErrorCode::InvalidArgument;
    case ENOENT:
    case ENODEV:
    case ENXIO:
        return ErrorCode::NotFound;
    case EEXIST:
        return ErrorCode::AlreadyExists;
    case EPERM:
    case EACCES:
        return ErrorCode::PermissionDenied;
    case ENOMEM:
    case ENOSPC:
    case EMFILE:
    case ENFILE:
        return ErrorCode::ResourceExhausted;
    case EAGAIN:
    case EBUSY:
    case EINTR:
        return ErrorCode::Unavailable;
    case ETIMEDOUT:
        return ErrorCode::DeadlineExceeded;
    case EIO:
        return ErrorCode::IoError;
    case ENOSYS:
    case EOPNOTSUPP:
        return ErrorCode::Unimplemented;
    default:
        return ErrorCode::FailedPrecondition;
    }
}

Error Error::from_errno(int sys_errno, std::string_view what)
{
    return Error(code_for_errno(sys_errno), fmt::format("{}: {}", what, std::strerror(sys_errno)), sys_errno);
}

int Error::to_errno() const
{
    if (m_errno != 0)
        return m_errno;
    switch (m_code) {
    case ErrorCode::InvalidArgument: return EINVAL;
    case ErrorCode::NotFound: return ENOENT;
    case ErrorCode::AlreadyExists: return EEXIST;
    case ErrorCode::PermissionDenied: return EACCES;
    case ErrorCode::FailedPrecondition: return EINVAL;
    case ErrorCode::ResourceExhausted: return ENOMEM;
    case ErrorCode::Unavailable: return EAGAIN;
    case ErrorCode::Aborted: return EINTR;
    case ErrorCode::DeadlineExceeded: return ETIMEDOUT;
    case ErrorCode::IoError: return EIO;
    case ErrorCode::DriverFailed: return EIO;
    case ErrorCode::Unimplemented: return ENOSYS;
    case ErrorCode::Internal: return EIO;
    }
    return EIO;
}

bool Error::retryable() const
{
    switch (m_code) {
    case ErrorCode::ResourceExhausted:
    case ErrorCode::Unavailable:
    case ErrorCode::Aborted:
    case ErrorCode::DeadlineExceeded:
    case ErrorCode::DriverFailed:
        return true;
    default:
        return false;
    }
}

Error&& Error::with_context(std::string_view context) &&
{
    m_message = fmt::format("{}: {}", context, m_message);
    return std::move(*this);
}

} // namespace nk
