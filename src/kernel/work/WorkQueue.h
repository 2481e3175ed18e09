// SPDX-License-Identifier: MIT
#pragma once

// Deferred work (nk_work): functions run in process context on the kernel's
// worker threads. A work item is queued at most once at a time; it may be
// queued again while it runs (it then runs again after, never concurrently).
//
// Thread-safety: every method may be called from any thread. flush() and
// destroy() must not be called from the work item itself.

#include "base/Mutex.h"
#include "base/ThreadAnnotations.h"

#include <deque>
#include <memory>
#include <set>
#include <thread>
#include <vector>

namespace nk {

class Module;

class WorkCallback {
public:
    virtual ~WorkCallback() = default;
    virtual void run() = 0;
};

class Work;

class WorkQueue {
public:
    explicit WorkQueue(unsigned threads = 2);
    ~WorkQueue();
    WorkQueue(WorkQueue const&) = delete;
    WorkQueue& operator=(WorkQueue const&) = delete;

    Work* create(Module& owner, std::unique_ptr<WorkCallback> callback);
    // Returns false if the item was already queued.
    bool queue(Work& work);
    // Waits until the item is neither queued nor running.
    void flush(Work& work);
    // Cancels a queued run, waits for a running one, frees.
    void destroy(Work& work);

    size_t work_count() const;

private:
    void worker();

    mutable Mutex m_mutex;
    ConditionVariable m_changed;
    std::deque<Work*> m_queue NK_GUARDED_BY(m_mutex);
    std::set<std::unique_ptr<Work>> m_items NK_GUARDED_BY(m_mutex);
    bool m_stopping NK_GUARDED_BY(m_mutex) { false };
    std::vector<std::jthread> m_threads;
};

class Work {
public:
    Module& owner() const { return m_owner; }

private:
    friend class WorkQueue;
    Work(Module& owner, std::unique_ptr<WorkCallback> callback)
        : m_owner(owner)
        , m_callback(std::move(callback))
    {
    }
    Module& m_owner;
    std::unique_ptr<WorkCallback> m_callback;
    // Under the queue's m_mutex (a Work does not know its queue, so no NK_GUARDED_BY).
    bool m_queued { false };
    bool m_destroying { false };
    unsigned m_running { 0 };
};

} // namespace nk
