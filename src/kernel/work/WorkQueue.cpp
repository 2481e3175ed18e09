// SPDX-License-Identifier: MIT
#include "kernel/work/WorkQueue.h"

#include <algorithm>
#include <pthread.h>

namespace nk {

WorkQueue::WorkQueue(unsigned threads)
{
    for (unsigned i = 0; i < threads; ++i)
        m_threads.emplace_back([this] { worker(); });
}

WorkQueue::~WorkQueue()
{
    {
        MutexLocker lock(m_mutex);
        m_stopping = true;
    }
    m_changed.notify_all();
    m_threads.clear(); // joins
}

Work* WorkQueue::create(Module& owner, std::unique_ptr<WorkCallback> callback)
{
    MutexLocker lock(m_mutex);
    auto work = std::unique_ptr<Work>(new Work(owner, std::move(callback)));
    auto* raw = work.get();
    m_items.insert(std::move(work));
    return raw;
}

bool WorkQueue::queue(Work& work)
{
    MutexLocker lock(m_mutex);
    if (work.m_queued || work.m_destroying)
        return false;
    work.m_queued = true;
    m_queue.push_back(&work);
    m_changed.notify_all();
    return true;
}

void WorkQueue::flush(Work& work)
{
    MutexLocker lock(m_mutex);
    m_changed.wait(lock, [&]() NK_REQUIRES(m_mutex) { return !work.m_queued && work.m_running == 0; });
}

void WorkQueue::destroy(Work& work)
{
    MutexLocker lock(m_mutex);
    // From now on it cannot be queued again (not even by itself while it runs).
    work.m_destroying = true;
    if (work.m_queued) {
        std::erase(m_queue, &work);
        work.m_queued = false;
    }
    m_changed.wait(lock, [&]() NK_REQUIRES(m_mutex) { return work.m_running == 0; });
    for (auto it = m_items.begin(); it != m_items.end(); ++it) {
        if (it->get() == &work) {
            m_items.erase(it);
            return;
        }
    }
}

size_t WorkQueue::work_count() const
{
    MutexLocker lock(m_mutex);
    return m_items.size();
}

void WorkQueue::worker()
{
    pthread_setname_np(pthread_self(), "nk-work");
    MutexLocker lock(m_mutex);
    for (;;) {
        // A work item never runs on two workers at once: one queued again while
        // it runs waits for the running instance.
        auto runnable = [&]() NK_REQUIRES(m_mutex) {
            return std::ranges::find_if(m_queue, [](Work const* w) { return w->m_running == 0; });
        };
        m_changed.wait(lock, [&]() NK_REQUIRES(m_mutex) { return m_stopping || runnable() != m_queue.end(); });
        if (m_stopping)
            return;
        auto it = runnable();
        auto* work = *it;
        m_queue.erase(it);
        work->m_queued = false;
        work->m_running++;
        lock.unlock();
        work->m_callback->run();
        lock.lock();
        work->m_running--;
        m_changed.notify_all();
    }
}

} // namespace nk
