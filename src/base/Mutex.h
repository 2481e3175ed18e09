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
//
// Thread-safety: as std::mutex and std::condition_variable.

#include "base/ThreadAnnotations.h"

#include <chrono>
#include <condition_variable>
#include <mutex>

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
    ~MutexLocker() NK_RELEASE() { }
    MutexLocker(MutexLocker const&) = delete;
    MutexLocker& operator=(MutexLocker const&) = delete;

    void unlock() NK_RELEASE() { m_lock.unlock(); }
    void lock() NK_ACQUIRE() { m_lock.lock(); }

private:
    friend class ConditionVariable;
    std::unique_lock<std::mutex> m_lock;
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
