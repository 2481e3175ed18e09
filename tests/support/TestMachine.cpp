// SPDX-License-Identifier: MIT
#include "support/TestMachine.h"

#include "classes/block/BlockLayer.h"
#include "system/test/TestPackage.h"

namespace nk::test {

char const* backend_name(Backend backend) { return backend == Backend::Native ? "native" : "process"; }

std::string nktest_driver_path() { return default_driver_directory() + "/nktest.so"; }

std::unique_ptr<TestMachine> TestMachine::boot(TempDir const& dir, Options options)
{
    auto driver = options.driver.empty() ? nktest_driver_path() : options.driver;
    auto config = Config::parse(fmt::format("nic = []\nmode = \"{}\"\ncontrol = \"\"\n[[disk]]\nname = \"disk0\"\nimage = \"{}\"\nsize = \"16MiB\"\n"
                                            "driver = \"{}\"\n[[aux]]\nname = \"aux0\"\n{}",
                                    options.backend == Backend::Native ? "native" : "nooks", dir.file("disk0.img"), driver,
                                    options.tick ? "[[tick]]\nname = \"tick0\"\n" : ""),
        "test machine", test_catalog().device_kinds());
    if (!config) {
        ADD_FAILURE() << config.error().message();
        return nullptr;
    }
    config->isolation.livelock_ms = options.livelock_ms;
    config->isolation.channels = options.channels;
    config->isolation.poll_us = options.poll_ns / 1000;
    config->isolation.pin_workers = options.pin_workers;
    auto machine = std::unique_ptr<TestMachine>(new TestMachine);
    auto booted = System::boot(*config, { .mount_frontends = false, .recover = false }, test_catalog());
    if (!booted) {
        ADD_FAILURE() << "boot with " << driver << ": " << booted.error().message();
        return nullptr;
    }
    machine->m_system = std::move(*booted);
    machine->m_module = machine->m_system->driver_of("disk0");
    if (machine->m_module == nullptr) {
        ADD_FAILURE() << driver << " serves no disk0";
        return nullptr;
    }
    return machine;
}

TestMachine::~TestMachine() = default;

std::shared_ptr<Disk> TestMachine::disk()
{
    auto* block = kernel().driver_class<BlockLayer>();
    return block != nullptr ? block->find("disk0") : nullptr;
}

Result<int> TestMachine::ioctl(uint32_t cmd, uint64_t arg)
{
    auto target = disk();
    if (!target)
        return make_error(ErrorCode::NotFound, "no disk0");
    return target->ioctl(cmd, arg);
}

} // namespace nk::test
