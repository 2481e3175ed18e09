// SPDX-License-Identifier: MIT
// Isolation proofs: a driver that writes kernel memory, jumps to a bad address,
// makes a forbidden system call, spins forever, panics or breaks the API's
// rules is caught in its domain and reported with its cause; it is marked
// failed; the kernel process goes on, its memory untouched.

#include "classes/block/BlockIo.h"
#include "support/TestMachine.h"

#include <nktest.h>

#include <csignal>
#include <sys/syscall.h>

namespace nk {
namespace {

// Kernel memory a driver might scribble on (not mapped in its domain at all).
volatile uint64_t kernel_sentinel = 0x1122334455667788ull;

class Isolation : public ::testing::Test {
protected:
    void SetUp() override
    {
        machine = test::TestMachine::boot(dir, { .backend = test::Backend::Process, .livelock_ms = 400 });
        ASSERT_NE(machine, nullptr);
        module = machine->isolated();
        ASSERT_NE(module, nullptr);
        pid = module->domain().pid();
    }

    // The common checks after a fault: failed with `cause`, domain gone, all released, kernel serving.
    FailureRecord expect_contained(FailureCause cause)
    {
        auto failure = module->failure();
        EXPECT_TRUE(failure.has_value());
        if (!failure)
            return {};
        EXPECT_EQ(failure->cause, cause) << failure->message;
        EXPECT_EQ(module->state(), ModuleState::Failed);
        EXPECT_TRUE(module->wait_released(std::chrono::seconds(10)));
        EXPECT_EQ(module->tracker().count(), 0u);
        EXPECT_TRUE(test::wait_until(std::chrono::seconds(2), [&] { return !module->domain().alive(); }));
        EXPECT_NE(::kill(pid, 0), 0); // the domain process is gone (reaped)
        EXPECT_EQ(kernel_sentinel, 0x1122334455667788ull);
        // The kernel's own machinery still works: its devices answer, its timers run.
        EXPECT_EQ(machine->aux().read_register(0, 0x08, 4), 0u);
        std::atomic<bool> fired { false };
        struct Flag final : TimerCallback {
            std::atomic<bool>& flag;
            explicit Flag(std::atomic<bool>& f) : flag(f) { }
            void fire() override { flag = true; }
        };
        auto* timer = machine->kernel().timers().create(*module, std::make_unique<Flag>(fired));
        machine->kernel().timers().mod(*timer, 1);
        EXPECT_TRUE(test::wait_until(std::chrono::seconds(2), [&] { return fired.load(); }));
        machine->kernel().timers().destroy(*timer);
        return *failure;
    }

    test::TempDir dir;
    std::unique_ptr<test::TestMachine> machine;
    IsolatedModule* module { nullptr };
    int pid { -1 };
};

// A write to kernel memory faults in the domain; the kernel's memory is unchanged.
TEST_F(Isolation, WildWriteToKernelMemory_Caught)
{
    auto address = reinterpret_cast<uint64_t>(&kernel_sentinel);
    EXPECT_FALSE(machine->ioctl(NKTEST_WILD_WRITE, address));
    auto failure = expect_contained(FailureCause::Signal);
    EXPECT_EQ(failure.signal, SIGSEGV);
    EXPECT_EQ(failure.address, address);
    EXPECT_NE(failure.function.find("nktest_ioctl"), std::string::npos) << failure.message;
}

// The request copy the kernel passed is read-only to the driver.
TEST_F(Isolation, WriteToKernelRequestCopy_Caught)
{
    auto disk = machine->disk();
    std::vector<std::byte> buffer(4096);
    BlockRequest request;
    BlockCompletion completion(1);
    request.op = BlockOp::Read;
    request.nr_sectors = 8;
    request.buffer = buffer.data();
    request.completion = &completion;
    BlockRequest* batch[] = { &request };
    disk->queue().submit(batch);
    completion.wait();
    EXPECT_FALSE(machine->ioctl(NKTEST_WRITE_REQUEST));
    auto failure = expect_contained(FailureCause::Signal);
    EXPECT_EQ(failure.signal, SIGSEGV);
    EXPECT_TRUE(module->memory().kernel_area().contains(failure.address, 8));
}

// A jump to a bad address is a crash of the driver, not of the kernel.
TEST_F(Isolation, BadJump_Caught)
{
    EXPECT_FALSE(machine->ioctl(NKTEST_BAD_JUMP, 0xdead0000));
    auto failure = expect_contained(FailureCause::Signal);
    EXPECT_EQ(failure.signal, SIGSEGV);
    EXPECT_EQ(failure.ip, 0xdead0000u);
}

// A reference through a null pointer.
TEST_F(Isolation, NullDereference_Caught)
{
    EXPECT_FALSE(machine->ioctl(NKTEST_NULL_DEREF, 0));
    auto failure = expect_contained(FailureCause::Signal);
    EXPECT_EQ(failure.address, 0u);
}

// A system call outside the runtime's needs is stopped and named.
TEST_F(Isolation, ForbiddenSyscall_CaughtAndNamed)
{
    EXPECT_FALSE(machine->ioctl(NKTEST_SYSCALL));
    auto failure = expect_contained(FailureCause::ForbiddenSyscall);
    EXPECT_EQ(failure.syscall, "socket");
    EXPECT_NE(failure.message.find("socket"), std::string::npos);
    EXPECT_NE(failure.function.find("nktest_ioctl"), std::string::npos) << failure.message;
}

// A driver that never returns is detected as a livelock; the caller gets an error back.
TEST_F(Isolation, InfiniteLoop_DetectedAsLivelock)
{
    auto result = machine->ioctl(NKTEST_SPIN);
    ASSERT_FALSE(result);
    auto failure = expect_contained(FailureCause::Livelock);
    EXPECT_NE(failure.message.find("did not answer"), std::string::npos);
}

// A driver that is alive but refuses every request (RESOURCE, none in flight)
// is a failure too: found by the block watchdog, the waiting I/O fails.
TEST_F(Isolation, RefusesAllWork_DetectedAsLivelock)
{
    test::block_layer(machine->system()).set_request_timeout(std::chrono::milliseconds(300));
    ASSERT_TRUE(machine->ioctl(NKTEST_REFUSE, 1));
    std::vector<std::byte> data(4096);
    auto read = block_io::read(*machine->disk(), 0, data); // waits until the failure ends it
    EXPECT_FALSE(read);
    auto failure = expect_contained(FailureCause::Livelock);
    EXPECT_NE(failure.message.find("refused every request"), std::string::npos) << failure.message;
}

// The driver's own panic.
TEST_F(Isolation, Panic_Reported)
{
    EXPECT_FALSE(machine->ioctl(NKTEST_PANIC, 7));
    auto failure = expect_contained(FailureCause::Panic);
    EXPECT_NE(failure.message.find("panic requested (arg 7)"), std::string::npos) << failure.message;
}

// Sleeping with a spinlock held breaks the API's rules.
TEST_F(Isolation, SleepInAtomicContext_Caught)
{
    EXPECT_FALSE(machine->ioctl(NKTEST_SLEEP_ATOMIC));
    auto failure = expect_contained(FailureCause::Misuse);
    EXPECT_NE(failure.message.find("atomic"), std::string::npos) << failure.message;
}

// Freeing a block twice is caught by the domain's heap.
TEST_F(Isolation, DoubleFree_Caught)
{
    EXPECT_FALSE(machine->ioctl(NKTEST_DOUBLE_FREE));
    auto failure = expect_contained(FailureCause::Misuse);
    EXPECT_NE(failure.message.find("double free"), std::string::npos) << failure.message;
}

// An overrun into the next block's header is found when that block is freed.
TEST_F(Isolation, HeapOverflow_Caught)
{
    EXPECT_FALSE(machine->ioctl(NKTEST_HEAP_OVERFLOW));
    auto failure = expect_contained(FailureCause::Misuse);
    EXPECT_NE(failure.message.find("heap corruption"), std::string::npos) << failure.message;
}

// Killing the domain from outside (as an OOM killer would) is detected too.
TEST_F(Isolation, DomainKilledFromOutside_Detected)
{
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    // Failed is the last thing the monitor thread records (after the failure itself).
    test::wait_until(std::chrono::seconds(10), [&] { return module->state() == ModuleState::Failed; });
    auto failure = expect_contained(FailureCause::Exit);
    EXPECT_NE(failure.message.find("Killed"), std::string::npos) << failure.message;
}

} // namespace
} // namespace nk
