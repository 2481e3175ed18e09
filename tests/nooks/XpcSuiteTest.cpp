// SPDX-License-Identifier: MIT
// One suite, every backend: the same crossings through the nktest driver must
// behave the same whether it runs in the kernel process or in a domain.

#include "support/TestMachine.h"

#include <nktest.h>

#include <atomic>
#include <thread>

namespace nk {
namespace {

using test::Backend;

class XpcSuite : public ::testing::TestWithParam<Backend> {
protected:
    void SetUp() override
    {
        machine = test::TestMachine::boot(dir, { .backend = GetParam(), .livelock_ms = 5000 });
        ASSERT_NE(machine, nullptr);
    }
    test::TempDir dir;
    std::unique_ptr<test::TestMachine> machine;
};

// A call into the driver returns the driver's answer.
TEST_P(XpcSuite, Echo_ReturnsArgument)
{
    for (uint64_t value : { 0, 1, 42, 123456 })
        EXPECT_EQ(machine->ioctl(NKTEST_ECHO, value).value(), static_cast<int>(value));
}

// Driver -> kernel synchronous calls, many in one kernel -> driver call.
TEST_P(XpcSuite, KernelCallsFromDriver_AllAnswered)
{
    EXPECT_EQ(machine->ioctl(NKTEST_READS, 100).value(), 100);
}

// Posted writes reach the device in the order the driver made them, and a read
// made after them sees all of them (the read flushes what was queued).
TEST_P(XpcSuite, PostedWrites_InOrderAndFlushedByRead)
{
    EXPECT_EQ(machine->ioctl(NKTEST_WRITES, 50).value(), 50);
    auto log = machine->aux().log();
    ASSERT_EQ(log.size(), 50u);
    for (uint64_t i = 0; i < log.size(); ++i)
        EXPECT_EQ(log[i], i);
}

// Posted writes with no read after them have all landed when the call returns.
TEST_P(XpcSuite, PostedWrites_LandedWhenCallReturns)
{
    ASSERT_EQ(machine->ioctl(NKTEST_POSTED, 700).value(), 0); // more than one deferred queue's worth
    auto log = machine->aux().log();
    ASSERT_EQ(log.size(), 700u);
    for (uint64_t i = 0; i < log.size(); ++i)
        ASSERT_EQ(log[i], i);
}

// kernel -> driver (ioctl) -> kernel (register) -> driver (probe) -> kernel (dev_info):
// nested crossings on one thread.
TEST_P(XpcSuite, Nesting_RemoveAndProbeInsideACall)
{
    auto first = machine->ioctl(NKTEST_NEST).value();
    auto second = machine->ioctl(NKTEST_NEST).value();
    EXPECT_EQ(second, first + 1);
    EXPECT_NE(machine->kernel().bus().find_device("aux0")->driver(), nullptr);
}

// Several kernel threads inside the driver at once: each on its own channel.
TEST_P(XpcSuite, Concurrency_ThreadsInsideTheDriverTogether)
{
    constexpr int threads = 4;
    std::atomic<int> failures { 0 };
    std::vector<std::thread> callers;
    for (int i = 0; i < threads; ++i) {
        callers.emplace_back([&] {
            if (machine->ioctl(NKTEST_SLEEP, 200).value_or(-1) != 0)
                failures++;
        });
    }
    for (auto& caller : callers)
        caller.join();
    EXPECT_EQ(failures.load(), 0);
    // They overlapped inside the driver (a serializing transport would show 1).
    EXPECT_GE(machine->ioctl(NKTEST_MAX_CONCURRENT).value(), 2);
}

// Many concurrent short calls all get their own answers back.
TEST_P(XpcSuite, Concurrency_AnswersNotMixedUp)
{
    std::atomic<int> wrong { 0 };
    std::vector<std::thread> callers;
    for (int t = 0; t < 6; ++t) {
        callers.emplace_back([&, t] {
            for (int i = 0; i < 300; ++i) {
                auto value = t * 1000 + i;
                if (machine->ioctl(NKTEST_ECHO, static_cast<uint64_t>(value)).value_or(-1) != value)
                    wrong++;
            }
        });
    }
    for (auto& caller : callers)
        caller.join();
    EXPECT_EQ(wrong.load(), 0);
}

// A timer the driver arms fires into the driver from the kernel's timer thread.
TEST_P(XpcSuite, Timer_CallbackReachesDriver)
{
    ASSERT_EQ(machine->ioctl(NKTEST_TIMER, 1).value(), 0);
    // Each look re-arms the timer for 1 ms; looks are 2 ms apart, so it fires between them.
    EXPECT_TRUE(test::wait_until(std::chrono::seconds(5), [&] { return machine->ioctl(NKTEST_TIMER, 1).value() >= 1; }));
}

// Memory stays in the driver's own heap and is returned.
TEST_P(XpcSuite, Memory_AllocateAndFree)
{
    EXPECT_EQ(machine->ioctl(NKTEST_ALLOC, 5000).value(), 0);
}

// Block requests submitted together reach the driver and complete.
TEST_P(XpcSuite, BlockBatch_Completes)
{
    auto disk = machine->disk();
    ASSERT_NE(disk, nullptr);
    std::vector<std::byte> buffer(8 << 20);
    std::vector<BlockRequest> requests(16);
    std::vector<BlockRequest*> batch;
    BlockCompletion completion(16);
    for (size_t i = 0; i < requests.size(); ++i) {
        requests[i].op = BlockOp::Read;
        requests[i].sector = i * 256;
        requests[i].nr_sectors = 256;
        requests[i].buffer = buffer.data() + i * 128 * 1024;
        requests[i].completion = &completion;
        batch.push_back(&requests[i]);
    }
    disk->queue().submit(batch);
    completion.wait();
    for (auto const& request : requests)
        EXPECT_EQ(request.status, NK_BLK_STS_OK);
}

INSTANTIATE_TEST_SUITE_P(Backends, XpcSuite, ::testing::Values(Backend::Native, Backend::Process),
    [](auto const& info) { return std::string(test::backend_name(info.param)); });

// Under isolation, a batch of n requests is one synchronous crossing: the
// worker runs the n queue_rq calls back to back.
TEST(XpcProcess, BlockBatch_OneSynchronousCrossing)
{
    test::TempDir dir;
    auto machine = test::TestMachine::boot(dir, { .backend = Backend::Process });
    ASSERT_NE(machine, nullptr);
    auto disk = machine->disk();
    std::vector<std::byte> buffer(1 << 20);
    std::vector<BlockRequest> requests(8);
    std::vector<BlockRequest*> batch;
    BlockCompletion completion(8);
    for (size_t i = 0; i < requests.size(); ++i) {
        requests[i].op = BlockOp::Write;
        requests[i].sector = i * 8;
        requests[i].nr_sectors = 8;
        requests[i].buffer = buffer.data() + i * 4096;
        requests[i].completion = &completion;
        batch.push_back(&requests[i]);
    }
    auto before = machine->isolated()->xpc().stats();
    disk->queue().submit(batch);
    completion.wait();
    auto after = machine->isolated()->xpc().stats();
    auto queue_rq = size_t(abi::DriverEntry::blk_queue_rq);
    EXPECT_EQ(after.calls - before.calls, 1u);
    EXPECT_EQ(after.batches - before.batches, 1u);
    EXPECT_EQ(after.batched - before.batched, 8u);
    EXPECT_EQ(after.per_entry[queue_rq] - before.per_entry[queue_rq], 8u);
    // The completions came back deferred, not as calls.
    EXPECT_EQ(after.deferred_in - before.deferred_in, 8u);
    EXPECT_EQ(after.kernel_calls, before.kernel_calls);
}

// A worker that answered stays awake for the next call (poll_ns): calls that
// follow one another need no wake.
TEST(XpcProcess, Polling_BackToBackCallsNeedNoWake)
{
    test::TempDir dir;
    // A window far longer than any call here, so the test does not depend on timing.
    auto machine = test::TestMachine::boot(dir, { .backend = Backend::Process, .livelock_ms = 5000, .poll_ns = 1'000'000'000 });
    ASSERT_NE(machine, nullptr);
    ASSERT_EQ(machine->ioctl(NKTEST_ECHO, 1).value(), 1); // wakes the worker if it slept
    auto before = machine->isolated()->xpc().stats();
    for (uint64_t i = 0; i < 200; ++i)
        ASSERT_EQ(machine->ioctl(NKTEST_ECHO, i).value(), static_cast<int>(i));
    auto after = machine->isolated()->xpc().stats();
    EXPECT_EQ(after.calls - before.calls, 200u);
    // A call may land on another channel (one whose worker sleeps): at most one wake per channel.
    // (The kernel side may still sleep for an answer when the worker's CPU is busy.)
    EXPECT_LE(after.wakeups - before.wakeups, 8u);
}

// Without polling a worker sleeps as soon as it has answered: a call after a
// pause has to wake it.
TEST(XpcProcess, NoPolling_IdleWorkerIsWoken)
{
    test::TempDir dir;
    auto machine = test::TestMachine::boot(dir, { .backend = Backend::Process, .livelock_ms = 5000, .poll_ns = 0 });
    ASSERT_NE(machine, nullptr);
    ASSERT_EQ(machine->ioctl(NKTEST_ECHO, 1).value(), 1);
    auto& memory = machine->isolated()->memory();
    auto all_asleep = [&] {
        for (unsigned channel = 0; channel < memory.geometry().channels; ++channel) {
            if (memory.domain_channel(channel).waiting.load() == 0)
                return false;
        }
        return true;
    };
    auto before = machine->isolated()->xpc().stats();
    for (uint64_t i = 0; i < 5; ++i) {
        // Every worker sleeps: whichever channel the call takes must wake one.
        ASSERT_TRUE(test::wait_until(std::chrono::seconds(5), all_asleep));
        ASSERT_EQ(machine->ioctl(NKTEST_ECHO, i).value(), static_cast<int>(i));
    }
    auto after = machine->isolated()->xpc().stats();
    EXPECT_EQ(after.wakeups - before.wakeups, 5u);
}

} // namespace
} // namespace nk
