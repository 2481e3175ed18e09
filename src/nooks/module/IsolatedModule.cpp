// SPDX-License-Identifier: MIT
#include "nooks/module/IsolatedModule.h"

#include "base/Clock.h"
#include "base/Log.h"
#include "kernel/Kernel.h"
#include "nooks/domain/ProcessDomain.h"
#include "nooks/runtime/Sandbox.h"
#include "nooks/wrappers/KernelWrappers.h"

#include <csignal>
#include <cstring>
#include <filesystem>

namespace nk {

static auto logger() { return log::get("nooks"); }

IsolatedModule::IsolatedModule(Kernel& kernel, std::string name, std::string path, std::string binding, IsolationOptions options)
    : Module(kernel, std::move(name), std::move(path), std::move(binding))
    , m_options(std::move(options))
{
}

Result<std::unique_ptr<IsolatedModule>> IsolatedModule::load(Kernel& kernel, std::string const& path, IsolationOptions options,
    std::string const& binding)
{
    if (options.launcher.empty())
        options.launcher = default_domain_launcher();
    auto stem = std::filesystem::path(path).stem().string();
    auto module = std::unique_ptr<IsolatedModule>(new IsolatedModule(kernel, stem, path, binding, options));
    module->m_domain = TRY(ProcessDomain::create({ .name = stem,
        .launcher = options.launcher,
        .geometry = options.geometry,
        .uid = options.uid,
        .gid = options.gid,
        .seccomp = options.seccomp,
        .worker_poll_ns = options.poll_ns,
        .pin_workers = options.pin_workers,
        .injection = options.injection }));
    module->m_wrappers = std::make_unique<KernelWrappers>(*module);
    auto* raw = module.get();
    module->m_xpc = std::make_unique<XpcEndpoint>(module->m_domain->memory(), *module->m_wrappers,
        XpcEndpoint::Options { .livelock_ns = options.livelock_ns, .yield_poll_ns = options.poll_ns },
        [raw](Error const& error) { raw->fail(raw->record_from_error(error)); });
    module->m_domain->set_end_callback([raw](DomainEnd const& end) {
        if (!raw->m_stopping.load())
            raw->fail(raw->record_from_end(end));
        raw->m_xpc->fail(Error(ErrorCode::DriverFailed, "domain ended"));
    });
    if (auto symbols = ElfSymbols::load(path))
        module->m_symbols = std::move(*symbols);

    if (auto started = module->m_domain->start(path); !started) {
        // The domain's own record says more than "it exited" (a forbidden call, a crash in a constructor).
        for (int i = 0; i < 100 && !module->failure(); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
        if (auto failure = module->failure())
            return make_error(ErrorCode::FailedPrecondition, "{}: the domain for {} did not start: {}: {}", path,
                stem, failure_cause_name(failure->cause), failure->message);
        return make_error(started.error().code(), "{}: {}", path, started.error().message());
    }
    // The name the driver gave itself, checked like everything else from the domain.
    char name[sizeof(abi::DomainHeader::module_name) + 1] {};
    std::memcpy(name, module->memory().header().module_name, sizeof(abi::DomainHeader::module_name));
    auto length = strnlen(name, sizeof(name) - 1);
    if (length == 0 || std::any_of(name, name + length, [](char c) { return !std::isgraph(static_cast<unsigned char>(c)); }))
        return make_error(ErrorCode::InvalidArgument, "{}: the driver's module name is not printable", path);
    module->set_module_name(std::string(name, length), binding);
    logger()->info("{}: protection domain started ({} backend, pid {}, {} channels, heap {} MiB)", module->name(),
        module->m_domain->backend(), module->m_domain->pid(), options.geometry.channels, options.geometry.heap_size >> 20);
    return module;
}

IsolatedModule::~IsolatedModule()
{
    m_stopping.store(true);
    m_retired.store(true);
    if (m_domain) {
        m_domain->terminate();
        m_domain->wait_end(); // its end callback uses the endpoint below
    }
    join_cleanup();
    // The domain (and its shared memory) goes before the endpoint that points into it.
    m_xpc.reset();
    m_domain.reset();
}

IsolatedModule::ActiveCall::~ActiveCall()
{
    if (m_module != nullptr && m_module->m_active.fetch_sub(1, std::memory_order_acq_rel) == 1)
        m_module->m_active.notify_all();
}

Result<IsolatedModule::ActiveCall> IsolatedModule::enter()
{
    m_active.fetch_add(1, std::memory_order_seq_cst);
    ActiveCall call(this);
    if (m_retired.load(std::memory_order_seq_cst))
        return make_error(ErrorCode::DriverFailed, "driver {} is gone", name());
    return call;
}

Result<void> IsolatedModule::inject(abi::InjectionSpec const& spec)
{
    auto reply = TRY(call<abi::DriverEntry::inject>(CrossingScope::Kind::Process, spec));
    auto result = TRY(reply.verify_errno());
    if (result != 0)
        return make_error(ErrorCode::InvalidArgument, "the domain refused the injection ({})", result);
    return {};
}

void IsolatedModule::reject_tainted(std::string message)
{
    fail({ .cause = FailureCause::Rejection, .module = name(), .message = std::move(message) });
}

XpcEndpoint::Stats IsolatedModule::xpc_stats() const
{
    // Entered, the endpoint cannot go meanwhile; after retire, its last counters.
    if (auto active = const_cast<IsolatedModule*>(this)->enter())
        return m_xpc->stats();
    MutexLocker lock(m_failure_mutex);
    return m_final_stats.value_or(XpcEndpoint::Stats {});
}

void IsolatedModule::mask_interrupts()
{
    for (auto const& object : m_tracker.list()) {
        if (object.type == ObjectType::Irq)
            (void)kernel().irqs().disable(static_cast<uint32_t>(object.key), false);
    }
}

bool IsolatedModule::unwind(std::chrono::milliseconds timeout)
{
    // Calls in progress fail now; waiting threads return DriverFailed promptly.
    m_xpc->fail(Error(ErrorCode::DriverFailed, "driver failed"));
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (auto active = m_active.load(); active != 0; active = m_active.load()) {
        if (std::chrono::steady_clock::now() >= deadline)
            return false;
        // Bounded waits: a thread may be between its last check and leaving.
        std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    return true;
}

std::vector<BusDevice*> IsolatedModule::bound_devices() const
{
    std::vector<BusDevice*> devices;
    for (auto const& object : m_tracker.list()) {
        if (object.type == ObjectType::Device)
            devices.push_back(static_cast<BusDevice*>(object.object));
    }
    return devices;
}

void IsolatedModule::release_resources()
{
    m_tracker.release_all();
    kernel().release_module_objects(*this);
    {
        MutexLocker lock(m_failure_mutex);
        m_released = true;
    }
    m_released_changed.notify_all();
}

void IsolatedModule::end_domain()
{
    m_stopping.store(true);
    m_domain->terminate();
    m_domain->wait_end();
}

void IsolatedModule::retire()
{
    m_retired.store(true, std::memory_order_seq_cst);
    // No thread may be inside when the memory goes: wait for the last to leave.
    for (auto active = m_active.load(); active != 0; active = m_active.load())
        m_active.wait(active);
    join_cleanup();
    if (m_xpc) {
        auto stats = m_xpc->stats();
        MutexLocker lock(m_failure_mutex);
        m_final_stats = stats;
    }
    end_domain();
    m_xpc.reset();
    m_domain.reset();
}

Result<void> IsolatedModule::start()
{
    auto reply = call<abi::DriverEntry::module_init>(CrossingScope::Kind::Process, {});
    if (!reply)
        return std::unexpected(std::move(reply.error()).with_context(fmt::format("driver {} init", name())));
    auto result = TRY(reply->verify_errno());
    if (result != 0) {
        set_state(ModuleState::Stopped);
        return std::unexpected(Error::from_errno(-result, fmt::format("driver {} init", name())));
    }
    set_state(ModuleState::Live);
    return {};
}

void IsolatedModule::stop()
{
    if (retired())
        return;
    if (state() == ModuleState::Live)
        (void)call<abi::DriverEntry::module_exit>(CrossingScope::Kind::Process, {});
    m_stopping.store(true);
    if (state() != ModuleState::Failed) {
        // What exit left behind is a leak; release it so the kernel stays clean.
        auto leaked = m_tracker.count();
        if (leaked > 0)
            logger()->warn("{}: exit left {} kernel objects behind; releasing them", name(), leaked);
    }
    // A failed module may still hold everything (its recovery never came): same cleanup.
    (void)unwind(std::chrono::seconds(5));
    join_cleanup();
    release_everything();
    m_domain->terminate();
    set_state(ModuleState::Stopped);
}

FailureRecord IsolatedModule::record_from_end(DomainEnd const& end) const
{
    FailureRecord record;
    record.module = name();
    record.detected_ns = monotonic_ns();
    record.when = std::chrono::system_clock::now();
    auto const& fault = end.fault;
    auto kind = static_cast<abi::FaultKind>(end.fault_recorded ? fault.kind.load() : 0);
    std::string where;
    if (end.fault_recorded && m_symbols) {
        // The faulting instruction if it is the driver's, else the innermost driver
        // function on the stack (a fault inside libc called by the driver).
        auto base = m_domain->memory().header().driver_base;
        auto symbolize = [&](uint64_t address) { return address >= base ? m_symbols->describe(address - base) : std::string(); };
        record.function = symbolize(fault.ip);
        if (!record.function.empty()) {
            where = fmt::format(" in {}", record.function);
        } else {
            for (auto frame : fault.frames) {
                if (auto caller = symbolize(frame); !caller.empty()) {
                    record.function = caller;
                    where = fmt::format(" called from {}", caller);
                    break;
                }
            }
        }
    }
    switch (kind) {
    case abi::FaultKind::Signal:
        record.cause = FailureCause::Signal;
        record.signal = fault.signal;
        record.address = fault.address;
        record.ip = fault.ip;
        record.message = fmt::format("{} at address {:#x}{} (ip {:#x})", strsignal(fault.signal), fault.address, where, fault.ip);
        break;
    case abi::FaultKind::ForbiddenSyscall:
        record.cause = FailureCause::ForbiddenSyscall;
        record.ip = fault.ip;
        record.syscall = runtime::syscall_name(fault.syscall);
        record.message = fmt::format("forbidden system call {} ({}){}", record.syscall, fault.syscall, where);
        break;
    case abi::FaultKind::Panic:
    case abi::FaultKind::RuntimeError: {
        char message[sizeof(fault.message) + 1] {};
        std::memcpy(message, fault.message, sizeof(fault.message));
        record.cause = kind == abi::FaultKind::Panic ? FailureCause::Panic : FailureCause::Exit;
        record.message = message;
        break;
    }
    default:
        record.cause = FailureCause::Exit;
        record.message = end.by_signal ? fmt::format("domain killed by {}", strsignal(end.status))
                                       : fmt::format("domain exited with status {}", end.status);
        break;
    }
    return record;
}

FailureRecord IsolatedModule::record_from_error(Error const& error) const
{
    FailureRecord record;
    record.module = name();
    record.detected_ns = monotonic_ns();
    record.when = std::chrono::system_clock::now();
    record.message = error.message();
    record.cause = failure_cause_of(error.code());
    return record;
}

void IsolatedModule::fail(FailureRecord record)
{
    if (record.detected_ns == 0) {
        record.detected_ns = monotonic_ns();
        record.when = std::chrono::system_clock::now();
    }
    {
        MutexLocker lock(m_failure_mutex);
        if (m_failure || m_stopping.load())
            return;
        m_failure = record;
    }
    set_state(ModuleState::Failed);
    if (record.cause == FailureCause::Update)
        logger()->info("driver {} stopped for its {}", name(), record.message); // a live update: the same path as a failure
    else
        logger()->error("driver {} failed: {}: {}", name(), failure_cause_name(record.cause), record.message);
    // Stop everything that talks to the domain, then end it.
    m_xpc->fail(Error(ErrorCode::DriverFailed, record.message));
    m_domain->terminate();
    FailureListener listener;
    {
        MutexLocker lock(m_failure_mutex);
        listener = m_failure_listener;
    }
    if (listener && listener(*this))
        return;
    // Releasing may wait for a running interrupt handler, which may be this very thread.
    MutexLocker lock(m_failure_mutex);
    m_cleanup = std::thread([this] { release_everything(); });
}

void IsolatedModule::join_cleanup()
{
    std::thread cleanup;
    {
        MutexLocker lock(m_failure_mutex);
        cleanup = std::move(m_cleanup);
    }
    if (cleanup.joinable())
        cleanup.join();
}

void IsolatedModule::release_everything()
{
    // Mask the driver's interrupt lines first, so nothing new is delivered while we release.
    mask_interrupts();
    release_resources();
}

void IsolatedModule::wake_channel_waiters()
{
    if (auto active = enter())
        m_xpc->wake_channel_waiters();
}

void IsolatedModule::set_failure_listener(FailureListener listener)
{
    MutexLocker lock(m_failure_mutex);
    m_failure_listener = std::move(listener);
}

std::optional<FailureRecord> IsolatedModule::failure() const
{
    MutexLocker lock(m_failure_mutex);
    return m_failure;
}

bool IsolatedModule::wait_released(std::chrono::milliseconds timeout) const
{
    MutexLocker lock(m_failure_mutex);
    return m_released_changed.wait_for(lock, timeout, [&]() NK_REQUIRES(m_failure_mutex) { return m_released; });
}

} // namespace nk
