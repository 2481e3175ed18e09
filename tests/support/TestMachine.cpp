// SPDX-License-Identifier: MIT
#include "support/TestMachine.h"

namespace nk::test {

uint64_t TestDevice::read_register(uint32_t, uint32_t offset, unsigned)
{
    std::scoped_lock lock(m_mutex);
    switch (offset) {
    case 0x08: return m_log.size();
    case 0x10: return m_scratch;
    default: return 0;
    }
}

void TestDevice::write_register(uint32_t, uint32_t offset, unsigned, uint64_t value)
{
    std::scoped_lock lock(m_mutex);
    if (offset == 0x00)
        m_log.push_back(value);
    else if (offset == 0x10)
        m_scratch = value;
}

void TestDevice::hard_reset()
{
    std::scoped_lock lock(m_mutex);
    m_log.clear();
    m_scratch = 0;
}

std::vector<uint64_t> TestDevice::log() const
{
    std::scoped_lock lock(m_mutex);
    return m_log;
}

char const* backend_name(Backend backend) { return backend == Backend::Native ? "native" : "process"; }

std::string nktest_driver_path() { return default_driver_directory() + "/nktest.so"; }

std::unique_ptr<TestMachine> TestMachine::boot(TempDir const& dir, Options options)
{
    auto machine = std::unique_ptr<TestMachine>(new TestMachine);
    auto kernel = Kernel::create({});
    if (!kernel) {
        ADD_FAILURE() << kernel.error().message();
        return nullptr;
    }
    machine->m_kernel = std::move(*kernel);
    auto image = DiskImage::open(dir.file("disk0.img"), 16 << 20);
    auto controller = image ? DiskController::create(std::move(*image), {}) : std::unexpected(image.error());
    if (!controller) {
        ADD_FAILURE() << controller.error().message();
        return nullptr;
    }
    machine->m_controller = controller->get();
    (void)machine->m_kernel->bus().plug(std::move(*controller));
    auto aux = std::make_unique<TestDevice>("aux0");
    machine->m_aux = aux.get();
    (void)machine->m_kernel->bus().plug(std::move(aux));

    auto driver = options.driver.empty() ? nktest_driver_path() : options.driver;
    Result<Module*> loaded = make_error(ErrorCode::Internal, "not loaded");
    if (options.backend == Backend::Native) {
        loaded = machine->m_kernel->load_module(driver);
    } else {
        IsolationOptions isolation;
        isolation.livelock_ns = options.livelock_ms * 1'000'000ull;
        isolation.geometry.channels = options.channels;
        isolation.poll_ns = options.poll_ns;
        auto module = IsolatedModule::load(*machine->m_kernel, driver, isolation);
        loaded = module ? machine->m_kernel->adopt_module(std::move(*module)) : std::unexpected(module.error());
    }
    if (!loaded) {
        ADD_FAILURE() << "load " << driver << ": " << loaded.error().message();
        return nullptr;
    }
    machine->m_module = *loaded;
    return machine;
}

TestMachine::~TestMachine() = default;

Result<int> TestMachine::ioctl(uint32_t cmd, uint64_t arg)
{
    auto target = disk();
    if (!target)
        return make_error(ErrorCode::NotFound, "no disk0");
    return target->ioctl(cmd, arg);
}

} // namespace nk::test
