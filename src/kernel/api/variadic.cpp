// SPDX-License-Identifier: MIT
// The kernel API's convenience forms, the same wherever the driver runs: they
// only forward to the functions that differ (nk_vlog, nk_panic), so they are
// linked into the kernel process (native) and into the domain runtime alike.

#include <nooks/kernel.h>

extern "C" {

void nk_log(nk_log_level level, char const* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    nk_vlog(level, fmt, args);
    va_end(args);
}

void nk_bug(char const* file, int line, char const* condition) { nk_panic("BUG at %s:%d: %s", file, line, condition); }

} // extern "C"
