// SPDX-License-Identifier: MIT
// The faults themselves: run on the driver's thread, through the kernel API as
// a driver would call it (the native API in the kernel process, the domain's
// stubs in a protection domain).

#include "inject/Injector.h"

#include <nooks/kernel.h>

#include <cstring>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace nk::inject {

namespace {

void timer_noop(void*) { }

} // namespace

bool skips_call(Fault fault) { return fault == Fault::SkipInit; }

[[gnu::noinline]] static void corrupt_stack()
{
    // Overwrite the frames above this one (saved frame pointers and return
    // addresses of the callers): the crash comes when they return.
    auto* frame = static_cast<uint64_t*>(__builtin_frame_address(0));
    for (int i = 0; i < 32; ++i)
        frame[i] = 0xbad0'bad0'bad0'bad0ull;
}

void perform(Fault fault, Target const& target)
{
    switch (fault) {
    case Fault::NullDeref:
        (void)*static_cast<int volatile*>(nullptr);
        break;
    case Fault::WildWriteKernel:
        *static_cast<uint64_t volatile*>(target.kernel_readonly) = 0xdeadbeefdeadbeefull;
        break;
    case Fault::WildWriteOwn:
        // Garbage over the driver's own structure: pointers in it now point nowhere.
        if (target.own_data != nullptr)
            std::memset(target.own_data, 0xa5, 256);
        break;
    case Fault::StackCorrupt:
        corrupt_stack();
        break;
    case Fault::Hang:
        for (;;)
            __asm__ volatile("pause" ::: "memory");
    case Fault::ForbiddenSyscall:
        ::syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
        break;
    case Fault::BadPointer:
        (void)nk_timer_mod(reinterpret_cast<nk_timer*>(uintptr_t(0x1234)), 1);
        break;
    case Fault::FreedObject: {
        auto* timer = nk_timer_create(timer_noop, nullptr);
        nk_timer_destroy(timer);
        (void)nk_timer_mod(timer, 1);
        break;
    }
    case Fault::WrongHandle: {
        auto* work = nk_work_create(timer_noop, nullptr);
        (void)nk_timer_mod(reinterpret_cast<nk_timer*>(work), 1);
        break;
    }
    case Fault::DoubleFree: {
        auto* block = nk_kmalloc(48, NK_GFP_ATOMIC);
        nk_kfree(block);
        nk_kfree(block);
        break;
    }
    case Fault::Leak:
        // Enough objects to exceed any sane per-driver quota; never freed.
        for (int i = 0; i < 5000; ++i) {
            if (nk_timer_create(timer_noop, nullptr) == nullptr)
                break;
        }
        break;
    case Fault::Panic:
        nk_panic("injected panic");
    case Fault::SkipInit:
    case Fault::Count:
        break;
    }
}

} // namespace nk::inject
