// SPDX-License-Identifier: MIT
#include "kernel/native/NativeModule.h"

#include "kernel/Kernel.h"
#include "kernel/exec/Context.h"

#include <cstring>
#include <dlfcn.h>
#include <sys/stat.h>

namespace nk {

Result<std::unique_ptr<NativeModule>> NativeModule::load(Kernel& kernel, std::string const& path)
{
    struct stat st { };
    if (::stat(path.c_str(), &st) != 0)
        return errno_error(fmt::format("driver file {}", path));
    if (!S_ISREG(st.st_mode))
        return make_error(ErrorCode::InvalidArgument, "driver file {} is not a regular file", path);
    // RTLD_NOW: an import the kernel does not provide is an error now, not a crash later.
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr)
        return make_error(ErrorCode::InvalidArgument, "cannot load driver {}: {}", path, ::dlerror());
    auto const* descriptor = static_cast<nk_module const*>(::dlsym(handle, "nk_module"));
    auto name = validate_module_descriptor(descriptor, path);
    if (!name) {
        ::dlclose(handle);
        return std::unexpected(std::move(name.error()));
    }
    return std::unique_ptr<NativeModule>(new NativeModule(kernel, std::move(*name), path, handle, descriptor));
}

NativeModule::~NativeModule()
{
    if (m_handle != nullptr)
        ::dlclose(m_handle);
}

// A word in the kernel's read-only data: a wild write to kernel memory lands here.
static uint64_t const kernel_readonly_word = 0;

bool native_inject(Module& module, abi::DriverEntry entry, void* own_data, std::optional<uint64_t> sector)
{
    auto* native = dynamic_cast<NativeModule*>(&module);
    if (native == nullptr || !native->injector().armed())
        return false;
    auto fault = native->injector().check(entry, sector);
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
