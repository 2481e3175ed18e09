// SPDX-License-Identifier: MIT
// nooks-domain: the process a protection domain runs in. Started by the kernel
// (never by hand) with the kernel area at the address in argv[1] on fd 3, the
// domain area on fd 4 and the driver file on fd 5. It maps the shared memory,
// confines itself, loads the driver and serves calls until the kernel ends it.

#include "nooks/runtime/Entries.h"
#include "nooks/runtime/Runtime.h"
#include "nooks/runtime/Sandbox.h"

#include "kernel/module/ModuleDescriptor.h"

#include <cstdio>
#include <cstdlib>
#include <dlfcn.h>
#include <sys/syscall.h>
#include <unistd.h>

using namespace nk;
using nk::runtime::Runtime;

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "nooks-domain: started by the nooks kernel only\n");
        return 64;
    }
    auto address = std::strtoull(argv[1], nullptr, 16);
    auto& runtime = Runtime::the();
    if (!runtime.map(address, 3, 4)) {
        std::fprintf(stderr, "nooks-domain: cannot map the shared memory at %s\n", argv[1]);
        return 71;
    }
    ::close(3);
    ::close(4);
    auto const& bootstrap = runtime.bootstrap();
    int driver_fd = 5;

    runtime::install_fault_handlers();
    if (!runtime.start_workers())
        runtime.die(abi::FaultKind::RuntimeError, "cannot start the domain workers");
    if (!runtime::drop_privileges(bootstrap.drop_uid, bootstrap.drop_gid))
        runtime.die(abi::FaultKind::RuntimeError, "cannot drop privileges");
    runtime::close_other_descriptors(driver_fd);

    bool confined = (bootstrap.flags & abi::bootstrap_flag_no_seccomp) == 0;
    if (confined && !runtime::install_loading_filter())
        runtime.die(abi::FaultKind::RuntimeError, "cannot install the seccomp filter");

    // From here on, driver code may run (its constructors): everything above is in place.
    char path[64];
    std::snprintf(path, sizeof(path), "/proc/self/fd/%d", driver_fd);
    if (confined)
        runtime::allow_driver_open(path, driver_fd);
    void* handle = ::dlopen(path, RTLD_NOW | RTLD_LOCAL);
    runtime::end_loading();
    if (handle == nullptr) {
        char message[256];
        std::snprintf(message, sizeof(message), "cannot load the driver: %s", ::dlerror());
        runtime.die(abi::FaultKind::RuntimeError, message);
    }
    if (confined && !runtime::install_running_filter())
        runtime.die(abi::FaultKind::RuntimeError, "cannot install the running seccomp filter");
    if (!runtime.bind_driver(handle))
        runtime.die(abi::FaultKind::RuntimeError, "the driver exports no nk_module");
    if (auto name = validate_module_descriptor(runtime.module(), bootstrap.driver_path); !name)
        runtime.die(abi::FaultKind::RuntimeError, name.error().message().c_str());

    if (bootstrap.injection.armed != 0 && runtime::arm_injection(bootstrap.injection) != 0)
        runtime.die(abi::FaultKind::RuntimeError, "the injection in the bootstrap page is malformed");
    runtime.ready();
    // The workers serve; this thread has nothing left to do.
    std::atomic<uint32_t> forever { 0 };
    for (;;)
        ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(&forever), 0 /* FUTEX_WAIT */, 0, nullptr, nullptr, 0);
}
