// SPDX-License-Identifier: MIT
#pragma once

// One driver class's rows of the fault-tolerance table: the driver its faults
// are injected into, the stack its applications run on, the applications (each
// runs, then is verified again from the device after the stack is read back
// cold), and the faults injected one after another while they run. The table
// (tools/eval/AppEval.h) is built from these, so a class adds rows, not a copy
// of the evaluation. One per class, in src/tools/eval/<class>.
//
// Thread-safety: an evaluation is immutable; its applications run
// concurrently on one stack (each in its own directory).

#include "base/Error.h"
#include "harness/KernelProcess.h"
#include "harness/Workloads.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace nk::eval {

// What the applications of one cell run on, for one mode; torn down (safely)
// when it goes.
class EvalStack {
public:
    virtual ~EvalStack() = default;
    virtual harness::KernelProcess& kernel() = 0;
    virtual std::string control() const = 0;
    // A directory application `app` works in (created).
    virtual Result<std::string> workspace(std::string const& app) = 0;
    // Reads the stack back cold (unmount, drop caches, mount again), so what
    // the applications verify next comes from the device.
    virtual Result<void> reread() = 0;
    // Checks the stack's own consistency (e2fsck for a file system); says what it found.
    virtual Result<std::string> check() = 0;
    // Tears the stack down in order and checks the kernel exited cleanly.
    virtual Result<void> stop() = 0;
};

struct Application {
    std::string name;                  // "database"
    std::string label;                 // "database (sqlite3)"
    std::vector<std::string> programs; // what must be installed
    // Runs in `dir` (its output durable on the device when it returns).
    std::function<Result<harness::WorkloadReport>(std::string const& dir)> run;
    // Checks the output again, as read back from the device. An IoError means
    // wrong output (a malfunction); anything else, a failed check.
    std::function<Result<harness::WorkloadReport>(std::string const& dir)> verify;
};

// A fault injected while the applications run: fault and entry, as `nooks ctl inject` takes them.
struct FaultStep {
    char const* fault;
    char const* entry;
};

struct EvalContext {
    std::string nooks_binary;
    std::string work_root;                // where stacks and references go
    std::string device_size { "256MiB" }; // of the device the stack is built on, where it has a size
    // Called after each step of building a stack, with what it did.
    std::function<void(std::string const& step, std::string const& detail)> on_step;
};

class ClassEvaluation {
public:
    virtual ~ClassEvaluation() = default;

    virtual std::string_view name() const = 0;   // the class: "block"
    virtual std::string_view driver() const = 0; // the driver faults go into: "nkdisk"
    virtual std::vector<std::string> stack_programs() const = 0; // what the stack needs (mkfs.ext4)
    virtual std::vector<FaultStep> fault_schedule() const = 0;

    // Prepares what the applications compare against (reference outputs) in
    // `work_dir`, once per evaluation; then lists them.
    virtual Result<std::vector<Application>> applications(std::string const& work_dir) const = 0;
    // A fresh stack for one cell, in mode `mode`, in directory `dir`.
    virtual Result<std::unique_ptr<EvalStack>> build(EvalContext const& context, std::string const& mode, std::string const& dir) const = 0;
    // How an application's output is checked after the run, for messages.
    virtual std::string_view verified_how() const { return "read back from the device"; }
    // Requests of the class that failed (reached the applications as errors),
    // from `nooks ctl list`'s answer.
    virtual uint64_t failed_requests(nlohmann::json const& list) const = 0;
};

// Every class's evaluation, in table order.
std::vector<ClassEvaluation const*> class_evaluations();
ClassEvaluation const* class_evaluation(std::string_view name);

#define NK_X(cls) std::unique_ptr<ClassEvaluation const> make_##cls##_evaluation();
NK_X(block)
NK_X(net)
#undef NK_X

} // namespace nk::eval
