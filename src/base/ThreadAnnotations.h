// SPDX-License-Identifier: MIT
#pragma once

// Clang thread-safety annotations. They document which lock guards which member
// and are checked when built with clang (-Wthread-safety); g++ ignores them.
#if defined(__clang__)
#    define NK_GUARDED_BY(x) __attribute__((guarded_by(x)))
#    define NK_REQUIRES(...) __attribute__((requires_capability(__VA_ARGS__)))
#    define NK_EXCLUDES(...) __attribute__((locks_excluded(__VA_ARGS__)))
#else
#    define NK_GUARDED_BY(x)
#    define NK_REQUIRES(...)
#    define NK_EXCLUDES(...)
#endif
