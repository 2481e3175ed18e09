// SPDX-License-Identifier: MIT
#include "tools/eval/Verdict.h"

namespace nk::eval {

char const* verdict_name(Verdict verdict)
{
    switch (verdict) {
    case Verdict::Ok: return "✓";
    case Verdict::Malfunction: return "MALFUNCTION";
    case Verdict::Crash: return "CRASH";
    case Verdict::Invalid: return "INVALID";
    }
    return "?";
}

void judge(Cell& cell, Observed const& observed)
{
    cell.faults_fired = observed.kernel_died ? 1 : observed.failures;
    cell.recoveries = observed.recoveries;
    cell.failed_requests = observed.failed_requests;
    auto const& result = observed.result;
    if (cell.faults_fired == 0) {
        // A cell where no fault fired says nothing about fault tolerance.
        cell.verdict = Verdict::Invalid;
        cell.why = result ? "no fault fired before the application finished" : fmt::format("failed with no fault: {}", result.error().message());
        return;
    }
    if (observed.kernel_died) {
        cell.verdict = Verdict::Crash;
        cell.why = fmt::format("the kernel died ({}) at the first fault; the application's devices went with it", observed.death);
        return;
    }
    if (!result) {
        // A wrong result is a malfunction; a failed program is a crash.
        bool wrong_output = result.error().code() == ErrorCode::IoError;
        cell.verdict = wrong_output ? Verdict::Malfunction : Verdict::Crash;
        auto message = result.error().message();
        if (message.size() > 280)
            message = message.substr(0, 280) + "...";
        cell.why = fmt::format("{} driver failures, {} recovered; {} failed requests reached the application; it {}: {}", observed.failures,
            observed.recoveries, observed.failed_requests, wrong_output ? "finished with wrong output" : "failed", message);
        return;
    }
    cell.verdict = Verdict::Ok;
    cell.why = fmt::format("{} driver failures, {} recovered, {} failed requests; {}", observed.failures, observed.recoveries,
        observed.failed_requests, *result);
    if (observed.failed_requests > 0) {
        cell.verdict = Verdict::Malfunction;
        cell.why += " (but I/O errors reached the application)";
    }
}

} // namespace nk::eval
