// SPDX-License-Identifier: MIT
#pragma once

// One run of the table: some applications of one class, together on one
// fresh stack in one mode, while the class's faults are injected one after
// another (each after the previous one was handled); then the stack is read
// back cold and every application verified from the device. One cell per
// application.

#include "tools/eval/AppEval.h"
#include "tools/eval/ClassEvaluation.h"

#include <functional>

namespace nk::eval {

// The kernel as `nooks ctl list` shows it: alive, the most failures and
// restarts of any driver, the class's failed requests.
struct KernelView {
    bool alive { false };
    unsigned failures { 0 };
    unsigned restarts { 0 };
    uint64_t failed_requests { 0 };
};
KernelView look(ClassEvaluation const& evaluation, EvalStack& stack);
// Waits (up to 10 s) until every failure the kernel counted has been recovered,
// or the kernel is gone.
void settle(ClassEvaluation const& evaluation, EvalStack& stack);
// Injects up to `count` faults of the class's schedule into its driver, one
// after another, each after the previous one fired and was recovered, until
// `finished` says the applications are done. Returns how many were injected.
unsigned inject_faults(ClassEvaluation const& evaluation, EvalStack& stack, unsigned count, std::string const& what,
    std::function<bool()> const& finished, std::function<void(std::string const&)> const& progress);

std::vector<Cell> run_cells(ClassEvaluation const& evaluation, EvalContext const& context, Options const& options, std::string const& mode,
    std::vector<Application const*> const& apps, std::function<void(std::string const&)> const& progress);

} // namespace nk::eval
