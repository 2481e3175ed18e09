// SPDX-License-Identifier: MIT
// Boots the benchmark's machine: kernel, disk controller on a scratch image,
// the nktest auxiliary device, and the nktest driver on the chosen backend.

#include "XpcMachine.h"

#include "devices/disk/DiskController.h"
#include "devices/disk/DiskImage.h"
#include "kernel/exec/Context.h"

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
    // The disk first, then the kernel (which stops the driver and ends its domain), then the image.
    m_disk.reset();
    m_kernel.reset();
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

    machine->m_kernel = TRY(Kernel::create({}));
    auto image = TRY(DiskImage::open(machine->m_scratch_dir + "/disk0.img", scratch_image_size));
    auto controller = TRY(DiskController::create(std::move(image), {}));
    (void)TRY(machine->m_kernel->bus().plug(std::move(controller)));
    auto aux = std::make_unique<AuxDevice>("aux0");
    machine->m_aux = aux.get();
    (void)TRY(machine->m_kernel->bus().plug(std::move(aux)));

    TRY(machine->load_driver(driver));
    machine->m_disk = machine->m_kernel->block().find("disk0");
    if (!machine->m_disk)
        return make_error(ErrorCode::NotFound, "{} registered no disk0", driver);
    return machine;
}

Result<void> XpcMachine::load_driver(std::string const& path)
{
    Result<Module*> loaded = make_error(ErrorCode::Internal, "not loaded");
    if (m_backend == Backend::Native) {
        loaded = m_kernel->load_module(path);
    } else {
        auto module = IsolatedModule::load(*m_kernel, path, IsolationOptions {});
        loaded = module ? m_kernel->adopt_module(std::move(*module)) : std::unexpected(module.error());
    }
    if (!loaded)
        return std::unexpected(Error(loaded.error()).with_context(fmt::format("load {} ({})", path, backend_name(m_backend))));
    m_module = *loaded;
    m_isolated = dynamic_cast<IsolatedModule*>(m_module);
    return {};
}

Result<void> XpcMachine::null_call()
{
    if (auto* module = m_isolated) {
        TRY(module->call(CrossingScope::Kind::Process, abi::DriverEntry::null, {}));
        return {};
    }
    CrossingScope crossing(*m_module, CrossingScope::Kind::Process);
    if (native_null_entry() != 0)
        return make_error(ErrorCode::Internal, "the empty entry returned non-zero");
    return {};
}

} // namespace nk::bench
