// SPDX-License-Identifier: MIT
#pragma once

// The request queue of one disk (like a single blk-mq hardware queue).
//
//   submit() -> blocked -> pending -> in flight -> completed
//
// blocked:   waiting for a tag, or for an earlier conflicting request (one
//            that overlaps it and writes) to complete. FIFO.
// pending:   has a tag and a DMA mapping; waiting to be handed to the driver.
// in flight: the driver took it (queue_rq returned OK); ends by
//            end_request(tag) from the driver.
//
// Dispatch is done by whichever thread finds the queue idle; other submitters
// only append, so under load one crossing into the driver carries many
// requests. Dispatch never holds the queue lock while the driver runs.
//
// Thread-safety: all public methods may be called from any kernel thread.
// end_request may be called by the driver from inside queue_rq.

#include "base/Error.h"
#include "base/Mutex.h"
#include "base/ThreadAnnotations.h"
#include "classes/block/BlockRequest.h"

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <span>
#include <vector>

namespace nk {

class Disk;
class Iommu;
class BlockDriverPort;

class RequestQueue {
public:
    struct Stats {
        uint64_t submitted { 0 };
        uint64_t completed { 0 };
        uint64_t failed { 0 };
        uint64_t dispatch_batches { 0 }; // crossings that carried requests to the driver
        uint64_t dispatched { 0 };       // requests the driver took
        uint64_t resource_stalls { 0 };  // queue_rq answered RESOURCE
        uint32_t in_flight { 0 };
        uint32_t pending { 0 };
        uint32_t blocked { 0 };
    };

    RequestQueue(Disk& disk, BlockDriverPort& port, Iommu* iommu, uint32_t depth, uint32_t max_sectors);
    ~RequestQueue();
    RequestQueue(RequestQueue const&) = delete;
    RequestQueue& operator=(RequestQueue const&) = delete;

    // Queues requests; each finishes through its completion (possibly before
    // this returns). Requests must be well-formed (BlockIo checks them).
    void submit(std::span<BlockRequest* const> requests);

    // Driver side: request `tag` ended with `status`. InvalidArgument if the
    // tag is not in flight.
    Result<void> end_request(uint32_t tag, int status);

    // Retries dispatch (nk_blk_run_queue, or after a RESOURCE answer).
    void run();

    // A RESOURCE answer normally waits for the next completion to retry. When
    // nothing is in flight there is no such completion: the queue calls
    // `handler` (outside its lock, on the dispatching thread), whose owner
    // calls rerun_if_stalled() a moment later (Linux: blk_mq_delay_run_hw_queue).
    void set_idle_stall_handler(std::function<void()> handler);
    // Retries dispatch if the queue is stalled on RESOURCE. Returns whether it was.
    bool rerun_if_stalled();

    // The disk is going away: fails everything not yet completed with IOERR
    // and every later submission. In-flight requests are failed after their
    // DMA mappings are torn down, so the device can no longer touch them.
    void kill();

    Stats stats() const;
    uint32_t depth() const { return m_depth; }

    // The driver holding the in-flight requests is gone (shadow recovery):
    // every in-flight request goes back to the head of the queue, in
    // submission order, keeping its tag and DMA mapping, with its attempts
    // counted. Returns how many.
    size_t requeue_in_flight();
    // After a restart (shadow): every request the queue holds (in flight,
    // queued, blocked) that was tried `max_attempts` times or more fails alone
    // with `status`; the others that were tried at least once are counted as
    // suspects. Chosen and taken out under the queue's lock, described before
    // they end (their submitters free them), so no caller ever holds a pointer
    // to a request that may already be gone.
    struct ExhaustedSweep {
        std::vector<std::string> failed; // "write of 8 sectors at 4096 (3 attempts)"
        uint32_t suspects { 0 };
    };
    ExhaustedSweep fail_exhausted(uint32_t max_attempts, int status);

    // Tags of requests the driver has held longer than `timeout_ns` (each is
    // reported once).
    std::vector<std::pair<uint32_t, uint64_t>> take_timed_out(uint64_t now_ns, uint64_t timeout_ns);
    // How long the driver has refused every request (RESOURCE) with none in
    // flight, if that is `timeout_ns` or more; reported once per such stall.
    std::optional<uint64_t> take_idle_stall(uint64_t now_ns, uint64_t timeout_ns);

private:
    void promote_locked(std::vector<BlockRequest*>& failed) NK_REQUIRES(m_mutex);
    // Takes a failed request out of the queue (false if it is not there), then
    // end_detached() completes it outside the lock.
    bool detach_failed_locked(BlockRequest* request) NK_REQUIRES(m_mutex);
    void end_detached(BlockRequest& request, int status);
    void dispatch();
    static void dispatch_softirq(void* queue);
    void finish(BlockRequest& request, int status);

    Disk& m_disk;
    BlockDriverPort& m_port;
    Iommu* m_iommu;
    uint32_t const m_depth;
    uint32_t const m_max_sectors;

    mutable Mutex m_mutex;
    bool m_dead NK_GUARDED_BY(m_mutex) { false };
    bool m_dispatching NK_GUARDED_BY(m_mutex) { false };
    bool m_dispatch_again NK_GUARDED_BY(m_mutex) { false };
    bool m_stalled NK_GUARDED_BY(m_mutex) { false }; // driver said RESOURCE; wait for a completion
    // Counts completions (and reruns): a RESOURCE answer that raced with one is retried, not stalled on.
    uint64_t m_progress NK_GUARDED_BY(m_mutex) { 0 };
    std::function<void()> m_idle_stall_handler NK_GUARDED_BY(m_mutex);
    uint64_t m_idle_stall_since_ns NK_GUARDED_BY(m_mutex) { 0 }; // 0: not stalled idle
    bool m_idle_stall_reported NK_GUARDED_BY(m_mutex) { false };
    std::deque<BlockRequest*> m_blocked NK_GUARDED_BY(m_mutex);
    std::deque<BlockRequest*> m_pending NK_GUARDED_BY(m_mutex);
    std::vector<BlockRequest*> m_in_flight NK_GUARDED_BY(m_mutex); // by tag
    std::vector<BlockRequest*> m_active NK_GUARDED_BY(m_mutex);    // pending + in flight, for conflicts
    std::vector<uint32_t> m_free_tags NK_GUARDED_BY(m_mutex);
    std::vector<BlockRequest*> m_reported NK_GUARDED_BY(m_mutex); // timed out, already reported
    Stats m_stats NK_GUARDED_BY(m_mutex);
};

} // namespace nk
