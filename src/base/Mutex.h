// SPDX-License-Identifier: MIT
#pragma once

// The kernel's lock types, annotated so that clang's thread-safety analysis
// (the `tsa` build preset) checks every access to a member marked
// NK_GUARDED_BY and every call to a function marked NK_REQUIRES.
//
//   Mutex              a std::mutex that is a capability
//   MutexLocker        holds a Mutex for its scope (may unlock and relock early)
//   ConditionVariable  waits with a MutexLocker held; the predicate runs with
//                      the lock held, so write it as a loop around wait() or
//                      annotate the lambda with NK_REQUIRES
//   SharedMutex        a std::shared_mutex that is a capability: readers hold it
//                      shared (SharedLocker), writers exclusive (ExclusiveLocker);
//                      a member NK_GUARDED_BY it may be read under either, written
//                      only under the exclusive lock
//
// Thread-safety: as std::mutex and std::condition_variable.

#include "base/ThreadAnnotations.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <shared_mutex>

namespace nk {

class NK_CAPABILITY("mutex") Mutex {
public:
    Mutex() = default;
    Mutex(Mutex const&) = delete;
    Mutex& operator=(Mutex const&) = delete;

    void lock() NK_ACQUIRE() { m_mutex.lock(); }
    void unlock() NK_RELEASE() { m_mutex.unlock(); }
    bool try_lock() NK_TRY_ACQUIRE(true) { return m_mutex.try_lock(); }
    // Tells the analysis the calling thread holds the lock (checked nowhere else).
    void assert_held() const NK_ASSERT_CAPABILITY(this) { }

private:
    friend class MutexLocker;
    std::mutex m_mutex;
};

class NK_SCOPED_CAPABILITY MutexLocker {
public:
    explicit MutexLocker(Mutex& mutex) NK_ACQUIRE(mutex)
        : m_lock(mutex.m_mutex)
    {
    }
    // Takes over a lock the caller already holds (after a successful try_lock()),
    // so that it is released on every way out of the scope.
    MutexLocker(Mutex& mutex, std::adopt_lock_t) NK_REQUIRES(mutex)
        : m_lock(mutex.m_mutex, std::adopt_lock)
    {
    }
    ~MutexLocker() NK_RELEASE() { }
    MutexLocker(MutexLocker const&) = delete;
    MutexLocker& operator=(MutexLocker const&) = delete;

    void unlock() NK_RELEASE() { m_lock.unlock(); }
    void lock() NK_ACQUIRE() { m_lock.lock(); }

private:
    friend class ConditionVariable;
    std::unique_lock<std::mutex> m_lock;
};

class NK_CAPABILITY("mutex") SharedMutex {
public:
    SharedMutex() = default;
    SharedMutex(SharedMutex const&) = delete;
    SharedMutex& operator=(SharedMutex const&) = delete;

    void lock() NK_ACQUIRE() { m_mutex.lock(); }
    void unlock() NK_RELEASE() { m_mutex.unlock(); }
    void lock_shared() NK_ACQUIRE_SHARED() { m_mutex.lock_shared(); }
    void unlock_shared() NK_RELEASE_SHARED() { m_mutex.unlock_shared(); }

private:
    std::shared_mutex m_mutex;
};

// Holds a SharedMutex exclusively for its scope.
class NK_SCOPED_CAPABILITY ExclusiveLocker {
public:
    explicit ExclusiveLocker(SharedMutex& mutex) NK_ACQUIRE(mutex)
        : m_mutex(mutex)
    {
        m_mutex.lock();
    }
    ~ExclusiveLocker() NK_RELEASE() { m_mutex.unlock(); }
    ExclusiveLocker(ExclusiveLocker const&) = delete;
    ExclusiveLocker& operator=(ExclusiveLocker const&) = delete;

private:
    SharedMutex& m_mutex;
};

// Holds a SharedMutex shared for its scope.
class NK_SCOPED_CAPABILITY SharedLocker {
public:
    explicit SharedLocker(SharedMutex& mutex) NK_ACQUIRE_SHARED(mutex)
        : m_mutex(mutex)
    {
        m_mutex.lock_shared();
    }
    ~SharedLocker() NK_RELEASE() { m_mutex.unlock_shared(); }
    SharedLocker(SharedLocker const&) = delete;
    SharedLocker& operator=(SharedLocker const&) = delete;

private:
    SharedMutex& m_mutex;
};

class ConditionVariable {
public:
    void notify_one() { m_condition.notify_one(); }
    void notify_all() { m_condition.notify_all(); }

    void wait(MutexLocker& locker) { m_condition.wait(locker.m_lock); }
    template<typename Predicate>
    void wait(MutexLocker& locker, Predicate predicate)
    {
        m_condition.wait(locker.m_lock, predicate);
    }
    // False on timeout.
    template<typename Rep, typename Period>
    bool wait_for(MutexLocker& locker, std::chrono::duration<Rep, Period> timeout)
    {
        return m_condition.wait_for(locker.m_lock, timeout) == std::cv_status::no_timeout;
    }
    // The predicate's value at the end (false: timed out with it still false).
    template<typename Rep, typename Period, typename Predicate>
    bool wait_for(MutexLocker& locker, std::chrono::duration<Rep, Period> timeout, Predicate predicate)
    {
        return m_condition.wait_for(locker.m_lock, timeout, predicate);
    }
    template<typename Clock, typename Duration, typename Predicate>
    bool wait_until(MutexLocker& locker, std::chrono::time_point<Clock, Duration> deadline, Predicate predicate)
    {
        return m_condition.wait_until(locker.m_lock, deadline, predicate);
    }

private:
    std::condition_variable m_condition;
};

} // namespace nk
