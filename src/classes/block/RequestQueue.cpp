// SPDX-License-Identifier: MIT
#include "classes/block/RequestQueue.h"

#include "base/Log.h"
#include "classes/block/BlockDriverPort.h"
#include "kernel/dma/Iommu.h"
#include "kernel/exec/Context.h"
#include "kernel/time/TimerService.h"

#include <algorithm>

namespace nk {

namespace {

// How old something that began at `since_ns` is at `now_ns`, where `now_ns`
// may have been read before it began (the watchdog reads the clock, then
// takes the lock): then it is no age at all, not an unsigned wrap-around.
uint64_t age_at(uint64_t now_ns, uint64_t since_ns) { return now_ns > since_ns ? now_ns - since_ns : 0; }

} // namespace

char const* block_op_name(BlockOp op)
{
    switch (op) {
    case BlockOp::Read: return "read";
    case BlockOp::Write: return "write";
    case BlockOp::Flush: return "flush";
    }
    return "?";
}

RequestQueue::RequestQueue(Disk& disk, BlockDriverPort& port, Iommu* iommu, uint32_t depth, uint32_t max_sectors)
    : m_disk(disk)
    , m_port(port)
    , m_iommu(iommu)
    , m_depth(depth)
    , m_max_sectors(max_sectors)
    , m_in_flight(depth, nullptr)
{
    m_free_tags.reserve(depth);
    for (uint32_t tag = depth; tag > 0; --tag)
        m_free_tags.push_back(tag - 1);
}

RequestQueue::~RequestQueue() = default;

void RequestQueue::submit(std::span<BlockRequest* const> requests)
{
    std::vector<BlockRequest*> failed;
    {
        MutexLocker lock(m_mutex);
        auto now = monotonic_ns();
        for (auto* request : requests) {
            request->submit_ns = now;
            request->status = NK_BLK_STS_OK;
            m_stats.submitted++;
            if (m_dead)
                failed.push_back(request);
            else
                m_blocked.push_back(request);
        }
        promote_locked(failed);
    }
    for (auto* request : failed)
        finish(*request, NK_BLK_STS_IOERR);
    dispatch();
}

// Moves blocked requests that may start now to pending: in order, each needs a
// free tag and no conflict with a request still ahead of it.
void RequestQueue::promote_locked(std::vector<BlockRequest*>& failed)
{
    for (auto it = m_blocked.begin(); it != m_blocked.end();) {
        auto* request = *it;
        auto conflicts = [&](BlockRequest const* other) { return request->conflicts_with(*other); };
        if (std::ranges::any_of(m_active, conflicts) || std::any_of(m_blocked.begin(), it, conflicts)) {
            ++it;
            continue;
        }
        if (m_free_tags.empty())
            break; // tags are handed out in arrival order
        if (request->op != BlockOp::Flush && m_iommu != nullptr) {
            auto direction = request->op == BlockOp::Read ? DmaDirection::FromDevice : DmaDirection::ToDevice;
            auto iova = m_iommu->map(request->buffer, request->bytes(), direction);
            if (!iova) {
                log::get("block")->error("cannot map a request for DMA: {}", iova.error());
                failed.push_back(request);
                it = m_blocked.erase(it);
                continue;
            }
            request->dma_addr = *iova;
        } else {
            request->dma_addr = 0;
        }
        request->tag = m_free_tags.back();
        m_free_tags.pop_back();
        m_active.push_back(request);
        m_pending.push_back(request);
        it = m_blocked.erase(it);
    }
}

void RequestQueue::dispatch()
{
    std::vector<BlockRequest*> batch;
    std::vector<int> statuses;
    MutexLocker lock(m_mutex);
    if (m_dispatching) {
        m_dispatch_again = true;
        return;
    }
    m_dispatching = true;
    bool idle_stall = false;
    for (;;) {
        m_dispatch_again = false;
        if (m_dead || m_stalled || m_pending.empty())
            break;
        auto progress = m_progress;
        batch.assign(m_pending.begin(), m_pending.end());
        m_pending.clear();
        // Mark them in flight before the driver sees them: it may end them inside queue_rq.
        auto now = monotonic_ns();
        for (auto* request : batch) {
            m_in_flight[request->tag] = request;
            request->dispatch_ns = now;
        }
        lock.unlock();

        statuses.assign(batch.size(), NK_BLK_STS_OK);
        auto handed = m_port.queue_rqs(m_disk, batch, statuses);
        size_t taken = handed ? *handed : 0;

        std::vector<BlockRequest*> rejected;
        std::vector<BlockRequest*> returned; // not taken now: back to the head of the queue, in order
        lock.lock();
        m_stats.dispatch_batches++;
        for (size_t i = 0; i < batch.size(); ++i) {
            auto* request = batch[i];
            if (!handed)
                continue; // the driver could not run: in flight until its recovery (or the disk's removal) decides
            if (i >= taken) {
                returned.push_back(request); // not attempted
                continue;
            }
            if (statuses[i] == NK_BLK_STS_OK) {
                m_stats.dispatched++;
                m_idle_stall_since_ns = 0;
            } else if (statuses[i] == NK_BLK_STS_RESOURCE) {
                m_stats.resource_stalls++;
                // The completion that would clear the stall may already have
                // happened while the driver answered: then retry instead.
                if (m_progress == progress)
                    m_stalled = true;
                else
                    m_dispatch_again = true;
                returned.push_back(request);
            } else if (m_in_flight[request->tag] == request) {
                rejected.push_back(request); // refused with an error: it completes now with that status
            }
        }
        if (!handed)
            log::get("block")->warn("dispatch to the driver failed: {}", handed.error());
        for (auto it = returned.rbegin(); it != returned.rend(); ++it) {
            if (m_in_flight[(*it)->tag] == *it) {
                m_in_flight[(*it)->tag] = nullptr;
                m_pending.push_front(*it);
            }
        }
        // Stalled with nothing in flight: no completion will come to retry.
        idle_stall = m_stalled && std::ranges::none_of(m_in_flight, [](auto* slot) { return slot != nullptr; });
        if (idle_stall && m_idle_stall_since_ns == 0) {
            m_idle_stall_since_ns = monotonic_ns();
            m_idle_stall_reported = false;
        }
        lock.unlock();
        for (auto* request : rejected)
            (void)end_request(request->tag, statuses[static_cast<size_t>(std::ranges::find(batch, request) - batch.begin())]);
        lock.lock();
        if (!m_dispatch_again && m_pending.empty())
            break;
    }
    m_dispatching = false;
    auto handler = idle_stall ? m_idle_stall_handler : nullptr;
    lock.unlock();
    if (handler)
        handler();
}

void RequestQueue::set_idle_stall_handler(std::function<void()> handler)
{
    MutexLocker lock(m_mutex);
    m_idle_stall_handler = std::move(handler);
}

bool RequestQueue::rerun_if_stalled()
{
    {
        MutexLocker lock(m_mutex);
        if (!m_stalled)
            return false;
    }
    run();
    return true;
}

void RequestQueue::dispatch_softirq(void* queue) { static_cast<RequestQueue*>(queue)->dispatch(); }

void RequestQueue::run()
{
    {
        MutexLocker lock(m_mutex);
        m_stalled = false;
        m_progress++;
    }
    raise_softirq(&RequestQueue::dispatch_softirq, this);
}

Result<void> RequestQueue::end_request(uint32_t tag, int status)
{
    BlockRequest* request = nullptr;
    std::vector<BlockRequest*> failed;
    bool kick = false;
    {
        MutexLocker lock(m_mutex);
        if (tag >= m_depth || m_in_flight[tag] == nullptr)
            return make_error(ErrorCode::InvalidArgument, "end_request: tag {} is not in flight", tag);
        request = m_in_flight[tag];
        m_in_flight[tag] = nullptr;
        std::erase(m_active, request);
        m_free_tags.push_back(tag);
        m_stats.completed++;
        m_progress++;
        m_idle_stall_since_ns = 0;
        if (status != NK_BLK_STS_OK)
            m_stats.failed++;
        promote_locked(failed);
        kick = !m_pending.empty();
        if (m_stalled) {
            m_stalled = false;
            kick = true;
        }
    }
    if (request->op != BlockOp::Flush && m_iommu != nullptr)
        (void)m_iommu->unmap(request->dma_addr);
    m_port.completed(m_disk, *request, status);
    finish(*request, status);
    for (auto* other : failed)
        finish(*other, NK_BLK_STS_IOERR);
    // Not from inside the driver's call: dispatch when this thread's crossing ends.
    if (kick)
        raise_softirq(&RequestQueue::dispatch_softirq, this);
    return {};
}

void RequestQueue::finish(BlockRequest& request, int status)
{
    request.status = status;
    // Last touch: the submitter may free the request as soon as it is done.
    request.completion->done();
}

void RequestQueue::kill()
{
    std::vector<BlockRequest*> unmapped;
    std::vector<BlockRequest*> mapped;
    {
        MutexLocker lock(m_mutex);
        if (m_dead)
            return;
        m_dead = true;
        for (auto* request : m_blocked)
            unmapped.push_back(request);
        m_blocked.clear();
        for (auto* request : m_active)
            mapped.push_back(request);
        m_active.clear();
        m_pending.clear();
        std::ranges::fill(m_in_flight, nullptr);
        m_stats.failed += unmapped.size() + mapped.size();
    }
    for (auto* request : mapped) {
        if (request->op != BlockOp::Flush && m_iommu != nullptr)
            (void)m_iommu->unmap(request->dma_addr);
        finish(*request, NK_BLK_STS_IOERR);
    }
    for (auto* request : unmapped)
        finish(*request, NK_BLK_STS_IOERR);
}

size_t RequestQueue::requeue_in_flight()
{
    std::vector<BlockRequest*> taken;
    {
        MutexLocker lock(m_mutex);
        for (auto*& slot : m_in_flight) {
            if (slot != nullptr) {
                taken.push_back(slot);
                slot = nullptr;
            }
        }
        // Oldest first, ahead of everything queued behind them.
        std::ranges::sort(taken, {}, &BlockRequest::submit_ns);
        for (auto it = taken.rbegin(); it != taken.rend(); ++it) {
            (*it)->attempts++;
            m_pending.push_front(*it);
        }
        m_stalled = false;
        m_progress++;
        m_idle_stall_since_ns = 0;
        m_reported.clear();
    }
    return taken.size();
}

bool RequestQueue::detach_failed_locked(BlockRequest* request)
{
    bool in_flight = request->tag < m_depth && m_in_flight[request->tag] == request;
    bool pending = std::ranges::find(m_pending, request) != m_pending.end();
    if (!in_flight && !pending)
        return false;
    if (in_flight)
        m_in_flight[request->tag] = nullptr;
    std::erase(m_pending, request);
    std::erase(m_active, request);
    m_free_tags.push_back(request->tag);
    m_stats.completed++;
    m_stats.failed++;
    m_progress++;
    m_idle_stall_since_ns = 0;
    m_stalled = false;
    return true;
}

void RequestQueue::end_detached(BlockRequest& request, int status)
{
    if (request.op != BlockOp::Flush && m_iommu != nullptr)
        (void)m_iommu->unmap(request.dma_addr);
    m_port.completed(m_disk, request, status);
    finish(request, status);
}

RequestQueue::ExhaustedSweep RequestQueue::fail_exhausted(uint32_t max_attempts, int status)
{
    ExhaustedSweep sweep;
    std::vector<BlockRequest*> doomed;
    {
        MutexLocker lock(m_mutex);
        std::vector<BlockRequest*> candidates(m_active.begin(), m_active.end());
        candidates.insert(candidates.end(), m_blocked.begin(), m_blocked.end());
        for (auto* request : candidates) {
            if (request->attempts >= max_attempts) {
                if (!detach_failed_locked(request))
                    continue;
                sweep.failed.push_back(fmt::format("{} of {} sectors at {} ({} attempts)", block_op_name(request->op), request->nr_sectors,
                    request->sector, request->attempts));
                doomed.push_back(request);
            } else if (request->attempts > 0) {
                ++sweep.suspects;
            }
        }
    }
    // Out of the queue now: nobody else can end them.
    for (auto* request : doomed)
        end_detached(*request, status);
    if (!doomed.empty())
        raise_softirq(&RequestQueue::dispatch_softirq, this);
    return sweep;
}

std::vector<std::pair<uint32_t, uint64_t>> RequestQueue::take_timed_out(uint64_t now_ns, uint64_t timeout_ns)
{
    std::vector<std::pair<uint32_t, uint64_t>> result;
    MutexLocker lock(m_mutex);
    std::erase_if(m_reported,
        [&](BlockRequest* request) NK_REQUIRES(m_mutex) { return std::ranges::find(m_in_flight, request) == m_in_flight.end(); });
    for (uint32_t tag = 0; tag < m_depth; ++tag) {
        auto* request = m_in_flight[tag];
        if (request == nullptr)
            continue;
        // `now_ns` was read before the lock: a request dispatched since is younger than it.
        auto age = age_at(now_ns, request->dispatch_ns);
        if (age < timeout_ns || std::ranges::find(m_reported, request) != m_reported.end())
            continue;
        m_reported.push_back(request);
        result.emplace_back(tag, age);
    }
    return result;
}

std::optional<uint64_t> RequestQueue::take_idle_stall(uint64_t now_ns, uint64_t timeout_ns)
{
    MutexLocker lock(m_mutex);
    if (m_idle_stall_since_ns == 0 || m_idle_stall_reported)
        return std::nullopt;
    auto age = age_at(now_ns, m_idle_stall_since_ns);
    if (age < timeout_ns)
        return std::nullopt;
    m_idle_stall_reported = true;
    return age;
}

RequestQueue::Stats RequestQueue::stats() const
{
    MutexLocker lock(m_mutex);
    auto stats = m_stats;
    stats.pending = static_cast<uint32_t>(m_pending.size());
    stats.blocked = static_cast<uint32_t>(m_blocked.size());
    stats.in_flight = static_cast<uint32_t>(m_active.size() - m_pending.size());
    return stats;
}

} // namespace nk
