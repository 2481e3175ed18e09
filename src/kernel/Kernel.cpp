// SPDX-License-Identifier: MIT
#include "kernel/Kernel.h"

#include "base/Log.h"
#include "kernel/api/NativeApi.h"
#include "kernel/native/NativeModule.h"

#include <algorithm>

namespace nk {

static auto logger() { return log::get("kernel"); }

Result<std::unique_ptr<Kernel>> Kernel::create(Options options)
{
    // Referencing the export table links every kernel API entry point into the program.
    if (native_api::exported_symbol_count() == 0)
        return make_error(ErrorCode::Internal, "kernel: no kernel API entry points linked");
    if (options.work_threads == 0 || options.work_threads > 64)
        return make_error(ErrorCode::InvalidArgument, "kernel: work_threads must be 1..64");
    auto events = TRY(EventLoop::create());
    return std::unique_ptr<Kernel>(new Kernel(options, std::move(events)));
}

Kernel::Kernel(Options options, std::unique_ptr<EventLoop> events)
    : m_events(std::move(events))
    , m_bus(m_irqs, m_events.get())
    , m_work(options.work_threads)
{
}

Kernel::~Kernel()
{
    // Devices name the module that registered them and modules call into the
    // classes while they go: every device is released (none kept for a
    // recovery that will not come) before any module object is destroyed,
    // and the classes outlive the modules.
    for (auto* driver_class : classes())
        driver_class->begin_shutdown();
    unload_all();
    std::vector<std::shared_ptr<Module>> retired;
    {
        MutexLocker lock(m_modules_mutex);
        retired = std::move(m_retired);
        m_retired.clear();
    }
    for (auto const& module : retired)
        release_module_objects(*module);
    retired.clear();
    MutexLocker lock(m_classes_mutex);
    m_classes.clear();
}

Result<DriverClass*> Kernel::register_class(std::unique_ptr<DriverClass> driver_class)
{
    MutexLocker lock(m_classes_mutex);
    for (auto const& existing : m_classes) {
        if (existing->name() == driver_class->name())
            return make_error(ErrorCode::AlreadyExists, "kernel: a class named {} is registered already", driver_class->name());
    }
    logger()->info("driver class {} registered", driver_class->name());
    return m_classes.emplace_back(std::move(driver_class)).get();
}

DriverClass* Kernel::find_class(std::string_view name) const
{
    MutexLocker lock(m_classes_mutex);
    for (auto const& driver_class : m_classes) {
        if (driver_class->name() == name)
            return driver_class.get();
    }
    return nullptr;
}

std::vector<DriverClass*> Kernel::classes() const
{
    MutexLocker lock(m_classes_mutex);
    std::vector<DriverClass*> result;
    for (auto const& driver_class : m_classes)
        result.push_back(driver_class.get());
    return result;
}

Result<Module*> Kernel::load_module(std::string const& path, std::string const& binding)
{
    auto module = TRY(NativeModule::load(*this, path, binding));
    return adopt_module(std::move(module));
}

Result<Module*> Kernel::adopt_module(std::unique_ptr<Module> module)
{
    auto* raw = module.get();
    {
        MutexLocker lock(m_modules_mutex);
        if (std::ranges::any_of(m_modules, [&](auto const& m) { return m->name() == raw->name(); }))
            return make_error(ErrorCode::AlreadyExists, "a module named {} is already loaded", raw->name());
        m_modules.push_back(std::shared_ptr<Module>(std::move(module)));
    }
    // No kernel lock held while the driver initializes: one driver's slow
    // init (a sleep, a livelock until it is detected) delays no other
    // driver's load or recovery.
    if (auto started = raw->start(); !started) {
        raw->stop();
        release_module_objects(*raw);
        MutexLocker lock(m_modules_mutex);
        std::erase_if(m_modules, [&](auto const& m) { return m.get() == raw; });
        return std::unexpected(std::move(started.error()));
    }
    logger()->info("module {} loaded from {} ({})", raw->name(), raw->path(),
        raw->isolation() == Isolation::Native ? "native" : "isolated");
    return raw;
}

Result<void> Kernel::unload_module(Module& module)
{
    MutexLocker unload_lock(m_unload_mutex);
    {
        MutexLocker lock(m_modules_mutex);
        if (std::ranges::none_of(m_modules, [&](auto const& m) { return m.get() == &module; }))
            return make_error(ErrorCode::NotFound, "unload: module is not loaded");
    }
    module.stop();
    release_module_objects(module);
    logger()->info("module {} unloaded", module.name());
    MutexLocker lock(m_modules_mutex);
    std::erase_if(m_modules, [&](auto const& m) { return m.get() == &module; });
    return {};
}

void Kernel::unload_all()
{
    for (;;) {
        Module* newest = nullptr;
        {
            MutexLocker lock(m_modules_mutex);
            if (m_modules.empty())
                return;
            newest = m_modules.back().get();
        }
        (void)unload_module(*newest);
    }
}

void Kernel::retire_module(Module& module)
{
    MutexLocker lock(m_modules_mutex);
    auto it = std::ranges::find_if(m_modules, [&](auto const& m) { return m.get() == &module; });
    if (it == m_modules.end())
        return;
    m_retired.push_back(std::move(*it));
    m_modules.erase(it);
}

std::vector<std::shared_ptr<Module>> Kernel::modules() const
{
    MutexLocker lock(m_modules_mutex);
    return m_modules;
}

std::shared_ptr<Module> Kernel::find_module(std::string const& name) const
{
    MutexLocker lock(m_modules_mutex);
    for (auto const& module : m_modules) {
        if (module->name() == name)
            return module;
    }
    return nullptr;
}

void Kernel::release_module_objects(Module& module)
{
    for (auto* driver_class : classes())
        driver_class->release_module(module);
    m_bus.forget_all(module);
}

} // namespace nk
