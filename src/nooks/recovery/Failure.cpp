// SPDX-License-Identifier: MIT
#include "nooks/recovery/Failure.h"

namespace nk {

char const* failure_cause_name(FailureCause cause)
{
    switch (cause) {
    case FailureCause::Signal: return "crash";
    case FailureCause::ForbiddenSyscall: return "forbidden-syscall";
    case FailureCause::Rejection: return "bad-parameter";
    case FailureCause::Livelock: return "livelock";
    case FailureCause::Panic: return "panic";
    case FailureCause::Misuse: return "api-misuse";
    case FailureCause::Exit: return "domain-exit";
    case FailureCause::Protocol: return "protocol";
    case FailureCause::Resources: return "too-many-resources";
    case FailureCause::Operator: return "operator";
    case FailureCause::Update: return "update";
    case FailureCause::StartFailure: return "start-failure";
    }
    return "?";
}

FailureCause failure_cause_of(ErrorCode code)
{
    switch (code) {
    case ErrorCode::InvalidArgument: return FailureCause::Rejection;
    case ErrorCode::DeadlineExceeded: return FailureCause::Livelock;
    case ErrorCode::Aborted: return FailureCause::Panic;
    case ErrorCode::FailedPrecondition: return FailureCause::Misuse;
    case ErrorCode::ResourceExhausted: return FailureCause::Resources;
    default: return FailureCause::Protocol;
    }
}

} // namespace nk
