// SPDX-License-Identifier: MIT
#include "nooks/runtime/Sandbox.h"

#include <cstdlib>
#include <cstring>
#include <seccomp.h>

namespace nk::runtime {

char const* syscall_name(int number)
{
    static thread_local char name[64];
    char* resolved = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, number);
    if (resolved == nullptr)
        return "unknown";
    std::strncpy(name, resolved, sizeof(name) - 1);
    std::free(resolved);
    return name;
}

} // namespace nk::runtime
