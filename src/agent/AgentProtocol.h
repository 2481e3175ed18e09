// SPDX-License-Identifier: MIT
#pragma once

// The kernel asks the user-mode agent what to do about a failed driver, over
// the agent's UNIX socket (one JSON line each way, as on the control socket):
//
//   kernel -> agent  {"command": "failure", "driver": "nkdisk", "class": "block",
//                     "path": "/.../nkdisk.so", "cause": "crash", "message": "...",
//                     "time_ms": 1764240000000}
//   agent -> kernel  {"ok": true, "action": "restart" | "give-up" | "replace",
//                     "delay_ms": 200, "replacement": "/.../other.so",
//                     "reason": "backoff: failure 3 within 60 s"}
//
// Each side accepts only root or the other side's own user (SO_PEERCRED). No
// answer within the kernel's timeout means the built-in policy applies.

#include "agent/Policy.h"
#include "base/Error.h"

#include <chrono>
#include <string>

namespace nk {

struct FailureEvent {
    std::string driver;
    std::string driver_class;
    std::string path;
    std::string cause;
    std::string message;
    int64_t time_ms { 0 };
};

// Asks the agent at `socket`. The error is why it could not answer (no agent,
// untrusted peer, timeout, nonsense); the caller then uses its own policy.
Result<PolicyDecision> ask_agent(std::string const& socket, FailureEvent const& event, std::chrono::milliseconds timeout);

} // namespace nk
