// SPDX-License-Identifier: MIT
#include "kernel/module/ModuleDescriptor.h"

#include <cstring>

namespace nk {

Result<std::string> validate_module_descriptor(nk_module const* descriptor, std::string const& path)
{
    if (descriptor == nullptr)
        return make_error(ErrorCode::InvalidArgument, "{} is not a nooks driver: it exports no nk_module", path);
    if (descriptor->api_version != NK_API_VERSION)
        return make_error(ErrorCode::InvalidArgument, "{} was built for kernel API version {}, this kernel has {}", path,
            descriptor->api_version, NK_API_VERSION);
    if (descriptor->name == nullptr || descriptor->init == nullptr)
        return make_error(ErrorCode::InvalidArgument, "{}: nk_module lacks a name or an init function", path);
    auto length = strnlen(descriptor->name, 32);
    if (length == 0 || length >= 32)
        return make_error(ErrorCode::InvalidArgument, "{}: nk_module.name must be 1..31 characters", path);
    return std::string(descriptor->name, length);
}

} // namespace nk
