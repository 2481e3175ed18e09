// SPDX-License-Identifier: MIT
#pragma once

// Clang thread-safety annotations. They say which lock guards which member and
// which functions need or take which lock; the `tsa` build preset (clang with
// -Wthread-safety -Werror) checks them, g++ ignores them. Locks are nk::Mutex
// (base/Mutex.h): std::mutex is no capability type, so nothing would be checked.
#if defined(__clang__)
#    define NK_THREAD_ANNOTATION(x) __attribute__((x))
#else
#    define NK_THREAD_ANNOTATION(x)
#endif

#define NK_CAPABILITY(x) NK_THREAD_ANNOTATION(capability(x))
#define NK_SCOPED_CAPABILITY NK_THREAD_ANNOTATION(scoped_lockable)
#define NK_GUARDED_BY(x) NK_THREAD_ANNOTATION(guarded_by(x))
#define NK_PT_GUARDED_BY(x) NK_THREAD_ANNOTATION(pt_guarded_by(x))
#define NK_REQUIRES(...) NK_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define NK_EXCLUDES(...) NK_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define NK_REQUIRES_SHARED(...) NK_THREAD_ANNOTATION(requires_shared_capability(__VA_ARGS__))
#define NK_ACQUIRE(...) NK_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define NK_ACQUIRE_SHARED(...) NK_THREAD_ANNOTATION(acquire_shared_capability(__VA_ARGS__))
#define NK_RELEASE(...) NK_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define NK_RELEASE_SHARED(...) NK_THREAD_ANNOTATION(release_shared_capability(__VA_ARGS__))
#define NK_TRY_ACQUIRE(...) NK_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define NK_RETURN_CAPABILITY(x) NK_THREAD_ANNOTATION(lock_returned(x))
#define NK_ASSERT_CAPABILITY(x) NK_THREAD_ANNOTATION(assert_capability(x))
// For the few functions whose locking the analysis cannot follow; say why beside it.
#define NK_NO_THREAD_SAFETY_ANALYSIS NK_THREAD_ANNOTATION(no_thread_safety_analysis)
