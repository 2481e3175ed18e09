// SPDX-License-Identifier: MIT
// A device driven by a clock (NKTICK), run by the kernel's event loop: its
// interrupts arrive from the loop thread, outside any call into the driver,
// natively and across a protection domain; a reset stops them synchronously;
// and a recovered driver starts the clock again.

#include "devices/aux/TickDevice.h"
#include "support/TestMachine.h"
#include "system/test/TestPackage.h"

#include <nktest.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>

namespace nk {
namespace {

using namespace std::chrono_literals;
using test::Backend;

class TickDeviceTest : public ::testing::TestWithParam<Backend> {
protected:
    void SetUp() override
    {
        machine = test::TestMachine::boot(dir, { .backend = GetParam(), .livelock_ms = 5000, .tick = true });
        ASSERT_NE(machine, nullptr);
        clock = machine->system().hardware<TickDevice>("tick0");
        ASSERT_NE(clock, nullptr);
    }
    int handled() { return machine->ioctl(NKTEST_TICKS).value_or(-1); }

    test::TempDir dir;
    std::unique_ptr<test::TestMachine> machine;
    TickDevice* clock { nullptr };
};

// Nothing calls the driver, yet its handler runs: the clock ticks on the
// event loop, which raises the interrupt outside any crossing.
TEST_P(TickDeviceTest, Interrupts_ArriveOnTheirOwn)
{
    EXPECT_TRUE(clock->running());
    ASSERT_TRUE(test::wait_until(10s, [&] { return handled() >= 20; })) << "handled " << handled() << " of " << clock->ticks() << " ticks";
    // Each interrupt the driver handled was a tick of the device (several
    // ticks may share one interrupt while it is pending).
    // handled() is read first: ticks only grow, so a later read can only be larger.
    auto handled_so_far = static_cast<uint32_t>(handled());
    EXPECT_LE(handled_so_far, clock->ticks());
    EXPECT_GT(machine->kernel().events().stats().callbacks, 0u);
}

// A reset stops the clock at once and for good: not one interrupt after it.
TEST_P(TickDeviceTest, HardReset_StopsTheClockSynchronously)
{
    ASSERT_TRUE(test::wait_until(10s, [&] { return handled() >= 5; }));
    for (int round = 0; round < 20; ++round) {
        clock->hard_reset();
        EXPECT_FALSE(clock->running());
        auto after_reset = handled();
        EXPECT_EQ(clock->ticks(), 0u);
        std::this_thread::sleep_for(5ms); // five periods
        EXPECT_EQ(clock->ticks(), 0u) << "round " << round << ": the clock ticked after its reset";
        EXPECT_EQ(handled(), after_reset) << "round " << round;
        // The driver starts it again by programming it, as a new instance would.
        clock->write_register(0, NKTICK_REG_CTRL, 4, NKTICK_CTRL_RUN);
        ASSERT_TRUE(test::wait_until(10s, [&] { return handled() > after_reset; })) << "round " << round;
    }
}

// Misprogramming is an error status on the device, never harm to the kernel.
TEST_P(TickDeviceTest, BadPeriod_ErrorStatus)
{
    clock->write_register(0, NKTICK_REG_PERIOD_US, 4, 5);
    EXPECT_NE(clock->read_register(0, NKTICK_REG_STATUS, 4) & NKTICK_STATUS_ERROR, 0u);
    EXPECT_FALSE(clock->running());
    EXPECT_EQ(clock->read_register(0, NKTICK_REG_PERIOD_US, 4), 1000u);
}

INSTANTIATE_TEST_SUITE_P(Backends, TickDeviceTest, ::testing::Values(Backend::Native, Backend::Process),
    [](auto const& info) { return std::string(test::backend_name(info.param)); });

// Unloading the driver while its clock interrupts keep coming, with a single
// channel into its domain: its remove stops the clock and frees the line from
// inside a crossing while a tick's handler may be waiting for that very
// channel. Neither waits for the other (the handler is withdrawn), every time.
TEST(TickDeviceUnload, WhileInterruptsArrive_OneChannel)
{
    for (int round = 0; round < 10; ++round) {
        SCOPED_TRACE(::testing::Message() << "round " << round);
        test::TempDir dir;
        auto machine = test::TestMachine::boot(dir, { .backend = Backend::Process, .livelock_ms = 5000, .channels = 1, .tick = true });
        ASSERT_NE(machine, nullptr);
        auto* clock = machine->system().hardware<TickDevice>("tick0");
        ASSERT_NE(clock, nullptr);
        clock->write_register(0, NKTICK_REG_PERIOD_US, 4, NKTICK_PERIOD_MIN_US); // as fast as it goes
        ASSERT_TRUE(test::wait_until(10s, [&] { return clock->ticks() >= 20; }));
        auto unloading = std::make_shared<std::atomic<bool>>(false);
        auto* kernel = &machine->kernel();
        auto* module = &machine->module();
        std::thread unloader([=] {
            (void)kernel->unload_module(*module);
            unloading->store(true);
        });
        if (!test::wait_until(30s, [&] { return unloading->load(); })) {
            // A deadlock cannot be cleaned up: say so and end the run.
            std::fprintf(stderr, "TickDeviceUnload: unload did not return in 30 s (round %d): deadlock\n", round);
            std::_Exit(1);
        }
        unloader.join();
        EXPECT_FALSE(clock->running());
    }
}

// Recovery: the failed instance's clock is stopped by the reset stage, and the
// restarted driver, programming the device again, starts it; its interrupts
// reach the new instance.
TEST(TickDeviceRecovery, RestartedDriverStartsTheClockAgain)
{
    test::TempDir dir;
    auto config = test::machine_config(fmt::format("mode = \"nooks\"\ncontrol = \"\"\n{}[[tick]]\nname = \"tick0\"\n",
        test::disk_table(dir, "disk0", 16ull << 20, test::nktest_driver_path())));
    config.isolation.agent = "";
    auto booted = System::boot(config, { .mount_frontends = false }, test_catalog());
    ASSERT_TRUE(booted) << booted.error().message();
    auto& system = **booted;
    auto* clock = system.hardware<TickDevice>("tick0");
    ASSERT_NE(clock, nullptr);
    auto handled = [&] { return test::find_disk(system)->ioctl(NKTEST_TICKS, 0).value_or(-1); };
    ASSERT_TRUE(test::wait_until(10s, [&] { return handled() >= 5; }));

    auto module = system.driver_of("disk0");
    ASSERT_NE(module, nullptr);
    auto* isolated = dynamic_cast<IsolatedModule*>(module.get());
    ASSERT_NE(isolated, nullptr);
    isolated->fail({ .cause = FailureCause::Operator, .module = isolated->name(), .message = "test" });
    ASSERT_TRUE(test::wait_until(10s, [&] {
        auto status = system.recovery()->driver("nktest@disk0");
        return status && status->restarts == 1 && status->state == DriverState::Live;
    }));
    // A fresh instance counts from zero: what it counts came after the restart.
    ASSERT_TRUE(test::wait_until(10s, [&] { return handled() >= 5; })) << "the restarted driver gets no clock interrupts";
    EXPECT_TRUE(clock->running());
    auto history = system.recovery()->history();
    ASSERT_EQ(history.size(), 1u);
    auto reset = std::ranges::find(history[0].stages, std::string("reset-device"), &StageTiming::stage);
    ASSERT_NE(reset, history[0].stages.end());
    EXPECT_NE(reset->note.find("2 devices"), std::string::npos) << reset->note; // disk0 and tick0
}

} // namespace
} // namespace nk
