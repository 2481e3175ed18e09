// SPDX-License-Identifier: MIT
// Kernel wrappers: dispatch, and the bodies of the core calls.

#include "nooks/wrappers/KernelWrappers.h"

#include "base/Log.h"
#include "kernel/Kernel.h"
#include "kernel/bus/IoWindow.h"
#include "nooks/abi/Wire.h"
#include "nooks/module/IsolatedModule.h"
#include "nooks/wrappers/IsolatedPorts.h"

#include <cstring>
#include <thread>

namespace nk {

namespace {

XpcReply ok(int64_t result = 0, uint64_t word = 0) { return { result, word }; }

template<typename T>
bool payload_as(IncomingCall const& call, T& out)
{
    if (call.payload.size() != sizeof(T))
        return false;
    std::memcpy(&out, call.payload.data(), sizeof(T));
    return true;
}

} // namespace

// A switch over the interface list rather than a table of member-function
// pointers: every call has a body (a missing one does not compile), and an id
// outside the list (the endpoint rejects those first) is a rejection here too.
Result<XpcReply> KernelWrappers::dispatch(IncomingCall const& call, ReplyPayload& reply)
{
    switch (call.id) {
#define NK_X(name, delivery) \
    case abi::KernelCall::name: return name(call, reply);
        NOOKS_KERNEL_CALLS(NK_X)
#undef NK_X
    case abi::KernelCall::Count: break;
    }
    return make_error(ErrorCode::InvalidArgument, "kernel call {}: no such call", static_cast<unsigned>(call.id));
}

Result<XpcReply> KernelWrappers::handle_call(IncomingCall const& call, ReplyPayload& reply) { return dispatch(call, reply); }

Result<void> KernelWrappers::handle_deferred(abi::KernelCall id, std::span<uint64_t const, 3> words)
{
    IncomingCall call { id, {}, {}, 0 };
    std::copy(words.begin(), words.end(), call.words.begin());
    ReplyPayload none;
    TRY(dispatch(call, none));
    return {};
}

Result<BusDevice*> KernelWrappers::device(IncomingCall const& call, unsigned word, char const* parameter)
{
    auto ref = TRY(m_module.tracker().lookup(call.words[word], ObjectType::Device, abi::name_of(call.id), parameter));
    return static_cast<BusDevice*>(ref.object);
}

Result<void> KernelWrappers::check_own_irq(IncomingCall const& call, uint32_t irq)
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

Result<void> KernelWrappers::check_quota(IncomingCall const& call)
{
    auto limit = m_module.options().max_objects;
    if (m_module.tracker().count() >= limit)
        return std::unexpected(Error(ErrorCode::ResourceExhausted,
            fmt::format("{}: the driver holds {} kernel objects, its limit (too many resources: a leak?)", abi::name_of(call.id), limit)));
    return {};
}

Result<std::string> KernelWrappers::text(IncomingCall const& call, size_t limit, char const* parameter)
{
    if (call.payload.size() > limit)
        return NK_REJECT(call, "{}: longer than {} bytes", parameter, limit);
    std::string result(reinterpret_cast<char const*>(call.payload.data()), call.payload.size());
    // Logs and names are shown to people: no control characters from a driver.
    for (auto& c : result) {
        if (!std::isprint(static_cast<unsigned char>(c)) && c != '\t')
            c = '?';
    }
    return result;
}

// --- Internal ------------------------------------------------------------------

Result<XpcReply> KernelWrappers::flush(IncomingCall const&, ReplyPayload&) { return ok(); }

// --- Bus ---------------------------------------------------------------------

Result<XpcReply> KernelWrappers::bus_register_driver(IncomingCall const& call, ReplyPayload&)
{
    TRY(check_quota(call));
    abi::WireBusDriver wire;
    if (!payload_as(call, wire))
        return NK_REJECT(call, "drv: malformed ({} bytes)", call.payload.size());
    auto key = call.words[0];
    auto probe = call.words[1];
    auto remove = call.words[2];
    auto name_length = strnlen(wire.name, sizeof(wire.name));
    if (key == 0 || name_length == 0 || name_length == sizeof(wire.name))
        return NK_REJECT(call, "drv->name: missing or not terminated");
    if (probe == 0)
        return NK_REJECT(call, "drv->probe: missing");
    if (wire.id_count == 0 || wire.id_count > abi::wire_max_ids)
        return NK_REJECT(call, "drv->id_table: {} entries (1..{})", wire.id_count, abi::wire_max_ids);
    if (m_module.tracker().find_by_key(ObjectType::BusDriver, key))
        return ok(-EEXIST);

    auto driver = std::make_unique<BusDriver>();
    driver->owner = &m_module;
    driver->name.assign(wire.name, name_length);
    driver->ids.assign(wire.ids, wire.ids + wire.id_count);
    driver->port = std::make_unique<IsolatedBusDriverPort>(m_module, probe, remove);
    driver->key = key;
    auto description = fmt::format("bus driver {}", driver->name);
    // Released with the module (Kernel::release_module_objects forgets its bindings).
    auto handle = m_module.tracker().add(ObjectType::BusDriver, Lifetime::Explicit, nullptr, key, description, [] { });
    auto registered = m_module.kernel().bus().register_driver(std::move(driver));
    if (!registered) {
        (void)m_module.tracker().remove(handle);
        return ok(-registered.error().to_errno());
    }
    return ok();
}

Result<XpcReply> KernelWrappers::bus_unregister_driver(IncomingCall const& call, ReplyPayload&)
{
    auto key = call.words[0];
    auto object = m_module.tracker().find_by_key(ObjectType::BusDriver, key);
    if (!object)
        return NK_REJECT(call, "drv {:#x}: not a driver this module registered", key);
    (void)m_module.kernel().bus().unregister_driver(m_module, key);
    (void)m_module.tracker().remove(object->handle);
    return ok();
}

Result<XpcReply> KernelWrappers::dev_info(IncomingCall const& call, ReplyPayload& reply)
{
    auto* dev = TRY(device(call, 0, "dev"));
    auto info = dev->info();
    if (reply.buffer.size() < sizeof(info))
        return NK_REJECT(call, "reply does not fit");
    std::memcpy(reply.buffer.data(), &info, sizeof(info));
    reply.size = sizeof(info);
    return ok();
}

Result<XpcReply> KernelWrappers::dev_set_drvdata(IncomingCall const& call, ReplyPayload&)
{
    auto* dev = TRY(device(call, 0, "dev"));
    // Opaque to the kernel: stored, never dereferenced.
    dev->set_drvdata(reinterpret_cast<void*>(call.words[1]));
    return ok();
}

// --- Register windows --------------------------------------------------------

Result<XpcReply> KernelWrappers::iomap(IncomingCall const& call, ReplyPayload&)
{
    TRY(check_quota(call));
    auto* dev = TRY(device(call, 0, "dev"));
    auto index = call.words[1];
    auto* window = index <= UINT32_MAX ? dev->window(static_cast<uint32_t>(index)) : nullptr;
    if (window == nullptr)
        return ok(-EINVAL);
    if (!window->claim())
        return ok(-EBUSY);
    auto handle = m_module.tracker().add(ObjectType::RegisterWindow, Lifetime::Explicit, window, 0,
        fmt::format("{} window {} ({} bytes)", dev->name(), index, window->size()), [window] { window->release(); });
    return ok(0, handle);
}

Result<XpcReply> KernelWrappers::iounmap(IncomingCall const& call, ReplyPayload&)
{
    auto ref = TRY(m_module.tracker().lookup(call.words[0], ObjectType::RegisterWindow, "nk_iounmap", "win"));
    static_cast<IoWindow*>(ref.object)->release();
    (void)m_module.tracker().remove(call.words[0]);
    return ok();
}

Result<XpcReply> KernelWrappers::iomem_size(IncomingCall const& call, ReplyPayload&)
{
    auto ref = TRY(m_module.tracker().lookup(call.words[0], ObjectType::RegisterWindow, "nk_iomem_size", "win"));
    return ok(static_cast<IoWindow*>(ref.object)->size());
}

namespace {

Result<IoWindow*> checked_window(IsolatedModule& module, IncomingCall const& call, unsigned width)
{
    auto ref = TRY(module.tracker().lookup(call.words[0], ObjectType::RegisterWindow, abi::name_of(call.id), "win"));
    auto* window = static_cast<IoWindow*>(ref.object);
    auto offset = call.words[1];
    if (offset > UINT32_MAX || !window->valid_access(static_cast<uint32_t>(offset), width))
        return NK_REJECT(call, "offset {:#x}: outside the {}-byte window or not {}-byte aligned", offset, window->size(), width);
    return window;
}

} // namespace

Result<XpcReply> KernelWrappers::readl(IncomingCall const& call, ReplyPayload&)
{
    auto* window = TRY(checked_window(m_module, call, 4));
    return ok(0, window->read(static_cast<uint32_t>(call.words[1]), 4));
}

Result<XpcReply> KernelWrappers::readq(IncomingCall const& call, ReplyPayload&)
{
    auto* window = TRY(checked_window(m_module, call, 8));
    return ok(0, window->read(static_cast<uint32_t>(call.words[1]), 8));
}

Result<XpcReply> KernelWrappers::writel(IncomingCall const& call, ReplyPayload&)
{
    auto* window = TRY(checked_window(m_module, call, 4));
    if (call.words[2] > UINT32_MAX)
        return NK_REJECT(call, "value {:#x} does not fit 32 bits", call.words[2]);
    window->write(static_cast<uint32_t>(call.words[1]), 4, call.words[2]);
    return ok();
}

Result<XpcReply> KernelWrappers::writeq(IncomingCall const& call, ReplyPayload&)
{
    auto* window = TRY(checked_window(m_module, call, 8));
    window->write(static_cast<uint32_t>(call.words[1]), 8, call.words[2]);
    return ok();
}

// --- DMA ---------------------------------------------------------------------

Result<XpcReply> KernelWrappers::dma_map_coherent(IncomingCall const& call, ReplyPayload&)
{
    TRY(check_quota(call));
    auto* dev = TRY(device(call, 0, "dev"));
    auto cpu = call.words[1];
    auto size = call.words[2];
    if (size == 0 || size > (1ull << 30))
        return NK_REJECT(call, "size {}: not in 1..1 GiB", size);
    // Only the driver's own heap can become DMA memory: never kernel memory.
    if (cpu % abi::page_size != 0 || !m_module.memory().in_heap(cpu, size))
        return NK_REJECT(call, "cpu {:#x}+{}: not page-aligned memory of this driver's heap", cpu, size);
    auto iova = dev->iommu().map(reinterpret_cast<void*>(cpu), size, DmaDirection::Bidirectional);
    if (!iova)
        return ok(-ENOMEM);
    auto dma = *iova;
    m_module.tracker().add(ObjectType::DmaBuffer, Lifetime::Explicit, dev, dma,
        fmt::format("{} dma {:#x} ({} bytes at {:#x})", dev->name(), dma, size, cpu), [dev, dma] { (void)dev->iommu().unmap(dma); });
    return ok(0, dma);
}

Result<XpcReply> KernelWrappers::dma_unmap_coherent(IncomingCall const& call, ReplyPayload&)
{
    auto* dev = TRY(device(call, 0, "dev"));
    auto dma = call.words[3];
    auto object = m_module.tracker().find_by_key(ObjectType::DmaBuffer, dma);
    if (!object || object->object != dev)
        return NK_REJECT(call, "dma {:#x}: not a buffer this driver holds on {} (freed twice?)", dma, dev->name());
    (void)dev->iommu().unmap(dma);
    (void)m_module.tracker().remove(object->handle);
    return ok();
}

// --- Interrupts --------------------------------------------------------------

Result<XpcReply> KernelWrappers::dev_irq(IncomingCall const& call, ReplyPayload&)
{
    auto* dev = TRY(device(call, 0, "dev"));
    auto index = call.words[1];
    auto irq = index <= UINT32_MAX ? dev->irq(static_cast<uint32_t>(index)) : 0;
    return ok(irq == 0 ? -EINVAL : irq);
}

Result<XpcReply> KernelWrappers::request_irq(IncomingCall const& call, ReplyPayload&)
{
    TRY(check_quota(call));
    auto irq = call.words[0];
    if (irq > UINT32_MAX)
        return NK_REJECT(call, "irq {}: out of range", irq);
    TRY(check_own_irq(call, static_cast<uint32_t>(irq)));
    if (call.words[1] == 0)
        return NK_REJECT(call, "handler: missing");
    auto name = TRY(text(call, abi::wire_name_size - 1, "name"));
    auto dev_id = call.words[2];
    auto action = std::make_unique<IsolatedIrqAction>(m_module, name, call.words[1], dev_id);
    auto& irqs = m_module.kernel().irqs();
    if (auto requested = irqs.request(static_cast<uint32_t>(irq), std::move(action)); !requested)
        return ok(-requested.error().to_errno());
    m_module.tracker().add(ObjectType::Irq, Lifetime::Explicit, reinterpret_cast<void*>(dev_id), irq,
        fmt::format("irq {} handler {}", irq, name), [&irqs, irq, dev_id] { (void)irqs.free(static_cast<uint32_t>(irq), reinterpret_cast<void*>(dev_id)); });
    return ok();
}

Result<XpcReply> KernelWrappers::free_irq(IncomingCall const& call, ReplyPayload&)
{
    auto irq = call.words[0];
    auto object = m_module.tracker().find_by_key(ObjectType::Irq, irq);
    if (!object || reinterpret_cast<uint64_t>(object->object) != call.words[1])
        return NK_REJECT(call, "irq {}: no handler of this driver with that dev_id", irq);
    (void)m_module.kernel().irqs().free(static_cast<uint32_t>(irq), object->object);
    (void)m_module.tracker().remove(object->handle);
    return ok();
}

Result<XpcReply> KernelWrappers::disable_irq(IncomingCall const& call, ReplyPayload&)
{
    if (!m_module.tracker().find_by_key(ObjectType::Irq, call.words[0]))
        return NK_REJECT(call, "irq {}: not a line this driver requested", call.words[0]);
    (void)m_module.kernel().irqs().disable(static_cast<uint32_t>(call.words[0]), true);
    return ok();
}

Result<XpcReply> KernelWrappers::disable_irq_nosync(IncomingCall const& call, ReplyPayload&)
{
    if (!m_module.tracker().find_by_key(ObjectType::Irq, call.words[0]))
        return NK_REJECT(call, "irq {}: not a line this driver requested", call.words[0]);
    (void)m_module.kernel().irqs().disable(static_cast<uint32_t>(call.words[0]), false);
    return ok();
}

Result<XpcReply> KernelWrappers::enable_irq(IncomingCall const& call, ReplyPayload&)
{
    if (!m_module.tracker().find_by_key(ObjectType::Irq, call.words[0]))
        return NK_REJECT(call, "irq {}: not a line this driver requested", call.words[0]);
    if (auto enabled = m_module.kernel().irqs().enable(static_cast<uint32_t>(call.words[0])); !enabled)
        return NK_REJECT(call, "irq {}: unbalanced enable (it is not disabled)", call.words[0]);
    return ok();
}

// --- Time, timers, work ------------------------------------------------------

Result<XpcReply> KernelWrappers::msleep(IncomingCall const& call, ReplyPayload&)
{
    auto ms = call.words[0];
    if (ms > 60'000)
        return NK_REJECT(call, "ms {}: more than a minute", ms);
    if (current_context().atomic_depth > 0)
        return std::unexpected(Error(ErrorCode::FailedPrecondition, "nk_msleep: may sleep, called in atomic context"));
    run_softirqs();
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    return ok();
}

Result<XpcReply> KernelWrappers::timer_create(IncomingCall const& call, ReplyPayload&)
{
    TRY(check_quota(call));
    if (call.words[0] == 0)
        return NK_REJECT(call, "fn: missing");
    auto& timers = m_module.kernel().timers();
    auto* timer = timers.create(m_module, std::make_unique<IsolatedTimerCallback>(m_module, call.words[0], call.words[1]));
    auto handle = m_module.tracker().add(ObjectType::Timer, Lifetime::Explicit, timer, 0, "timer",
        [&timers, timer] { timers.destroy(*timer); });
    return ok(0, handle);
}

Result<XpcReply> KernelWrappers::timer_mod(IncomingCall const& call, ReplyPayload&)
{
    auto ref = TRY(m_module.tracker().lookup(call.words[0], ObjectType::Timer, "nk_timer_mod", "timer"));
    if (call.words[1] > 3'600'000)
        return NK_REJECT(call, "delay_ms {}: more than an hour", call.words[1]);
    return ok(m_module.kernel().timers().mod(*static_cast<Timer*>(ref.object), static_cast<uint32_t>(call.words[1])) ? 1 : 0);
}

Result<XpcReply> KernelWrappers::timer_del_sync(IncomingCall const& call, ReplyPayload&)
{
    auto ref = TRY(m_module.tracker().lookup(call.words[0], ObjectType::Timer, "nk_timer_del_sync", "timer"));
    return ok(m_module.kernel().timers().del_sync(*static_cast<Timer*>(ref.object)) ? 1 : 0);
}

Result<XpcReply> KernelWrappers::timer_destroy(IncomingCall const& call, ReplyPayload&)
{
    auto ref = TRY(m_module.tracker().lookup(call.words[0], ObjectType::Timer, "nk_timer_destroy", "timer"));
    (void)m_module.tracker().remove(call.words[0]);
    m_module.kernel().timers().destroy(*static_cast<Timer*>(ref.object));
    return ok();
}

Result<XpcReply> KernelWrappers::work_create(IncomingCall const& call, ReplyPayload&)
{
    TRY(check_quota(call));
    if (call.words[0] == 0)
        return NK_REJECT(call, "fn: missing");
    auto& work = m_module.kernel().work();
    auto* item = work.create(m_module, std::make_unique<IsolatedWorkCallback>(m_module, call.words[0], call.words[1]));
    auto handle = m_module.tracker().add(ObjectType::Work, Lifetime::Explicit, item, 0, "work item",
        [&work, item] { work.destroy(*item); });
    return ok(0, handle);
}

Result<XpcReply> KernelWrappers::work_queue(IncomingCall const& call, ReplyPayload&)
{
    auto ref = TRY(m_module.tracker().lookup(call.words[0], ObjectType::Work, "nk_work_queue", "work"));
    return ok(m_module.kernel().work().queue(*static_cast<Work*>(ref.object)) ? 1 : 0);
}

Result<XpcReply> KernelWrappers::work_flush(IncomingCall const& call, ReplyPayload&)
{
    auto ref = TRY(m_module.tracker().lookup(call.words[0], ObjectType::Work, "nk_work_flush", "work"));
    m_module.kernel().work().flush(*static_cast<Work*>(ref.object));
    return ok();
}

Result<XpcReply> KernelWrappers::work_destroy(IncomingCall const& call, ReplyPayload&)
{
    auto ref = TRY(m_module.tracker().lookup(call.words[0], ObjectType::Work, "nk_work_destroy", "work"));
    (void)m_module.tracker().remove(call.words[0]);
    m_module.kernel().work().destroy(*static_cast<Work*>(ref.object));
    return ok();
}

// --- Logging and fatal errors ------------------------------------------------

Result<XpcReply> KernelWrappers::log(IncomingCall const& call, ReplyPayload&)
{
    auto level = call.words[0];
    if (level > NK_LOG_ERR)
        return NK_REJECT(call, "level {}: not a log level", level);
    auto message = TRY(text(call, abi::wire_max_text, "fmt"));
    while (!message.empty() && (message.back() == '\n' || message.back() == '?'))
        message.pop_back();
    auto logger = log::get(m_module.name());
    switch (level) {
    case NK_LOG_DEBUG: logger->debug("{}", message); break;
    case NK_LOG_INFO: logger->info("{}", message); break;
    case NK_LOG_WARN: logger->warn("{}", message); break;
    default: logger->error("{}", message); break;
    }
    return ok();
}

Result<XpcReply> KernelWrappers::panic(IncomingCall const& call, ReplyPayload&)
{
    auto message = TRY(text(call, abi::wire_max_text, "message"));
    return std::unexpected(Error(ErrorCode::Aborted, message));
}

Result<XpcReply> KernelWrappers::misuse(IncomingCall const& call, ReplyPayload&)
{
    auto message = TRY(text(call, abi::wire_max_text, "message"));
    return std::unexpected(Error(ErrorCode::FailedPrecondition, fmt::format("driver bug: {}", message)));
}

} // namespace nk
