// SPDX-License-Identifier: MIT
// The request queue against a scripted port (no driver, no device): dispatch
// batching, RESOURCE back-pressure, refusals, conflicts, tags and kill.

#include "base/Clock.h"
#include "classes/block/Disk.h"
#include "kernel/Kernel.h"
#include "kernel/KernelTestSupport.h"
#include "support/TestSupport.h"

#include <gtest/gtest.h>

#include <functional>
#include <vector>

namespace nk {
namespace {

using test::TestModule;

// Records every batch; answers queue_rq from a script (default OK).
class ScriptedPort final : public BlockDriverPort {
public:
    Result<int> open(Disk&) override { return 0; }
    Result<void> release(Disk&) override { return {}; }
    Result<int> ioctl(Disk&, uint32_t, uint64_t) override { return -ENOTTY; }
    Result<size_t> queue_rqs(Disk&, std::span<BlockRequest* const> batch, std::span<int> statuses) override
    {
        batches.push_back(batch.size());
        for (size_t i = 0; i < batch.size(); ++i) {
            int answer = NK_BLK_STS_OK;
            if (!answers.empty()) {
                answer = answers.front();
                answers.erase(answers.begin());
            }
            statuses[i] = answer;
            if (answer == NK_BLK_STS_OK)
                taken.push_back(batch[i]->tag);
            if (answer == NK_BLK_STS_RESOURCE) {
                run_hook();
                return i + 1;
            }
        }
        run_hook();
        return batch.size();
    }
    void run_hook()
    {
        if (auto hook = std::exchange(while_answering, nullptr))
            hook();
    }

    std::function<void()> while_answering; // runs once, before queue_rqs returns (a racing completion)
    std::vector<int> answers;   // consumed one per queue_rq
    std::vector<size_t> batches;
    std::vector<uint32_t> taken; // tags the "driver" holds
};

class RequestQueueTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        kernel = std::move(*Kernel::create({}));
        module = std::make_unique<TestModule>(*kernel);
        auto owned = std::make_unique<ScriptedPort>();
        port = owned.get();
        DiskGeometry geometry { .name = "t", .capacity_sectors = 1 << 20, .logical_block_size = 512, .max_sectors = 256, .queue_depth = 4, .features = 0 };
        disk = std::make_unique<Disk>(1, geometry, *module, nullptr, std::move(owned), nullptr);
    }

    BlockRequest make(BlockOp op, uint64_t sector, uint32_t sectors, BlockCompletion& completion)
    {
        BlockRequest request;
        request.op = op;
        request.sector = sector;
        request.nr_sectors = sectors;
        request.buffer = buffer.data();
        request.completion = &completion;
        return request;
    }

    std::unique_ptr<Kernel> kernel;
    std::unique_ptr<TestModule> module;
    ScriptedPort* port { nullptr };
    std::unique_ptr<Disk> disk;
    std::vector<std::byte> buffer = std::vector<std::byte>(1 << 20);
};

// Requests submitted together reach the driver in one batch (one crossing).
TEST_F(RequestQueueTest, Submit_OneBatchPerSubmission)
{
    BlockCompletion completion(3);
    auto a = make(BlockOp::Read, 0, 8, completion);
    auto b = make(BlockOp::Read, 100, 8, completion);
    auto c = make(BlockOp::Write, 200, 8, completion);
    BlockRequest* batch[] = { &a, &b, &c };
    disk->queue().submit(batch);
    ASSERT_EQ(port->batches, std::vector<size_t> { 3 });
    EXPECT_EQ(disk->queue().stats().in_flight, 3u);
    for (auto tag : std::vector<uint32_t>(port->taken))
        ASSERT_TRUE(disk->queue().end_request(tag, NK_BLK_STS_OK));
    EXPECT_TRUE(completion.finished());
    EXPECT_EQ(disk->queue().stats().completed, 3u);
}

// RESOURCE stops the batch; the rest is retried after a completion, in order.
TEST_F(RequestQueueTest, Resource_RetriedAfterCompletion)
{
    port->answers = { NK_BLK_STS_OK, NK_BLK_STS_RESOURCE };
    BlockCompletion completion(3);
    auto a = make(BlockOp::Read, 0, 8, completion);
    auto b = make(BlockOp::Read, 100, 8, completion);
    auto c = make(BlockOp::Read, 200, 8, completion);
    BlockRequest* batch[] = { &a, &b, &c };
    disk->queue().submit(batch);
    EXPECT_EQ(port->taken.size(), 1u);
    EXPECT_EQ(disk->queue().stats().pending, 2u);
    EXPECT_EQ(disk->queue().stats().resource_stalls, 1u);
    // A completion (outside any crossing) dispatches the stalled rest at once.
    ASSERT_TRUE(disk->queue().end_request(port->taken[0], NK_BLK_STS_OK));
    ASSERT_EQ(port->taken.size(), 3u);
    EXPECT_EQ(port->taken[1], b.tag);
    EXPECT_EQ(port->taken[2], c.tag);
}

// Race reproducer: the completion that would clear a RESOURCE stall happens
// while the driver is still answering RESOURCE (another CPU's interrupt). The
// queue must retry, not stall forever with nothing left to wake it.
TEST_F(RequestQueueTest, Resource_CompletionDuringAnswer_Retried)
{
    BlockCompletion completion(2);
    auto a = make(BlockOp::Read, 0, 8, completion);
    auto b = make(BlockOp::Read, 100, 8, completion);
    BlockRequest* first[] = { &a };
    disk->queue().submit(first);
    ASSERT_EQ(port->taken.size(), 1u);

    port->answers = { NK_BLK_STS_RESOURCE };
    port->while_answering = [&] { ASSERT_TRUE(disk->queue().end_request(a.tag, NK_BLK_STS_OK)); };
    BlockRequest* second[] = { &b };
    disk->queue().submit(second);
    // b was retried after a's completion, without any further event.
    ASSERT_EQ(port->taken.size(), 2u);
    EXPECT_EQ(port->taken[1], b.tag);
    ASSERT_TRUE(disk->queue().end_request(b.tag, NK_BLK_STS_OK));
    EXPECT_TRUE(completion.finished());
}

// RESOURCE with nothing in flight: no completion will come, so the queue asks
// its owner (the block layer's watchdog) to rerun it.
TEST_F(RequestQueueTest, Resource_NothingInFlight_AsksForRerun)
{
    int asked = 0;
    disk->queue().set_idle_stall_handler([&] { asked++; });
    port->answers = { NK_BLK_STS_RESOURCE };
    BlockCompletion completion(1);
    auto a = make(BlockOp::Read, 0, 8, completion);
    BlockRequest* batch[] = { &a };
    disk->queue().submit(batch);
    EXPECT_EQ(asked, 1);
    EXPECT_TRUE(port->taken.empty());
    EXPECT_TRUE(disk->queue().rerun_if_stalled());
    ASSERT_EQ(port->taken.size(), 1u);
    EXPECT_FALSE(disk->queue().rerun_if_stalled()); // no longer stalled
    ASSERT_TRUE(disk->queue().end_request(a.tag, NK_BLK_STS_OK));
    EXPECT_TRUE(completion.finished());
}

// The idle stall is reported once it lasted the timeout, once; progress clears it.
TEST_F(RequestQueueTest, IdleStall_ReportedAfterTimeoutOnce)
{
    port->answers = { NK_BLK_STS_RESOURCE, NK_BLK_STS_RESOURCE };
    BlockCompletion completion(1);
    auto a = make(BlockOp::Read, 0, 8, completion);
    BlockRequest* batch[] = { &a };
    disk->queue().submit(batch);
    auto now = monotonic_ns();
    EXPECT_FALSE(disk->queue().take_idle_stall(now, 1'000'000'000));
    auto stalled = disk->queue().take_idle_stall(now + 2'000'000'000, 1'000'000'000);
    ASSERT_TRUE(stalled);
    EXPECT_GE(*stalled, 1'000'000'000u);
    EXPECT_FALSE(disk->queue().take_idle_stall(now + 3'000'000'000, 1'000'000'000)); // once
    disk->queue().rerun_if_stalled(); // RESOURCE again: still the same stall
    EXPECT_FALSE(disk->queue().take_idle_stall(now + 4'000'000'000, 1'000'000'000));
    disk->queue().rerun_if_stalled(); // taken now
    ASSERT_EQ(port->taken.size(), 1u);
    EXPECT_FALSE(disk->queue().take_idle_stall(now + 5'000'000'000, 1'000'000'000));
    ASSERT_TRUE(disk->queue().end_request(a.tag, NK_BLK_STS_OK));
}

// A request's timeout counts from when a driver last took it, not from when it
// was submitted: a request re-issued after a recovery gets a full period.
TEST_F(RequestQueueTest, Timeout_CountsFromDispatch)
{
    BlockCompletion completion(1);
    auto a = make(BlockOp::Read, 0, 8, completion);
    BlockRequest* batch[] = { &a };
    disk->queue().submit(batch);
    a.submit_ns -= 10'000'000'000; // it has waited long, but was handed over just now
    auto now = monotonic_ns();
    EXPECT_TRUE(disk->queue().take_timed_out(now, 1'000'000'000).empty());
    auto late = disk->queue().take_timed_out(now + 2'000'000'000, 1'000'000'000);
    ASSERT_EQ(late.size(), 1u);
    EXPECT_EQ(late[0].first, a.tag);
    ASSERT_TRUE(disk->queue().end_request(a.tag, NK_BLK_STS_OK));
}

// Reproducer: the watchdog reads the clock, then takes the queue's lock; a
// request dispatched in between is younger than that reading. Its age wrapped
// around to 2^64 ns and a healthy driver was failed for a "lost completion".
TEST_F(RequestQueueTest, Timeout_ClockReadBeforeDispatch_NotTimedOut)
{
    auto before = monotonic_ns();
    BlockCompletion completion(1);
    auto a = make(BlockOp::Read, 0, 8, completion);
    BlockRequest* batch[] = { &a };
    disk->queue().submit(batch);
    a.dispatch_ns = before + 1'000'000; // dispatched after the watchdog's reading
    EXPECT_TRUE(disk->queue().take_timed_out(before, 1'000'000'000).empty());
    ASSERT_TRUE(disk->queue().end_request(a.tag, NK_BLK_STS_OK));
}

// The same for an idle stall that began after the watchdog read the clock.
TEST_F(RequestQueueTest, IdleStall_ClockReadBeforeStall_NotReported)
{
    auto before = monotonic_ns() - 1'000'000;
    port->answers = { NK_BLK_STS_RESOURCE, NK_BLK_STS_OK };
    BlockCompletion completion(1);
    auto a = make(BlockOp::Read, 0, 8, completion);
    BlockRequest* batch[] = { &a };
    disk->queue().submit(batch);
    EXPECT_FALSE(disk->queue().take_idle_stall(before, 1'000'000'000));
    disk->queue().rerun_if_stalled();
    ASSERT_TRUE(disk->queue().end_request(a.tag, NK_BLK_STS_OK));
}

// After a restart the shadow fails the requests that were in flight at every
// failure. Reproducer: it read such a request after failing it, when its
// submitter had already freed it. The sweep now describes and takes them out
// under the queue's lock.
TEST_F(RequestQueueTest, FailExhausted_FailsOnlyThoseAndDescribesThem)
{
    BlockCompletion completion(3);
    auto a = make(BlockOp::Write, 4096, 8, completion);
    auto b = make(BlockOp::Read, 100, 8, completion);
    auto c = make(BlockOp::Read, 200, 8, completion);
    BlockRequest* batch[] = { &a, &b, &c };
    disk->queue().submit(batch);
    a.attempts = 3;
    b.attempts = 1;
    auto sweep = disk->queue().fail_exhausted(3, NK_BLK_STS_IOERR);
    ASSERT_EQ(sweep.failed.size(), 1u);
    EXPECT_EQ(sweep.failed[0], "write of 8 sectors at 4096 (3 attempts)");
    EXPECT_EQ(sweep.suspects, 1u);
    EXPECT_EQ(a.status, NK_BLK_STS_IOERR);
    EXPECT_TRUE(disk->queue().fail_exhausted(3, NK_BLK_STS_IOERR).failed.empty()); // once
    ASSERT_TRUE(disk->queue().end_request(b.tag, NK_BLK_STS_OK));
    ASSERT_TRUE(disk->queue().end_request(c.tag, NK_BLK_STS_OK));
    EXPECT_EQ(b.status, NK_BLK_STS_OK);
}

// A stall with requests in flight waits for their completion: no rerun asked.
TEST_F(RequestQueueTest, Resource_WithRequestsInFlight_NoRerunAsked)
{
    int asked = 0;
    disk->queue().set_idle_stall_handler([&] { asked++; });
    port->answers = { NK_BLK_STS_OK, NK_BLK_STS_RESOURCE };
    BlockCompletion completion(2);
    auto a = make(BlockOp::Read, 0, 8, completion);
    auto b = make(BlockOp::Read, 100, 8, completion);
    BlockRequest* batch[] = { &a, &b };
    disk->queue().submit(batch);
    EXPECT_EQ(asked, 0);
    ASSERT_TRUE(disk->queue().end_request(a.tag, NK_BLK_STS_OK));
    ASSERT_EQ(port->taken.size(), 2u);
    ASSERT_TRUE(disk->queue().end_request(b.tag, NK_BLK_STS_OK));
    EXPECT_TRUE(completion.finished());
}

// A request the driver refuses with an error completes at once with that status.
TEST_F(RequestQueueTest, Refused_CompletesWithStatus)
{
    port->answers = { NK_BLK_STS_NOTSUPP };
    BlockCompletion completion(1);
    auto a = make(BlockOp::Write, 0, 8, completion);
    BlockRequest* batch[] = { &a };
    disk->queue().submit(batch);
    ASSERT_TRUE(completion.finished());
    EXPECT_EQ(a.status, NK_BLK_STS_NOTSUPP);
    EXPECT_EQ(disk->queue().stats().in_flight, 0u);
}

// A write overlapping an in-flight write waits for it; a disjoint one does not.
TEST_F(RequestQueueTest, ConflictingWrite_WaitsForEarlier)
{
    BlockCompletion completion(3);
    auto first = make(BlockOp::Write, 0, 16, completion);
    auto overlapping = make(BlockOp::Read, 8, 16, completion);
    auto disjoint = make(BlockOp::Read, 64, 8, completion);
    BlockRequest* batch[] = { &first, &overlapping, &disjoint };
    disk->queue().submit(batch);
    ASSERT_EQ(port->taken.size(), 2u);
    EXPECT_EQ(port->taken[0], first.tag);
    EXPECT_EQ(port->taken[1], disjoint.tag);
    EXPECT_EQ(disk->queue().stats().blocked, 1u);
    ASSERT_TRUE(disk->queue().end_request(first.tag, NK_BLK_STS_OK));
    ASSERT_EQ(port->taken.size(), 3u);
    EXPECT_EQ(port->taken[2], overlapping.tag);
}

// Reads may overlap each other freely.
TEST_F(RequestQueueTest, OverlappingReads_RunTogether)
{
    BlockCompletion completion(2);
    auto a = make(BlockOp::Read, 0, 16, completion);
    auto b = make(BlockOp::Read, 8, 16, completion);
    BlockRequest* batch[] = { &a, &b };
    disk->queue().submit(batch);
    EXPECT_EQ(port->taken.size(), 2u);
}

// With depth 4, a fifth request waits for a tag and gets the freed one.
TEST_F(RequestQueueTest, Tags_BoundedByDepth)
{
    BlockCompletion completion(5);
    std::vector<BlockRequest> requests;
    for (int i = 0; i < 5; ++i)
        requests.push_back(make(BlockOp::Read, uint64_t(i) * 100, 8, completion));
    std::vector<BlockRequest*> batch;
    for (auto& request : requests)
        batch.push_back(&request);
    disk->queue().submit(batch);
    EXPECT_EQ(port->taken.size(), 4u);
    EXPECT_EQ(disk->queue().stats().blocked, 1u);
    auto freed = port->taken[1];
    ASSERT_TRUE(disk->queue().end_request(freed, NK_BLK_STS_OK));
    ASSERT_EQ(port->taken.size(), 5u);
    EXPECT_EQ(requests[4].tag, freed);
}

// Ending a tag that is not in flight is an error, not a corruption.
TEST_F(RequestQueueTest, EndRequest_UnknownTagRejected)
{
    EXPECT_FALSE(disk->queue().end_request(2, NK_BLK_STS_OK));
    EXPECT_FALSE(disk->queue().end_request(99, NK_BLK_STS_OK));
}

// Killing the queue fails everything outstanding and everything later with IOERR.
TEST_F(RequestQueueTest, Kill_FailsOutstandingAndFuture)
{
    BlockCompletion completion(6);
    std::vector<BlockRequest> requests;
    for (int i = 0; i < 5; ++i)
        requests.push_back(make(BlockOp::Read, uint64_t(i) * 100, 8, completion));
    std::vector<BlockRequest*> batch;
    for (auto& request : requests)
        batch.push_back(&request);
    disk->queue().submit(batch);
    disk->kill();
    auto late = make(BlockOp::Read, 0, 8, completion);
    BlockRequest* late_batch[] = { &late };
    disk->queue().submit(late_batch);
    ASSERT_TRUE(completion.finished());
    for (auto const& request : requests)
        EXPECT_EQ(request.status, NK_BLK_STS_IOERR);
    EXPECT_EQ(late.status, NK_BLK_STS_IOERR);
    // The driver's late completion of a killed request is refused harmlessly.
    EXPECT_FALSE(disk->queue().end_request(port->taken[0], NK_BLK_STS_OK));
}

} // namespace
} // namespace nk
