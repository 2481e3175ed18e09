// SPDX-License-Identifier: MIT
#pragma once

// Real applications run on a directory (an ext4 mounted over a nooks disk),
// each checking its own result: what the demo, the integration tests and the
// evaluation run. Nothing is simulated: a workload that did not produce the
// right output returns an error that says what was wrong.

#include "base/Error.h"

#include <cstdint>
#include <string>

namespace nk::harness {

struct WorkloadReport {
    std::string summary;    // one line: what ran and what was verified
    uint64_t duration_ns { 0 };
};

// sqlite3: `transactions` transactions of `rows` rows each into dir/app.db
// (synchronous=FULL, so every commit is an fsync), then checks
// PRAGMA integrity_check and the row and transaction counts.
struct SqliteOptions {
    unsigned transactions { 200 };
    unsigned rows { 50 };
};
Result<WorkloadReport> run_sqlite(std::string const& dir, SqliteOptions options = {});
// Re-checks a database written by run_sqlite (e.g. after a remount).
Result<WorkloadReport> verify_sqlite(std::string const& dir, SqliteOptions options = {});

// make + gcc: writes a small C project (several translation units) to
// dir/build, builds it with `make -j2`, runs the program and checks its output
// against values computed here.
Result<WorkloadReport> run_build(std::string const& dir);
// Runs the program built by run_build again and checks its output.
Result<WorkloadReport> verify_build(std::string const& dir);

// The encoder: writes a deterministic WAV (`seconds` of 16-bit stereo 44.1 kHz)
// into dir, encodes it with flac, and checks the result equals `reference` (an
// encode of the same input made outside, by make_encoder_reference).
Result<WorkloadReport> run_encoder(std::string const& dir, std::string const& reference, unsigned seconds = 20);
// Writes the same WAV into `work_dir` and encodes it there: the reference output.
Result<std::string> make_encoder_reference(std::string const& work_dir, unsigned seconds = 20);

// Writes `size` bytes of seeded pseudo-random data to `path` and returns its checksum.
Result<uint64_t> write_pattern_file(std::string const& path, uint64_t size, uint64_t seed);
// Checksum (FNV-1a 64) of a file's contents.
Result<uint64_t> checksum_file(std::string const& path);

} // namespace nk::harness
