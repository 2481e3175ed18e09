// SPDX-License-Identifier: MIT
#pragma once

// What went wrong with a driver: the record every detection path produces and
// the recovery manager, `nooks ctl failures` and the tests read.

#include "base/Error.h"

#include <chrono>
#include <cstdint>
#include <string>

namespace nk {

enum class FailureCause : uint8_t {
    Signal,           // the driver crashed: SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT...
    ForbiddenSyscall, // seccomp stopped a system call the runtime does not allow
    Rejection,        // a wrapper rejected a parameter
    Livelock,         // a call into the driver did not return in time
    Panic,            // the driver called nk_panic / nk_bug
    Misuse,           // a rule of the API broken (sleeping in atomic context, a bad free)
    Exit,             // the domain process ended for another reason
    Protocol,         // the domain broke the XPC protocol
    Resources,        // the driver held too many resources
    Operator,         // an operator asked for it
    Update,           // an operator swapped in a new driver binary (a live update)
    StartFailure,     // the driver could not be loaded or initialized
};

char const* failure_cause_name(FailureCause cause);

// What an error from a wrapper or the XPC endpoint says about the driver. The
// codes they fail a call with, one per kind of driver failure:
//   InvalidArgument     a parameter failed its check        -> Rejection
//   DeadlineExceeded    no answer within livelock_ms         -> Livelock
//   Aborted             the driver called nk_panic           -> Panic
//   FailedPrecondition  a rule of the API broken             -> Misuse
//   ResourceExhausted   more kernel objects than its quota   -> Resources
//   anything else       the domain broke the XPC protocol    -> Protocol
FailureCause failure_cause_of(ErrorCode code);

struct FailureRecord {
    FailureCause cause { FailureCause::Exit };
    std::string module;
    std::string message;      // one line, says what happened and where
    uint64_t detected_ns { 0 }; // monotonic
    std::chrono::system_clock::time_point when {};
    int signal { 0 };
    uint64_t address { 0 };   // faulting address (signals)
    uint64_t ip { 0 };        // instruction pointer in the domain
    std::string function;     // the driver function containing ip, "nkdisk_queue_rq+0x1c"
    std::string syscall;      // forbidden system call name
};

} // namespace nk
