// SPDX-License-Identifier: MIT
// Boots the benchmark's machine: kernel, disk controller on a scratch image,
// the nktest auxiliary device, and the nktest driver on the chosen backend.

#include "XpcMachine.h"

#include "classes/block/BlockLayer.h"
#include "kernel/exec/Context.h"
#include "system/test/TestPackage.h"

#include <cstdlib>
#include <filesystem>

namespace nk::bench {

namespace {

constexpr uint64_t scratch_image_size = 16ull << 20;

// What a native port's call costs without the driver: the indirect call of an
// entry that returns at once.
[[gnu::noinline]] int64_t empty_entry() { return 0; }
int64_t (*volatile native_null_entry)() = empty_entry;

Result<std::string> make_scratch_dir()
{
    std::string pattern = "/tmp/nooks-bench-xpc-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr)
        return errno_error("mkdtemp /tmp/nooks-bench-xpc-XXXXXX");
    return pattern;
}

} // namespace

char const* backend_name(Backend backend) { return backend == Backend::Native ? "native" : "process"; }

std::string nktest_driver_path()
{
    std::error_code error;
    auto exe = std::filesystem::read_symlink("/proc/self/exe", error);
    auto prefix = error ? std::filesystem::path("/usr/local") : exe.parent_path().parent_path();
    return (prefix / "lib" / "nooks" / "drivers" / "nktest.so").string();
}

XpcMachine::XpcMachine(Backend backend, std::string scratch_dir)
    : m_backend(backend)
    , m_scratch_dir(std::move(scratch_dir))
{
}

XpcMachine::~XpcMachine()
{
    // The disk first, then the machine (which stops the driver and ends its domain), then the image.
    m_disk.reset();
    m_module.reset();
    m_system.reset();
    std::error_code error;
    std::filesystem::remove_all(m_scratch_dir, error);
}

Result<std::unique_ptr<XpcMachine>> XpcMachine::boot(Backend backend)
{
    auto driver = nktest_driver_path();
    if (!std::filesystem::exists(driver))
        return make_error(ErrorCode::NotFound, "no test driver at {} (build the nktest target)", driver);
    auto scratch_dir = TRY(make_scratch_dir());
    auto machine = std::unique_ptr<XpcMachine>(new XpcMachine(backend, std::move(scratch_dir)));

    auto config = TRY(Config::parse(fmt::format("mode = \"{}\"\ncontrol = \"\"\n[[disk]]\nname = \"disk0\"\nimage = \"{}/disk0.img\"\n"
                                                "size = {}\ndriver = \"{}\"\n[[aux]]\nname = \"aux0\"\n",
                                        backend == Backend::Native ? "native" : "nooks", machine->m_scratch_dir, scratch_image_size, driver),
        "xpc benchmark", test_catalog().device_kinds()));
    auto booted = System::boot(config, { .mount_frontends = false, .recover = false }, test_catalog());
    if (!booted)
        return std::unexpected(std::move(booted.error()).with_context(fmt::format("load {} ({})", driver, backend_name(backend))));
    machine->m_system = std::move(*booted);
    machine->m_aux = machine->m_system->hardware<AuxDevice>("aux0");
    machine->m_module = machine->m_system->driver_of("disk0");
    machine->m_isolated = dynamic_cast<IsolatedModule*>(machine->m_module.get());
    auto* block = machine->m_system->kernel().driver_class<BlockLayer>();
    machine->m_disk = block != nullptr ? block->find("disk0") : nullptr;
    if (!machine->m_disk || machine->m_module == nullptr || machine->m_aux == nullptr)
        return make_error(ErrorCode::NotFound, "{} registered no disk0", driver);
    return machine;
}

Result<void> XpcMachine::null_call()
{
    if (auto* module = m_isolated) {
        TRY(module->call<abi::DriverEntry::null>(CrossingScope::Kind::Process, {}));
        return {};
    }
    CrossingScope crossing(*m_module, CrossingScope::Kind::Process);
    if (native_null_entry() != 0)
        return make_error(ErrorCode::Internal, "the empty entry returned non-zero");
    return {};
}

} // namespace nk::bench
