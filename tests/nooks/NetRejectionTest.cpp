// SPDX-License-Identifier: MIT
// The net class under isolation, with nktest's net device (aux0, see
// nktest.h):
//   - every kind of bad parameter a driver can pass in a net call, and every
//     bad answer of a net entry point, is rejected before the kernel acts on
//     it, with a message that names the function and the parameter; the
//     driver is failed, everything it held is released, the kernel serves on;
//   - a parameter the domain's stubs never send wrong (the queue/carrier op)
//     is rejected by its wrapper when a call is forged;
//   - a driver that follows the rules goes through a net device's whole life
//     (registration, open, transmit, napi and receive, queue and carrier
//     state, counters, stop, unregistration) without failing, and leaves
//     nothing of the net class tracked.

#include "support/TestMachine.h"

#include "classes/net/NetLayer.h"
#include "nooks/recovery/Failure.h"
#include "nooks/wrappers/net/NetWrappers.h"

#include <nktest.h>

#include <vector>

namespace nk {
namespace {

using namespace std::chrono_literals;

NetLayer* net_layer(test::TestMachine& machine) { return machine.kernel().driver_class<NetLayer>(); }

// What the driver holds of the net class: net devices and napi contexts.
size_t net_objects(IsolatedModule& module)
{
    size_t count = 0;
    for (auto const& object : module.tracker().list())
        count += object.type == netdev_object || object.type == napi_object ? 1 : 0;
    return count;
}

Frame test_frame(uint32_t length)
{
    Frame frame(length);
    for (uint32_t i = 0; i < length; ++i)
        frame[i] = std::byte { nktest_frame_byte(i) };
    return frame;
}

// The stack above a device, as the TAP frontend would be: records what came up.
class RecordingUpper final : public NetUpper {
public:
    void frame_received(std::span<std::byte const> frame) override
    {
        MutexLocker lock(m_mutex);
        m_frames.emplace_back(frame.begin(), frame.end());
    }
    void carrier_changed(bool on) override
    {
        MutexLocker lock(m_mutex);
        m_carrier.push_back(on);
    }
    void queue_woken() override { }

    std::vector<Frame> frames() const
    {
        MutexLocker lock(m_mutex);
        return m_frames;
    }
    std::vector<bool> carrier() const
    {
        MutexLocker lock(m_mutex);
        return m_carrier;
    }

private:
    mutable Mutex m_mutex;
    std::vector<Frame> m_frames NK_GUARDED_BY(m_mutex);
    std::vector<bool> m_carrier NK_GUARDED_BY(m_mutex);
};

// ---- Bad parameters and bad answers ---------------------------------------------

// What the kernel does after the kind armed the driver (nothing: the bad call
// was made inside the ioctl, or by a poll it scheduled).
enum class Then { Nothing, Open, OpenAndSend };

struct NetBadParam {
    char const* name;
    int kind; // enum nktest_bad_param
    FailureCause cause;
    std::vector<char const*> expected; // pieces of the failure message
    // The bad call is made inside the ioctl (which then fails); false: in an
    // entry point the kernel calls afterwards.
    bool call_fails { true };
    Then then { Then::Nothing };
};

// For gtest's messages: the case's name, not its bytes.
void PrintTo(NetBadParam const& param, std::ostream* os) { *os << param.name; }

class NetRejection : public ::testing::TestWithParam<NetBadParam> { };

TEST_P(NetRejection, DriverFailedKernelUnharmed)
{
    auto const& param = GetParam();
    test::TempDir dir;
    auto machine = test::TestMachine::boot(dir, { .backend = test::Backend::Process });
    ASSERT_NE(machine, nullptr);
    auto* module = machine->isolated();
    ASSERT_NE(module, nullptr);
    auto* net = net_layer(*machine);
    ASSERT_NE(net, nullptr);

    auto result = machine->ioctl(NKTEST_BAD_PARAM, static_cast<uint64_t>(param.kind));
    if (param.call_fails) {
        EXPECT_FALSE(result.has_value()) << "the call returned " << result.value_or(0);
    }
    if (param.then != Then::Nothing) {
        ASSERT_EQ(result.value_or(-1), 0) << "arming the misbehaviour";
        auto device = net->find("aux0");
        ASSERT_NE(device, nullptr);
        auto opened = device->open();
        if (param.then == Then::OpenAndSend) {
            ASSERT_TRUE(opened.has_value()) << opened.error().message();
            EXPECT_TRUE(device->enqueue(test_frame(NKTEST_NET_FRAME_LEN)));
            device->run_queue();
        } else {
            EXPECT_FALSE(opened.has_value()) << "open succeeded";
        }
    }

    ASSERT_TRUE(test::wait_until(10s, [&] { return module->failure().has_value(); })) << "the driver was not failed";
    auto failure = *module->failure();
    EXPECT_EQ(failure.cause, param.cause) << failure_cause_name(failure.cause) << ": " << failure.message;
    for (auto const* piece : param.expected)
        EXPECT_NE(failure.message.find(piece), std::string::npos) << "'" << piece << "' is not in: " << failure.message;
    EXPECT_EQ(module->state(), ModuleState::Failed);

    // Everything the driver held is released: its net device and disk are
    // gone, nothing is tracked; the kernel serves on.
    ASSERT_TRUE(module->wait_released(10s));
    EXPECT_EQ(module->tracker().count(), 0u);
    EXPECT_EQ(net->find("aux0"), nullptr);
    EXPECT_TRUE(net->devices().empty());
    EXPECT_EQ(test::block_layer(machine->system()).find("disk0"), nullptr);
    EXPECT_EQ(machine->kernel().bus().find_device("aux0")->driver(), nullptr);
    EXPECT_TRUE(machine->kernel().irqs().is_valid(1));
}

constexpr auto rejection = FailureCause::Rejection;
constexpr auto misuse = FailureCause::Misuse;

INSTANTIATE_TEST_SUITE_P(Kinds, NetRejection,
    ::testing::Values(
        // nk_netif_rx
        NetBadParam { "RxShort", NKTEST_BAD_RX_SHORT, rejection, { "nk_netif_rx: len 3: not a frame length (14..9018)" } },
        NetBadParam { "RxLong", NKTEST_BAD_RX_LONG, rejection, { "nk_netif_rx: len 9019: not a frame length" } },
        NetBadParam { "RxStatic", NKTEST_BAD_RX_STATIC, rejection, { "nk_netif_rx: frame 0x", "(60 bytes): not in the driver's memory" } },
        NetBadParam { "RxNull", NKTEST_BAD_RX_NULL, rejection, { "nk_netif_rx: frame 0x0 (60 bytes): not in the driver's memory" } },
        // Net device handles
        NetBadParam { "NetdevNotAHandle", NKTEST_BAD_NETDEV_HANDLE, rejection, { "nk_netif_carrier_on: dev: 0x1234 is not a kernel object handle" } },
        NetBadParam { "NetdevWrongType", NKTEST_BAD_NETDEV_TYPE, rejection, { "nk_netif_carrier_on: dev: 0x", "is a register-window, not a netdev" } },
        NetBadParam { "NetdevIsNapi", NKTEST_BAD_NETDEV_NAPI, rejection, { "nk_netif_carrier_on: dev: 0x", "is a napi, not a netdev" } },
        NetBadParam { "NetdevReleased", NKTEST_BAD_NETDEV_STALE, rejection,
            { "nk_netif_carrier_on: dev: 0x", "is a netdev this driver already released (use after free)" } },
        // Napi contexts
        NetBadParam { "NapiWrongType", NKTEST_BAD_NAPI_TYPE, rejection, { "nk_napi_schedule: napi: 0x", "is a netdev, not a napi" } },
        NetBadParam { "NapiReleased", NKTEST_BAD_NAPI_STALE, rejection,
            { "nk_napi_enable: napi: 0x", "is a napi this driver already released (use after free)" } },
        NetBadParam { "NapiWeightZero", NKTEST_BAD_NAPI_WEIGHT, rejection, { "nk_napi_add: weight 0: not 1..1024" } },
        NetBadParam { "NapiWeightTooHigh", NKTEST_BAD_NAPI_HEAVY, rejection, { "nk_napi_add: weight 1025: not 1..1024" } },
        NetBadParam { "NapiNoPoll", NKTEST_BAD_NAPI_NO_POLL, rejection, { "nk_napi_add: poll: missing" } },
        NetBadParam { "NapiWorkAboveWeight", NKTEST_BAD_NAPI_WORK, rejection, { "nk_napi_complete_done: work_done 65: not 0..64" } },
        NetBadParam { "NapiWorkNegative", NKTEST_BAD_NAPI_NEGATIVE, rejection, { "nk_napi_complete_done: work_done -1: not 0..64" } },
        // nk_netdev_register
        NetBadParam { "RegisterWithoutRxMode", NKTEST_BAD_REG_OPS, rejection,
            { "nk_netdev_register: ops: open, stop, start_xmit and set_rx_mode are required" } },
        NetBadParam { "RegisterMtuAboveMax", NKTEST_BAD_REG_MTU, rejection, { "nk_netdev_register: ", "params.mtu 1501 (must be 68 .. 1500)" } },
        NetBadParam { "RegisterMaxMtuTooHigh", NKTEST_BAD_REG_MAX_MTU, rejection, { "nk_netdev_register: ", "params.max_mtu 9001 (at most 9000)" } },
        NetBadParam { "RegisterMinMtuTooLow", NKTEST_BAD_REG_MIN_MTU, rejection, { "nk_netdev_register: ", "params.min_mtu 67" } },
        NetBadParam { "RegisterMulticastMac", NKTEST_BAD_REG_MULTICAST, rejection,
            { "nk_netdev_register: ", "params.mac 01:00:5e:00:00:01 is not a unicast station address" } },
        NetBadParam { "RegisterZeroMac", NKTEST_BAD_REG_ZERO_MAC, rejection,
            { "nk_netdev_register: ", "params.mac 00:00:00:00:00:00 is not a unicast station address" } },
        NetBadParam { "RegisterFeatures", NKTEST_BAD_REG_FEATURES, rejection, { "nk_netdev_register: ", "params.features 0x1 (none are defined)" } },
        NetBadParam { "RegisterOnRegisterWindow", NKTEST_BAD_REG_DEV, rejection, { "nk_netdev_register: dev: 0x", "is a register-window, not a device" } },
        // Entry points that answer wrong, or call what their context forbids
        NetBadParam { "PollAboveBudget", NKTEST_BAD_POLL_BUDGET, rejection, { "napi_poll returned 9 (not a work count within the budget 8)" },
            false },
        NetBadParam { "PollDisablesItself", NKTEST_BAD_POLL_DISABLE, misuse, { "nk_napi_disable: may sleep, called in atomic context" }, false },
        NetBadParam { "PollDeletesItself", NKTEST_BAD_POLL_DEL, misuse, { "nk_napi_del: may sleep, called in atomic context" }, false },
        NetBadParam { "PollUnregisters", NKTEST_BAD_POLL_UNREGISTER, misuse, { "nk_netdev_unregister: may sleep, called in atomic context" },
            false },
        NetBadParam { "XmitAnswersNeitherOkNorBusy", NKTEST_BAD_XMIT_ANSWER, rejection, { "net_start_xmit returned 7 (not an nk_netdev_tx)" },
            false, Then::OpenAndSend },
        NetBadParam { "OpenUnregistersItsDevice", NKTEST_BAD_OPEN_UNREGISTER, misuse,
            { "nk_netdev_unregister: dev 0x", "called from the device's own open (it waits for that to return)" }, false, Then::Open }),
    [](auto const& info) { return std::string(info.param.name); });

// ---- A forged call: the queue/carrier op ------------------------------------------

// nk_netif_{start,stop,wake}_queue and nk_netif_carrier_{on,off} all cross as
// netif_state with an op the stub fills in, so no driver can pass a bad op
// through <nooks/net.h>; the wrapper checks it anyway (a domain's memory,
// its stubs' included, is the driver's to corrupt). The call is forged here
// and handed to the net wrappers as the endpoint would; the endpoint fails
// the driver on any wrapper error (as the cases above show end to end). Also:
// a bad handle in any of the five is reported under the function's own name.
TEST(NetForgedCall, QueueOperationOutOfRangeRejected)
{
    test::TempDir dir;
    auto machine = test::TestMachine::boot(dir, { .backend = test::Backend::Process });
    ASSERT_NE(machine, nullptr);
    auto* module = machine->isolated();
    ASSERT_NE(module, nullptr);
    ASSERT_EQ(machine->ioctl(NKTEST_NET_REGISTER).value_or(-1), 0);
    auto device = net_layer(*machine)->find("aux0");
    ASSERT_NE(device, nullptr);
    uint64_t handle = 0;
    for (auto const& object : module->tracker().list()) {
        if (object.type == netdev_object)
            handle = object.handle;
    }
    ASSERT_NE(handle, 0u);

    NetWrappers wrappers(*module);
    uint32_t sequence = 0;
    auto forge = [&](uint32_t op, uint64_t dev) {
        abi::NetifStateArgs args { dev, op, ++sequence };
        IncomingCall call { abi::KernelCall::netif_state, std::as_bytes(std::span(&args, 1)), 0 };
        ReplyPayload reply;
        return wrappers.handle(call, reply);
    };
    for (uint32_t op : { 5u, 0x80000003u, 0xffffffffu }) {
        auto handled = forge(op, handle);
        ASSERT_FALSE(handled.has_value()) << "op " << op << " accepted";
        EXPECT_EQ(handled.error().code(), ErrorCode::InvalidArgument);
        EXPECT_EQ(failure_cause_of(handled.error().code()), FailureCause::Rejection);
        EXPECT_EQ(handled.error().message(), fmt::format("nk_netif_state: op {}: not a queue or carrier operation", op));
    }
    // Nothing was done to the device; the same call with a good op does act.
    EXPECT_FALSE(device->carrier());
    EXPECT_TRUE(device->queue_stopped());
    ASSERT_TRUE(forge(static_cast<uint32_t>(abi::NetQueueOp::carrier_on), handle).has_value());
    EXPECT_TRUE(device->carrier());
    EXPECT_FALSE(module->failure().has_value());
    // A change older than one applied (it came by another channel, late) is dropped.
    abi::NetifStateArgs stale { handle, static_cast<uint32_t>(abi::NetQueueOp::carrier_off), sequence - 1 };
    IncomingCall stale_call { abi::KernelCall::netif_state, std::as_bytes(std::span(&stale, 1)), 0 };
    ReplyPayload stale_reply;
    ASSERT_TRUE(wrappers.handle(stale_call, stale_reply).has_value());
    EXPECT_TRUE(device->carrier()) << "a stale carrier change was applied";

    // A bad handle is reported under the name of the function the driver called.
    std::pair<abi::NetQueueOp, char const*> const functions[] = { { abi::NetQueueOp::start, "nk_netif_start_queue" },
        { abi::NetQueueOp::stop, "nk_netif_stop_queue" }, { abi::NetQueueOp::wake, "nk_netif_wake_queue" },
        { abi::NetQueueOp::carrier_on, "nk_netif_carrier_on" }, { abi::NetQueueOp::carrier_off, "nk_netif_carrier_off" } };
    for (auto const& [op, function] : functions) {
        auto handled = forge(static_cast<uint32_t>(op), 0x1234);
        ASSERT_FALSE(handled.has_value()) << function;
        EXPECT_EQ(handled.error().message(), fmt::format("{}: dev: 0x1234 is not a kernel object handle", function));
    }
    EXPECT_TRUE(device->carrier());
}

// ---- A driver that follows the rules ------------------------------------------------

class NetLifecycle : public ::testing::TestWithParam<test::Backend> { };

TEST_P(NetLifecycle, WellBehavedDriverRunsAndLeavesNothing)
{
    RecordingUpper upper; // outlives the machine and the device that calls it
    test::TempDir dir;
    auto machine = test::TestMachine::boot(dir, { .backend = GetParam() });
    ASSERT_NE(machine, nullptr);
    auto* module = machine->isolated();
    ASSERT_EQ(module != nullptr, GetParam() == test::Backend::Process);
    auto* net = net_layer(*machine);
    ASSERT_NE(net, nullptr);
    auto seen = [&](nktest_net_seen what) { return machine->ioctl(NKTEST_NET_SEEN, what).value_or(-1); };
    auto tracked_before = module != nullptr ? module->tracker().count() : 0;

    // Registered, down.
    ASSERT_EQ(machine->ioctl(NKTEST_NET_REGISTER).value_or(-1), 0);
    auto device = net->find("aux0");
    ASSERT_NE(device, nullptr);
    EXPECT_EQ(&device->owner(), &machine->module());
    EXPECT_EQ(format_ethernet_address(device->mac()), "02:6e:6b:74:00:01");
    EXPECT_EQ(device->mtu(), NK_ETH_DATA_LEN);
    EXPECT_FALSE(device->up());
    if (module != nullptr) {
        EXPECT_EQ(net_objects(*module), 2u);
    }
    device->attach_upper(&upper);

    // Up: the driver enables napi, starts the queue, turns the carrier on; the filter is programmed.
    NK_ASSERT_OK(device->open());
    EXPECT_TRUE(device->up());
    EXPECT_FALSE(device->queue_stopped());
    EXPECT_TRUE(device->carrier());
    EXPECT_EQ(seen(NKTEST_SEEN_OPENS), 1);
    EXPECT_EQ(seen(NKTEST_SEEN_RX_MODES), 1);

    // Transmit: the frame reaches start_xmit intact and is counted.
    EXPECT_TRUE(device->enqueue(test_frame(100)));
    device->run_queue();
    EXPECT_EQ(seen(NKTEST_SEEN_XMITS), 1);
    EXPECT_EQ(seen(NKTEST_SEEN_XMITS_INTACT), 1);
    EXPECT_EQ(device->stats().tx_packets, 1u);
    EXPECT_EQ(device->stats().tx_bytes, 100u);

    // Every driver-side call, then the poll it scheduled delivers a frame from its heap.
    EXPECT_EQ(machine->ioctl(NKTEST_NET_EXERCISE).value_or(-100), 0);
    ASSERT_TRUE(test::wait_until(5s, [&] { return upper.frames().size() == 1; })) << upper.frames().size() << " frames";
    EXPECT_EQ(upper.frames()[0], test_frame(NKTEST_NET_FRAME_LEN));
    EXPECT_EQ(seen(NKTEST_SEEN_DELIVERED), 1);
    EXPECT_GE(seen(NKTEST_SEEN_POLLS), 1);
    auto stats = device->stats();
    EXPECT_EQ(stats.rx_packets, 1u);
    EXPECT_EQ(stats.rx_bytes, NKTEST_NET_FRAME_LEN);
    EXPECT_EQ(stats.rx_dropped, 0u);
    EXPECT_EQ(stats.hw.rx_missed, 1u);
    EXPECT_EQ(stats.hw.rx_errors, 2u);
    EXPECT_EQ(stats.hw.tx_errors, 3u);
    EXPECT_EQ(stats.hw.hw_errors, 4u);
    EXPECT_EQ(stats.carrier_changes, 3u);
    EXPECT_EQ(upper.carrier(), (std::vector<bool> { true, false, true }));
    EXPECT_TRUE(device->carrier());
    EXPECT_FALSE(device->queue_stopped());

    // Down, then unregistered: nothing of the net class is left.
    NK_ASSERT_OK(device->stop());
    EXPECT_FALSE(device->up());
    EXPECT_FALSE(device->carrier());
    EXPECT_EQ(seen(NKTEST_SEEN_STOPS), 1);
    EXPECT_EQ(machine->ioctl(NKTEST_NET_UNREGISTER).value_or(-1), 0);
    EXPECT_EQ(net->find("aux0"), nullptr);
    EXPECT_FALSE(device->alive());
    device->attach_upper(nullptr);

    EXPECT_EQ(machine->module().state(), ModuleState::Live);
    if (module != nullptr) {
        EXPECT_FALSE(module->failure().has_value()) << module->failure()->message;
        EXPECT_EQ(net_objects(*module), 0u);
        EXPECT_EQ(module->tracker().count(), tracked_before);
    }
    EXPECT_EQ(machine->ioctl(NKTEST_ECHO, 42).value_or(0), 42);
}

INSTANTIATE_TEST_SUITE_P(Backends, NetLifecycle, ::testing::Values(test::Backend::Native, test::Backend::Process),
    [](auto const& info) { return std::string(test::backend_name(info.param)); });

} // namespace
} // namespace nk
