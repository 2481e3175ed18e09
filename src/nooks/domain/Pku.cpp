// SPDX-License-Identifier: MIT
#include "nooks/domain/Pku.h"

#include <cerrno>
#include <cpuid.h>
#include <sys/mman.h>

namespace nk {

PkuSupport probe_pku()
{
    PkuSupport support;
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) {
        support.cpu = (ecx & (1u << 3)) != 0;
        support.os = (ecx & (1u << 4)) != 0;
    }
    int key = ::pkey_alloc(0, 0);
    if (key >= 0) {
        support.allocatable = true;
        ::pkey_free(key);
    }
    return support;
}

std::string PkuSupport::describe() const
{
    if (allocatable)
        return "PKU available (an in-process backend could use it; not built yet)";
    if (cpu && !os)
        return "PKU: the CPU has it but the OS has not enabled it";
    if (!cpu)
        return "PKU: not available (the CPU, as this machine presents it, lacks PKU)";
    return "PKU: pkey_alloc failed";
}

} // namespace nk
