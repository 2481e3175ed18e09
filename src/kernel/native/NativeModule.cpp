// SPDX-License-Identifier: MIT
#include "kernel/native/NativeModule.h"

#include "kernel/Kernel.h"
#include "kernel/exec/Context.h"

#include "base/ScopeGuard.h"

#include <cstring>
#include <dlfcn.h>
#include <fcntl.h>
#include <filesystem>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

namespace nk {

namespace {

// A private copy of the file in memory: dlopen loads a path only once per
// process, so two instances of one driver loaded from its own path would
// share its data; each copy is a file of its own, under a name of its own
// ("/proc/self/fd/N"). The copy stays open while it is loaded: dlopen matches
// loaded objects by name first, and a closed N is soon another copy's N.
Result<int> private_copy(std::string const& path)
{
    int source = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (source < 0)
        return errno_error(fmt::format("driver file {}", path));
    ScopeGuard close_source([&] { ::close(source); });
    struct stat st { };
    if (::fstat(source, &st) != 0)
        return errno_error(fmt::format("driver file {}", path));
    if (!S_ISREG(st.st_mode))
        return make_error(ErrorCode::InvalidArgument, "driver file {} is not a regular file", path);
    auto name = std::filesystem::path(path).filename().string();
    int copy = ::memfd_create(name.c_str(), MFD_CLOEXEC);
    if (copy < 0)
        return errno_error("memfd_create");
    for (off_t offset = 0; offset < st.st_size;) {
        auto sent = ::sendfile(copy, source, &offset, static_cast<size_t>(st.st_size - offset));
        if (sent <= 0) {
            auto error = errno_error(fmt::format("copying driver file {}", path));
            ::close(copy);
            return std::unexpected(error);
        }
    }
    return copy;
}

} // namespace

Result<std::unique_ptr<NativeModule>> NativeModule::load(Kernel& kernel, std::string const& path, std::string const& binding)
{
    auto copy = TRY(private_copy(path));
    // RTLD_NOW: an import the kernel does not provide is an error now, not a crash later.
    auto copy_path = fmt::format("/proc/self/fd/{}", copy);
    void* handle = ::dlopen(copy_path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        ::close(copy);
        return make_error(ErrorCode::InvalidArgument, "cannot load driver {}: {}", path, ::dlerror());
    }
    auto const* descriptor = static_cast<nk_module const*>(::dlsym(handle, "nk_module"));
    auto name = validate_module_descriptor(descriptor, path);
    if (!name) {
        ::dlclose(handle);
        ::close(copy);
        return std::unexpected(std::move(name.error()));
    }
    return std::unique_ptr<NativeModule>(new NativeModule(kernel, std::move(*name), path, binding, handle, copy, descriptor));
}

NativeModule::~NativeModule()
{
    if (m_handle != nullptr)
        ::dlclose(m_handle);
    if (m_copy_fd >= 0)
        ::close(m_copy_fd);
}

// A word in the kernel's read-only data: a wild write to kernel memory lands here.
static uint64_t const kernel_readonly_word = 0;

bool native_inject(Module& module, abi::DriverEntry entry, void* own_data, std::optional<uint64_t> target)
{
    auto* native = dynamic_cast<NativeModule*>(&module);
    if (native == nullptr || !native->injector().armed())
        return false;
    auto fault = native->injector().check(entry, target);
    if (!fault)
        return false;
    inject::perform(*fault, { own_data, const_cast<uint64_t*>(&kernel_readonly_word) });
    return inject::skips_call(*fault);
}

Result<void> NativeModule::start()
{
    int result = 0;
    {
        CrossingScope crossing(*this, CrossingScope::Kind::Process);
        result = native_inject(*this, abi::DriverEntry::module_init, nullptr) ? 0 : m_descriptor->init();
    }
    if (result != 0) {
        set_state(ModuleState::Stopped);
        return std::unexpected(Error::from_errno(-result, fmt::format("driver {} init", name())));
    }
    set_state(ModuleState::Live);
    return {};
}

void NativeModule::stop()
{
    if (state() == ModuleState::Live && m_descriptor->exit != nullptr) {
        CrossingScope crossing(*this, CrossingScope::Kind::Process);
        m_descriptor->exit();
    }
    set_state(ModuleState::Stopped);
}

} // namespace nk
