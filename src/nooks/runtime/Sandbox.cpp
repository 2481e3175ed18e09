// SPDX-License-Identifier: MIT
#include "nooks/runtime/Sandbox.h"

#include "nooks/runtime/Runtime.h"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <linux/prctl.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

namespace nk::runtime {

namespace {

std::atomic<bool> loading { false };
char const* loading_path = nullptr;
int loading_fd = -1;
pid_t domain_pid = 0;

// Return addresses at the fault, so a fault inside libc (a forbidden syscall()
// wrapper) can still be attributed to the driver function that called it. Only
// words inside this worker's own stack are read: the stack may be corrupt.
void record_frames(abi::FaultRecord& fault, ucontext_t const* context)
{
    auto channel = Runtime::current_channel();
    if (channel < 0)
        return;
    auto const& bootstrap = Runtime::the().bootstrap();
    auto low = bootstrap.slot_base + abi::domain_area_offset + bootstrap.stacks_offset + uint64_t(channel) * bootstrap.stack_size;
    auto high = low + bootstrap.stack_size;
    auto readable = [&](uint64_t address, uint64_t size) { return address % 8 == 0 && address >= low && address + size <= high; };
    auto sp = static_cast<uint64_t>(context->uc_mcontext.gregs[REG_RSP]);
    auto frame = static_cast<uint64_t>(context->uc_mcontext.gregs[REG_RBP]);
    unsigned count = 0;
    if (readable(sp, 8))
        fault.frames[count++] = *reinterpret_cast<uint64_t const*>(sp);
    while (count < std::size(fault.frames) && readable(frame, 16)) {
        fault.frames[count++] = reinterpret_cast<uint64_t const*>(frame)[1];
        auto next = reinterpret_cast<uint64_t const*>(frame)[0];
        if (next <= frame)
            break;
        frame = next;
    }
}

void on_fault(int signal, siginfo_t* info, void* raw_context)
{
    auto* context = static_cast<ucontext_t*>(raw_context);
    // The loader's open of the driver file, under the loading filter: hand it the kernel's fd.
    if (signal == SIGSYS && info->si_code == 1 /* SYS_SECCOMP */ && loading.load() && info->si_syscall == SYS_openat) {
        auto const* path = reinterpret_cast<char const*>(context->uc_mcontext.gregs[REG_RSI]);
        if (path != nullptr && loading_path != nullptr && std::strcmp(path, loading_path) == 0) {
            context->uc_mcontext.gregs[REG_RAX] = loading_fd;
            loading_fd = -1; // handed out once; the loader closes it
            return;
        }
    }
    auto& header = Runtime::the().header();
    auto& fault = header.fault;
    if (fault.kind.load() == 0) {
        bool seccomp = signal == SIGSYS && info->si_code == 1;
        fault.signal = signal;
        fault.code = info->si_code;
        fault.syscall = seccomp ? info->si_syscall : -1;
        fault.address = reinterpret_cast<uint64_t>(info->si_addr);
        fault.ip = static_cast<uint64_t>(context->uc_mcontext.gregs[REG_RIP]);
        fault.sp = static_cast<uint64_t>(context->uc_mcontext.gregs[REG_RSP]);
        fault.channel = static_cast<uint32_t>(Runtime::current_channel());
        record_frames(fault, context);
        fault.kind.store(static_cast<uint32_t>(seccomp ? abi::FaultKind::ForbiddenSyscall : abi::FaultKind::Signal),
            std::memory_order_release);
    }
    header.state.store(static_cast<uint32_t>(abi::DomainState::Faulted), std::memory_order_release);
    ::syscall(SYS_exit_group, 128 + signal);
}

// Rules both filters share: what the runtime itself needs to serve calls.
bool add_runtime_rules(scmp_filter_ctx filter)
{
    auto allow = [&](int number) { return seccomp_rule_add(filter, SCMP_ACT_ALLOW, number, 0) == 0; };
    bool ok = true;
    for (int number : { SCMP_SYS(futex), SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
             SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep), SCMP_SYS(sched_yield), SCMP_SYS(getpid),
             SCMP_SYS(gettid), SCMP_SYS(getcpu), SCMP_SYS(restart_syscall), SCMP_SYS(munmap), SCMP_SYS(madvise), SCMP_SYS(brk) })
        ok = ok && allow(number);
    // Diagnostics to stderr only.
    ok = ok && seccomp_rule_add(filter, SCMP_ACT_ALLOW, SCMP_SYS(write), 1, SCMP_A0(SCMP_CMP_EQ, 2)) == 0;
    // Signals to itself only (abort, the fault handler).
    ok = ok && seccomp_rule_add(filter, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1, SCMP_A0(SCMP_CMP_EQ, static_cast<uint64_t>(domain_pid))) == 0;
    return ok;
}

bool load_filter(bool for_loading)
{
    // Anything not allowed traps into on_fault, which reports it by name.
    scmp_filter_ctx filter = seccomp_init(SCMP_ACT_TRAP);
    if (filter == nullptr)
        return false;
    bool ok = seccomp_attr_set(filter, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_TRAP) == 0
        && seccomp_attr_set(filter, SCMP_FLTATR_CTL_TSYNC, 1) == 0 // every thread, now
        && seccomp_attr_set(filter, SCMP_FLTATR_CTL_NNP, 0) == 0   // no_new_privs is already set; no prctl
        && add_runtime_rules(filter);
    if (for_loading) {
        // What the dynamic loader does to map the driver (its open is trapped and emulated).
        for (int number : { SCMP_SYS(read), SCMP_SYS(pread64), SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(close),
                 SCMP_SYS(mmap), SCMP_SYS(mprotect), SCMP_SYS(lseek), SCMP_SYS(seccomp) })
            ok = ok && seccomp_rule_add(filter, SCMP_ACT_ALLOW, number, 0) == 0;
    } else {
        // Memory for the runtime's own bookkeeping, never executable.
        ok = ok && seccomp_rule_add(filter, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)) == 0;
        ok = ok && seccomp_rule_add(filter, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)) == 0;
    }
    ok = ok && seccomp_load(filter) == 0;
    seccomp_release(filter);
    return ok;
}

} // namespace

void install_fault_handlers()
{
    domain_pid = ::getpid();
    struct sigaction action { };
    action.sa_sigaction = on_fault;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    for (int signal : { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS })
        sigaction(signal, &action, nullptr);
}

bool drop_privileges(uint32_t uid, uint32_t gid)
{
    auto parent = ::getppid();
    if (::getuid() == 0 || ::geteuid() == 0) {
        if (::setgroups(0, nullptr) != 0 || ::setresgid(gid, gid, gid) != 0 || ::setresuid(uid, uid, uid) != 0)
            return false;
        if (::geteuid() == 0 && uid != 0)
            return false;
    }
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return false;
    // Credentials changed above, which clears the death signal: set it now.
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
        return false;
    return ::getppid() == parent; // the kernel did not die meanwhile
}

void close_other_descriptors(int keep)
{
    if (keep > 3)
        ::syscall(SYS_close_range, 3u, static_cast<unsigned>(keep - 1), 0u);
    ::syscall(SYS_close_range, static_cast<unsigned>(std::max(keep + 1, 3)), ~0u, 0u);
}

void allow_driver_open(char const* path, int fd)
{
    loading_path = path;
    loading_fd = fd;
    loading.store(true);
}

void end_loading()
{
    loading.store(false);
    loading_path = nullptr;
}

bool install_loading_filter() { return load_filter(true); }
bool install_running_filter() { return load_filter(false); }

} // namespace nk::runtime
