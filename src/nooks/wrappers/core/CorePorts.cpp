// SPDX-License-Identifier: MIT
#include "nooks/wrappers/core/CorePorts.h"

#include "kernel/bus/BusDevice.h"
#include "nooks/module/IsolatedModule.h"

namespace nk {

Result<int> IsolatedBusDriverPort::probe(BusDevice& device, nk_device_id const& id)
{
    auto handle = m_module.tracker().add({ .type = ObjectType::Device, .lifetime = Lifetime::ByMeaning, .object = &device,
                                             .description = fmt::format("device {} ({:04x}:{:04x})", device.name(), id.vendor, id.device) },
        [] { });
    auto result = [&]() -> Result<int> {
        auto reply = TRY(m_module.call<abi::DriverEntry::bus_probe>(CrossingScope::Kind::Process, { m_probe, handle, id, 0 }));
        return reply.verify_errno();
    }();
    // A device the probe did not take is not the driver's.
    if (!result || *result != 0)
        (void)m_module.tracker().remove(handle);
    return result;
}

void IsolatedBusDriverPort::remove(BusDevice& device)
{
    auto handle = m_module.tracker().handle_of(ObjectType::Device, &device);
    if (!handle)
        return;
    if (m_remove != 0)
        (void)m_module.call<abi::DriverEntry::bus_remove>(CrossingScope::Kind::Process, { m_remove, *handle });
    (void)m_module.tracker().remove(*handle);
}

IsolatedIrqAction::IsolatedIrqAction(IsolatedModule& module, std::string name, uint64_t handler, uint64_t dev_id)
    : IrqAction(module, std::move(name), reinterpret_cast<void*>(dev_id))
    , m_module(module)
    , m_handler(handler)
{
}

nk_irqreturn_t IsolatedIrqAction::handle(uint32_t irq)
{
    XpcEndpoint::GiveUpScope give_up(m_withdrawn);
    auto reply = m_module.call<abi::DriverEntry::irq_handler>(CrossingScope::Kind::Atomic,
        { m_handler, irq, 0, reinterpret_cast<uint64_t>(dev_id()) });
    if (!reply)
        return NK_IRQ_NONE;
    auto result = reply->verify_one_of({ NK_IRQ_NONE, NK_IRQ_HANDLED }, "not NK_IRQ_NONE or NK_IRQ_HANDLED");
    return result ? static_cast<nk_irqreturn_t>(*result) : NK_IRQ_NONE;
}

void IsolatedIrqAction::withdraw()
{
    m_withdrawn.fetch_add(1, std::memory_order_acq_rel);
    m_module.wake_channel_waiters();
}

void IsolatedIrqAction::readmit() { m_withdrawn.fetch_sub(1, std::memory_order_acq_rel); }

void IsolatedTimerCallback::fire() { (void)m_module.call<abi::DriverEntry::timer_fn>(CrossingScope::Kind::Atomic, { m_function, m_data }); }

void IsolatedWorkCallback::run() { (void)m_module.call<abi::DriverEntry::work_fn>(CrossingScope::Kind::Process, { m_function, m_data }); }

} // namespace nk
