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
        std::scoped_lock lock(m_mutex);
        m_stopping = true;
    }
    m_changed.notify_all();
    m_threads.clear(); // joins
}

Work* WorkQueue::create(Module& owner, std::unique_ptr<WorkCallback> callback)
{
    std::scoped_lock lock(m_mutex);
    auto work = std::unique_ptr<Work>(new Work(owner, std::move(callback)));
    auto* raw = work.get();
    m_items.insert(std::move(work));
    return raw;
}

bool WorkQueue::queue(Work& work)
{
    std::scoped_lock lock(m_mutex);
    if (work.m_queued)
        return false;
    work.m_queued = true;
    m_queue.push_back(&work);
    m_changed.notify_all();
    return true;
}

void WorkQueue::flush(Work& work)
{
    std::unique_lock lock(m_mutex);
    m_changed.wait(lock, [&] { return !work.m_queued && work.m_running == 0; });
}

void WorkQueue::destroy(Work& work)
{
    std::unique_lock lock(m_mutex);
    if (work.m_queued) {
        std::erase(m_queue, &work);
        work.m_queued = false;
    }
    m_changed.wait(lock, [&] { return work.m_running == 0; });
    for (auto it = m_items.begin(); it != m_items.end(); ++it) {
        if (it->get() == &work) {
            m_items.erase(it);
            return;
        }
    }
}

size_t WorkQueue::work_count() const
{
    std::scoped_lock lock(m_mutex);
    return m_items.size();
}

void WorkQueue::worker()
{
    pthread_setname_np(pthread_self(), "nk-work");
    std::unique_lock lock(m_mutex);
    for (;;) {
        m_changed.wait(lock, [&] { return m_stopping || !m_queue.empty(); });
        if (m_stopping)
            return;
        auto* work = m_queue.front();
        m_queue.pop_front();
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
