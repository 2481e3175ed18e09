// SPDX-License-Identifier: MIT
// Every kind of bad parameter an isolated driver can pass is rejected by a
// wrapper before the kernel acts on it; the rejection names the function and
// the argument; the driver is failed and everything it held is released.

#include "support/TestMachine.h"

#include <nktest.h>

namespace nk {
namespace {

struct BadParam {
    int kind;
    FailureCause cause;
    char const* expected; // a piece of the message
};

class Rejection : public ::testing::TestWithParam<BadParam> { };

TEST_P(Rejection, DriverFailedKernelUnharmed)
{
    test::TempDir dir;
    auto machine = test::TestMachine::boot(dir, { .backend = test::Backend::Process });
    ASSERT_NE(machine, nullptr);
    auto* module = machine->isolated();
    ASSERT_NE(module, nullptr);
    EXPECT_GT(module->tracker().count(), 0u);

    auto result = machine->ioctl(NKTEST_BAD_PARAM, static_cast<uint64_t>(GetParam().kind));
    EXPECT_FALSE(result.has_value()) << "the call returned " << result.value_or(0);

    auto failure = module->failure();
    ASSERT_TRUE(failure.has_value());
    EXPECT_EQ(failure->cause, GetParam().cause) << failure->message;
    EXPECT_NE(failure->message.find(GetParam().expected), std::string::npos) << failure->message;
    EXPECT_EQ(module->state(), ModuleState::Failed);

    // Everything the driver held is released; its disk is gone; the kernel serves on.
    ASSERT_TRUE(module->wait_released(std::chrono::seconds(10)));
    EXPECT_EQ(module->tracker().count(), 0u);
    EXPECT_EQ(test::block_layer(machine->system()).find("disk0"), nullptr);
    EXPECT_EQ(machine->kernel().bus().find_device("disk0")->driver(), nullptr);
    EXPECT_TRUE(machine->kernel().irqs().is_valid(1));
}

INSTANTIATE_TEST_SUITE_P(Kinds, Rejection,
    ::testing::Values(BadParam { NKTEST_BAD_NOT_A_HANDLE, FailureCause::Rejection, "nk_timer_mod: timer: 0x1234 is not a kernel object handle" },
        BadParam { NKTEST_BAD_STALE_HANDLE, FailureCause::Rejection, "already released (use after free)" },
        BadParam { NKTEST_BAD_WRONG_TYPE, FailureCause::Rejection, "is a register-window, not a timer" },
        BadParam { NKTEST_BAD_OFFSET, FailureCause::Rejection, "nk_readl: offset 0x10000: outside the 4096-byte window" },
        BadParam { NKTEST_BAD_ALIGNMENT, FailureCause::Rejection, "nk_readl: offset 0x3" },
        BadParam { NKTEST_BAD_STATUS, FailureCause::Rejection, "nk_blk_end_request: status 99" },
        BadParam { NKTEST_BAD_TAG, FailureCause::Rejection, "nk_blk_end_request: tag 200: not a request this driver holds" },
        BadParam { NKTEST_BAD_IRQ, FailureCause::Rejection, "nk_request_irq: irq 4000" },
        BadParam { NKTEST_BAD_ENABLE, FailureCause::Rejection, "nk_enable_irq: irq" },
        BadParam { NKTEST_BAD_DMA_FREE, FailureCause::Rejection, "nk_dma_unmap_coherent: dma" },
        BadParam { NKTEST_BAD_SLEEP, FailureCause::Rejection, "nk_msleep: ms 600000" },
        BadParam { NKTEST_BAD_KFREE, FailureCause::Misuse, "nk_kfree: free of a pointer outside the driver's heap" }),
    [](auto const& info) { return "kind" + std::to_string(info.param.kind); });

} // namespace
} // namespace nk
