// SPDX-License-Identifier: MIT
#pragma once

// Helpers for the kernel service tests: a module to attribute test code to,
// and events and counters to wait on with a bound (never sleep-and-check).

#include "kernel/Kernel.h"
#include "kernel/bus/HardwareDevice.h"
#include "kernel/module/Module.h"

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

namespace nk::test {

// Generous bound for anything another thread is expected to do "soon".
inline constexpr std::chrono::seconds wait_bound { 10 };

// A device on the bus that class tests hang their objects off (disks, net
// devices, cards): it has no registers and raises nothing.
class NullHardware final : public HardwareDevice {
public:
    explicit NullHardware(std::string name, uint16_t device_id = 1)
        : m_name(std::move(name))
        , m_device_id(device_id)
    {
    }
    uint16_t vendor_id() const override { return 1; }
    uint16_t device_id() const override { return m_device_id; }
    std::string const& name() const override { return m_name; }
    uint32_t window_count() const override { return 0; }
    uint32_t window_size(uint32_t) const override { return 0; }
    uint32_t vector_count() const override { return 0; }
    uint64_t read_register(uint32_t, uint32_t, unsigned) override { return 0; }
    void write_register(uint32_t, uint32_t, unsigned, uint64_t) override { }
    void hard_reset() override { }

private:
    std::string m_name;
    uint16_t m_device_id;
};

// A module with no driver behind it.
class TestModule final : public Module {
public:
    explicit TestModule(Kernel& kernel, std::string name = "test")
        : Module(kernel, std::move(name), "", "")
    {
    }
    Result<void> start() override { return {}; }
    void stop() override { }
    Isolation isolation() const override { return Isolation::Native; }
};

// A kernel (for Module's constructor) and a module living in it.
class ModuleHolder {
public:
    ModuleHolder()
        : m_kernel(Kernel::create({}).value())
        , m_module(*m_kernel)
    {
    }
    Kernel& kernel() { return *m_kernel; }
    Module& module() { return m_module; }

private:
    std::unique_ptr<Kernel> m_kernel;
    TestModule m_module;
};

// A one-shot flag other threads can wait for.
class Event {
public:
    void set()
    {
        {
            std::scoped_lock lock(m_mutex);
            m_set = true;
        }
        m_changed.notify_all();
    }
    bool is_set() const
    {
        std::scoped_lock lock(m_mutex);
        return m_set;
    }
    // True if the event was set within `timeout`.
    bool wait(std::chrono::milliseconds timeout = wait_bound)
    {
        std::unique_lock lock(m_mutex);
        return m_changed.wait_for(lock, timeout, [&] { return m_set; });
    }

private:
    mutable std::mutex m_mutex;
    std::condition_variable m_changed;
    bool m_set { false };
};

// A counter other threads can wait on.
class Counter {
public:
    void increment()
    {
        {
            std::scoped_lock lock(m_mutex);
            ++m_value;
        }
        m_changed.notify_all();
    }
    int value() const
    {
        std::scoped_lock lock(m_mutex);
        return m_value;
    }
    // True if the counter reached `target` within `timeout`.
    bool wait_for_at_least(int target, std::chrono::milliseconds timeout = wait_bound)
    {
        std::unique_lock lock(m_mutex);
        return m_changed.wait_for(lock, timeout, [&] { return m_value >= target; });
    }

private:
    mutable std::mutex m_mutex;
    std::condition_variable m_changed;
    int m_value { 0 };
};

// Polls `condition` until it holds or `timeout` passes; returns whether it held.
// For state that has no notification (another thread blocking inside a call).
template<typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout = wait_bound)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() >= deadline)
            return condition();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

} // namespace nk::test
