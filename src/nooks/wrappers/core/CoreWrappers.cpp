// SPDX-License-Identifier: MIT
// Kernel wrappers: the bodies of the core calls.

#include "nooks/wrappers/core/CoreWrappers.h"

#include "base/Log.h"
#include "kernel/Kernel.h"
#include "kernel/bus/BusDevice.h"
#include "kernel/bus/IoWindow.h"
#include "nooks/module/IsolatedModule.h"
#include "nooks/wrappers/core/CorePorts.h"

#include <thread>

namespace nk {

namespace {

XpcReply ok(int64_t result = 0, uint64_t word = 0) { return { result, word }; }

} // namespace

std::unique_ptr<ClassWrappers> make_core_wrappers(IsolatedModule& module) { return std::make_unique<CoreWrappers>(module); }

Result<XpcReply> CoreWrappers::handle(IncomingCall const& call, ReplyPayload& reply)
{
    switch (call.id) {
#define NK_X(cls, name, delivery, Args) \
    case abi::KernelCall::name: return name(call, TRY(decode<abi::Args>(call)), reply);
        NOOKS_CORE_KERNEL_CALLS(NK_X)
#undef NK_X
    default: break;
    }
    return NK_REJECT(call, "not a core call");
}

Result<void> CoreWrappers::check_own_irq(IncomingCall const& call, uint32_t irq) const
{
    for (auto const& object : m_module.tracker().list()) {
        if (object.type != ObjectType::Device)
            continue;
        for (auto line : static_cast<BusDevice*>(object.object)->irqs()) {
            if (line == irq)
                return {};
        }
    }
    return NK_REJECT(call, "irq {}: not an interrupt line of a device this driver holds", irq);
}

// --- Internal ------------------------------------------------------------------

Result<XpcReply> CoreWrappers::flush(IncomingCall const&, abi::NoArgs const&, ReplyPayload&) { return ok(); }

// --- Bus ---------------------------------------------------------------------

Result<XpcReply> CoreWrappers::bus_register_driver(IncomingCall const& call, abi::BusRegisterDriverArgs const& args, ReplyPayload&)
{
    TRY(check_quota(call));
    auto driver_name = TRY(name(call, args.name, "drv->name"));
    if (args.key == 0)
        return NK_REJECT(call, "drv: null");
    if (args.probe == 0)
        return NK_REJECT(call, "drv->probe: missing");
    if (args.id_count == 0 || args.id_count > abi::max_device_ids)
        return NK_REJECT(call, "drv->id_table: {} entries (1..{})", args.id_count, abi::max_device_ids);
    if (m_module.tracker().find_by_key(ObjectType::BusDriver, args.key))
        return ok(-EEXIST);

    auto driver = std::make_unique<BusDriver>();
    driver->owner = &m_module;
    driver->name = driver_name;
    driver->ids.assign(args.ids, args.ids + args.id_count);
    driver->port = std::make_unique<IsolatedBusDriverPort>(m_module, args.probe, args.remove);
    driver->key = args.key;
    // Released with the module (Kernel::release_module_objects forgets its bindings).
    auto handle = m_module.tracker().add({ .type = ObjectType::BusDriver, .lifetime = Lifetime::Explicit, .key = args.key,
                                             .description = fmt::format("bus driver {}", driver_name) },
        [] { });
    if (auto registered = m_module.kernel().bus().register_driver(std::move(driver)); !registered) {
        (void)m_module.tracker().remove(handle);
        return ok(-registered.error().to_errno());
    }
    return ok();
}

Result<XpcReply> CoreWrappers::bus_unregister_driver(IncomingCall const& call, abi::BusUnregisterDriverArgs const& args, ReplyPayload&)
{
    auto object = m_module.tracker().find_by_key(ObjectType::BusDriver, args.key);
    if (!object)
        return NK_REJECT(call, "drv {:#x}: not a driver this module registered", args.key);
    (void)m_module.kernel().bus().unregister_driver(m_module, args.key);
    (void)m_module.tracker().remove(object->handle);
    return ok();
}

Result<XpcReply> CoreWrappers::dev_info(IncomingCall const& call, abi::DevArgs const& args, ReplyPayload& reply)
{
    auto* dev = TRY(device(call, args.dev, "dev"));
    auto info = dev->info();
    if (reply.buffer.size() < sizeof(info))
        return NK_REJECT(call, "reply does not fit");
    std::memcpy(reply.buffer.data(), &info, sizeof(info));
    reply.size = sizeof(info);
    return ok();
}

Result<XpcReply> CoreWrappers::dev_set_drvdata(IncomingCall const& call, abi::DevSetDrvdataArgs const& args, ReplyPayload&)
{
    auto* dev = TRY(device(call, args.dev, "dev"));
    // Opaque to the kernel: stored, never dereferenced.
    dev->set_drvdata(reinterpret_cast<void*>(args.data));
    return ok();
}

// --- Register windows --------------------------------------------------------

Result<XpcReply> CoreWrappers::iomap(IncomingCall const& call, abi::IomapArgs const& args, ReplyPayload&)
{
    TRY(check_quota(call));
    auto* dev = TRY(device(call, args.dev, "dev"));
    auto* window = dev->window(args.index);
    if (window == nullptr)
        return ok(-EINVAL);
    if (!window->claim())
        return ok(-EBUSY);
    auto handle = m_module.tracker().add({ .type = ObjectType::RegisterWindow, .lifetime = Lifetime::Explicit, .object = window,
                                             .description = fmt::format("{} window {} ({} bytes)", dev->name(), args.index, window->size()) },
        [window] { window->release(); });
    return ok(0, handle);
}

Result<XpcReply> CoreWrappers::iounmap(IncomingCall const& call, abi::WindowArgs const& args, ReplyPayload&)
{
    auto ref = TRY(m_module.tracker().lookup(args.window, ObjectType::RegisterWindow, abi::name_of(call.id), "win"));
    static_cast<IoWindow*>(ref.object)->release();
    (void)m_module.tracker().remove(args.window);
    return ok();
}

Result<XpcReply> CoreWrappers::iomem_size(IncomingCall const& call, abi::WindowArgs const& args, ReplyPayload&)
{
    auto ref = TRY(m_module.tracker().lookup(args.window, ObjectType::RegisterWindow, abi::name_of(call.id), "win"));
    return ok(static_cast<IoWindow*>(ref.object)->size());
}

namespace {

Result<IoWindow*> checked_window(IsolatedModule& module, IncomingCall const& call, abi::ObjectHandle handle, uint32_t offset, unsigned width)
{
    auto ref = TRY(module.tracker().lookup(handle, ObjectType::RegisterWindow, abi::name_of(call.id), "win"));
    auto* window = static_cast<IoWindow*>(ref.object);
    if (!window->valid_access(offset, width))
        return NK_REJECT(call, "offset {:#x}: outside the {}-byte window or not {}-byte aligned", offset, window->size(), width);
    return window;
}

} // namespace

Result<XpcReply> CoreWrappers::readl(IncomingCall const& call, abi::RegisterReadArgs const& args, ReplyPayload&)
{
    auto* window = TRY(checked_window(m_module, call, args.window, args.offset, 4));
    return ok(0, window->read(args.offset, 4));
}

Result<XpcReply> CoreWrappers::readq(IncomingCall const& call, abi::RegisterReadArgs const& args, ReplyPayload&)
{
    auto* window = TRY(checked_window(m_module, call, args.window, args.offset, 8));
    return ok(0, window->read(args.offset, 8));
}

Result<XpcReply> CoreWrappers::writel(IncomingCall const& call, abi::RegisterWriteArgs const& args, ReplyPayload&)
{
    auto* window = TRY(checked_window(m_module, call, args.window, args.offset, 4));
    if (args.value > UINT32_MAX)
        return NK_REJECT(call, "value {:#x} does not fit 32 bits", args.value);
    window->write(args.offset, 4, args.value);
    return ok();
}

Result<XpcReply> CoreWrappers::writeq(IncomingCall const& call, abi::RegisterWriteArgs const& args, ReplyPayload&)
{
    auto* window = TRY(checked_window(m_module, call, args.window, args.offset, 8));
    window->write(args.offset, 8, args.value);
    return ok();
}

// --- DMA ---------------------------------------------------------------------

Result<XpcReply> CoreWrappers::dma_map_coherent(IncomingCall const& call, abi::DmaMapArgs const& args, ReplyPayload&)
{
    TRY(check_quota(call));
    auto* dev = TRY(device(call, args.dev, "dev"));
    if (args.size == 0 || args.size > (1ull << 30))
        return NK_REJECT(call, "size {}: not in 1..1 GiB", args.size);
    // Only the driver's own heap can become DMA memory: never kernel memory.
    if (args.cpu % abi::page_size != 0 || !m_module.memory().in_heap(args.cpu, args.size))
        return NK_REJECT(call, "cpu {:#x}+{}: not page-aligned memory of this driver's heap", args.cpu, args.size);
    auto iova = dev->iommu().map(reinterpret_cast<void*>(args.cpu), args.size, DmaDirection::Bidirectional);
    if (!iova)
        return ok(-ENOMEM);
    auto dma = *iova;
    m_module.tracker().add({ .type = ObjectType::DmaBuffer, .lifetime = Lifetime::Explicit, .object = dev, .key = dma, .address = args.cpu,
                               .length = args.size,
                               .description = fmt::format("{} dma {:#x} ({} bytes at {:#x})", dev->name(), dma, args.size, args.cpu) },
        [dev, dma] { (void)dev->iommu().unmap(dma); });
    return ok(0, dma);
}

Result<XpcReply> CoreWrappers::dma_unmap_coherent(IncomingCall const& call, abi::DmaUnmapArgs const& args, ReplyPayload&)
{
    auto* dev = TRY(device(call, args.dev, "dev"));
    auto object = m_module.tracker().find_by_key(ObjectType::DmaBuffer, args.dma);
    if (!object || object->object != dev)
        return NK_REJECT(call, "dma {:#x}: not a buffer this driver holds on {} (freed twice?)", args.dma, dev->name());
    // The whole call must describe the buffer as it was allocated (nk_dma_free_coherent's contract).
    if (object->address != args.cpu || object->length != args.size)
        return NK_REJECT(call, "cpu {:#x}+{}: dma {:#x} was allocated as {:#x}+{}", args.cpu, args.size, args.dma, object->address, object->length);
    (void)dev->iommu().unmap(args.dma);
    (void)m_module.tracker().remove(object->handle);
    return ok();
}

// --- Interrupts --------------------------------------------------------------

Result<XpcReply> CoreWrappers::dev_irq(IncomingCall const& call, abi::DevIrqArgs const& args, ReplyPayload&)
{
    auto* dev = TRY(device(call, args.dev, "dev"));
    auto irq = dev->irq(args.index);
    return ok(irq == 0 ? -EINVAL : irq);
}

Result<XpcReply> CoreWrappers::request_irq(IncomingCall const& call, abi::RequestIrqArgs const& args, ReplyPayload&)
{
    TRY(check_quota(call));
    TRY(check_own_irq(call, args.irq));
    if (args.handler == 0)
        return NK_REJECT(call, "handler: missing");
    auto handler_name = TRY(text(call, args.name, "name"));
    auto irq = args.irq;
    auto dev_id = args.dev_id;
    auto action = std::make_unique<IsolatedIrqAction>(m_module, handler_name, args.handler, dev_id);
    auto& irqs = m_module.kernel().irqs();
    if (auto requested = irqs.request(irq, std::move(action)); !requested)
        return ok(-requested.error().to_errno());
    m_module.tracker().add({ .type = ObjectType::Irq, .lifetime = Lifetime::Explicit, .object = reinterpret_cast<void*>(dev_id), .key = irq,
                               .description = fmt::format("irq {} handler {}", irq, handler_name) },
        [&irqs, irq, dev_id] { (void)irqs.free(irq, reinterpret_cast<void*>(dev_id)); });
    return ok();
}

Result<XpcReply> CoreWrappers::free_irq(IncomingCall const& call, abi::FreeIrqArgs const& args, ReplyPayload&)
{
    auto object = m_module.tracker().find_by_key(ObjectType::Irq, args.irq);
    if (!object || reinterpret_cast<uint64_t>(object->object) != args.dev_id)
        return NK_REJECT(call, "irq {}: no handler of this driver with that dev_id", args.irq);
    (void)m_module.kernel().irqs().free(args.irq, object->object);
    (void)m_module.tracker().remove(object->handle);
    return ok();
}

Result<void> CoreWrappers::check_requested_irq(IncomingCall const& call, uint32_t irq) const
{
    if (!m_module.tracker().find_by_key(ObjectType::Irq, irq))
        return NK_REJECT(call, "irq {}: not a line this driver requested", irq);
    return {};
}

Result<XpcReply> CoreWrappers::disable_irq(IncomingCall const& call, abi::IrqArgs const& args, ReplyPayload&)
{
    TRY(check_requested_irq(call, args.irq));
    (void)m_module.kernel().irqs().disable(args.irq, true);
    return ok();
}

Result<XpcReply> CoreWrappers::disable_irq_nosync(IncomingCall const& call, abi::IrqArgs const& args, ReplyPayload&)
{
    TRY(check_requested_irq(call, args.irq));
    (void)m_module.kernel().irqs().disable(args.irq, false);
    return ok();
}

Result<XpcReply> CoreWrappers::enable_irq(IncomingCall const& call, abi::IrqArgs const& args, ReplyPayload&)
{
    TRY(check_requested_irq(call, args.irq));
    if (auto enabled = m_module.kernel().irqs().enable(args.irq); !enabled)
        return NK_REJECT(call, "irq {}: unbalanced enable (it is not disabled)", args.irq);
    return ok();
}

// --- Time, timers, work ------------------------------------------------------

Result<XpcReply> CoreWrappers::msleep(IncomingCall const& call, abi::MsleepArgs const& args, ReplyPayload&)
{
    if (args.ms > 60'000)
        return NK_REJECT(call, "ms {}: more than a minute", args.ms);
    if (current_context().atomic_depth > 0)
        return std::unexpected(Error(ErrorCode::FailedPrecondition, "nk_msleep: may sleep, called in atomic context"));
    run_softirqs();
    std::this_thread::sleep_for(std::chrono::milliseconds(args.ms));
    return ok();
}

Result<XpcReply> CoreWrappers::timer_create(IncomingCall const& call, abi::CallbackArgs const& args, ReplyPayload&)
{
    TRY(check_quota(call));
    if (args.fn == 0)
        return NK_REJECT(call, "fn: missing");
    auto& timers = m_module.kernel().timers();
    auto* timer = timers.create(m_module, std::make_unique<IsolatedTimerCallback>(m_module, args.fn, args.data));
    auto handle = m_module.tracker().add({ .type = ObjectType::Timer, .lifetime = Lifetime::Explicit, .object = timer, .description = "timer" },
        [&timers, timer] { timers.destroy(*timer); });
    return ok(0, handle);
}

Result<XpcReply> CoreWrappers::timer_mod(IncomingCall const& call, abi::TimerModArgs const& args, ReplyPayload&)
{
    auto ref = TRY(m_module.tracker().lookup(args.timer, ObjectType::Timer, abi::name_of(call.id), "timer"));
    if (args.delay_ms > 3'600'000)
        return NK_REJECT(call, "delay_ms {}: more than an hour", args.delay_ms);
    return ok(m_module.kernel().timers().mod(*static_cast<Timer*>(ref.object), args.delay_ms) ? 1 : 0);
}

Result<XpcReply> CoreWrappers::timer_del_sync(IncomingCall const& call, abi::TimerArgs const& args, ReplyPayload&)
{
    auto ref = TRY(m_module.tracker().lookup(args.timer, ObjectType::Timer, abi::name_of(call.id), "timer"));
    return ok(m_module.kernel().timers().del_sync(*static_cast<Timer*>(ref.object)) ? 1 : 0);
}

Result<XpcReply> CoreWrappers::timer_destroy(IncomingCall const& call, abi::TimerArgs const& args, ReplyPayload&)
{
    auto ref = TRY(m_module.tracker().lookup(args.timer, ObjectType::Timer, abi::name_of(call.id), "timer"));
    (void)m_module.tracker().remove(args.timer);
    m_module.kernel().timers().destroy(*static_cast<Timer*>(ref.object));
    return ok();
}

Result<XpcReply> CoreWrappers::work_create(IncomingCall const& call, abi::CallbackArgs const& args, ReplyPayload&)
{
    TRY(check_quota(call));
    if (args.fn == 0)
        return NK_REJECT(call, "fn: missing");
    auto& work = m_module.kernel().work();
    auto* item = work.create(m_module, std::make_unique<IsolatedWorkCallback>(m_module, args.fn, args.data));
    auto handle = m_module.tracker().add({ .type = ObjectType::Work, .lifetime = Lifetime::Explicit, .object = item, .description = "work item" },
        [&work, item] { work.destroy(*item); });
    return ok(0, handle);
}

Result<XpcReply> CoreWrappers::work_queue(IncomingCall const& call, abi::WorkArgs const& args, ReplyPayload&)
{
    auto ref = TRY(m_module.tracker().lookup(args.work, ObjectType::Work, abi::name_of(call.id), "work"));
    return ok(m_module.kernel().work().queue(*static_cast<Work*>(ref.object)) ? 1 : 0);
}

Result<XpcReply> CoreWrappers::work_flush(IncomingCall const& call, abi::WorkArgs const& args, ReplyPayload&)
{
    auto ref = TRY(m_module.tracker().lookup(args.work, ObjectType::Work, abi::name_of(call.id), "work"));
    m_module.kernel().work().flush(*static_cast<Work*>(ref.object));
    return ok();
}

Result<XpcReply> CoreWrappers::work_destroy(IncomingCall const& call, abi::WorkArgs const& args, ReplyPayload&)
{
    auto ref = TRY(m_module.tracker().lookup(args.work, ObjectType::Work, abi::name_of(call.id), "work"));
    (void)m_module.tracker().remove(args.work);
    m_module.kernel().work().destroy(*static_cast<Work*>(ref.object));
    return ok();
}

// --- Logging and fatal errors ------------------------------------------------

Result<XpcReply> CoreWrappers::log(IncomingCall const& call, abi::LogArgs const& args, ReplyPayload&)
{
    if (args.level > NK_LOG_ERR)
        return NK_REJECT(call, "level {}: not a log level", args.level);
    auto message = TRY(text(call, args.message, "fmt"));
    while (!message.empty() && (message.back() == '\n' || message.back() == '?'))
        message.pop_back();
    auto logger = log::get(m_module.name());
    switch (args.level) {
    case NK_LOG_DEBUG: logger->debug("{}", message); break;
    case NK_LOG_INFO: logger->info("{}", message); break;
    case NK_LOG_WARN: logger->warn("{}", message); break;
    default: logger->error("{}", message); break;
    }
    return ok();
}

Result<XpcReply> CoreWrappers::panic(IncomingCall const& call, abi::MessageArgs const& args, ReplyPayload&)
{
    auto message = TRY(text(call, args.message, "message"));
    return std::unexpected(Error(ErrorCode::Aborted, message));
}

Result<XpcReply> CoreWrappers::misuse(IncomingCall const& call, abi::MessageArgs const& args, ReplyPayload&)
{
    auto message = TRY(text(call, args.message, "message"));
    return std::unexpected(Error(ErrorCode::FailedPrecondition, fmt::format("driver bug: {}", message)));
}

} // namespace nk
