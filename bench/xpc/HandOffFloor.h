// SPDX-License-Identifier: MIT
#pragma once

// The floor under any futex-based crossing: two threads hand a token back and
// forth through shared words with the same protocol XPC uses (bump a sequence
// number, wake the other side only if it sleeps, re-check before sleeping),
// with nothing else on the path. One round trip is two hand-offs, as in a
// kernel -> driver call. Measured with both threads on one CPU (what XPC aims
// for) and on two CPUs (a cross-CPU wakeup each way).

namespace nk::bench {

void register_hand_off_floor_benchmarks();

} // namespace nk::bench
