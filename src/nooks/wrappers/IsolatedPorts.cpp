// SPDX-License-Identifier: MIT
#include "nooks/wrappers/IsolatedPorts.h"

#include "kernel/bus/BusDevice.h"
#include "nooks/module/IsolatedModule.h"

namespace nk {

Result<int> IsolatedBusDriverPort::probe(BusDevice& device, nk_device_id const& id)
{
    auto handle = m_module.tracker().add(ObjectType::Device, Lifetime::ByMeaning, &device, 0,
        fmt::format("device {} ({:04x}:{:04x})", device.name(), id.vendor, id.device), [] { });
    auto reply = m_module.call(CrossingScope::Kind::Process, abi::DriverEntry::bus_probe, { m_probe, handle, id.vendor, id.device });
    if (!reply) {
        (void)m_module.tracker().remove(handle);
        return std::unexpected(std::move(reply.error()));
    }
    if (!IsolatedModule::is_errno_result(reply->result)) {
        (void)m_module.tracker().remove(handle);
        m_module.fail({ .cause = FailureCause::Rejection, .module = m_module.name(),
            .message = fmt::format("probe returned {} (not 0 or an errno)", reply->result) });
        return make_error(ErrorCode::DriverFailed, "probe returned garbage");
    }
    if (reply->result != 0)
        (void)m_module.tracker().remove(handle);
    return static_cast<int>(reply->result);
}

void IsolatedBusDriverPort::remove(BusDevice& device)
{
    auto handle = m_module.tracker().handle_of(ObjectType::Device, &device);
    if (!handle)
        return;
    if (m_remove != 0)
        (void)m_module.call(CrossingScope::Kind::Process, abi::DriverEntry::bus_remove, { m_remove, *handle });
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
    auto reply = m_module.call(CrossingScope::Kind::Atomic, abi::DriverEntry::irq_handler,
        { m_handler, irq, reinterpret_cast<uint64_t>(dev_id()) });
    if (!reply)
        return NK_IRQ_NONE;
    if (reply->result != NK_IRQ_NONE && reply->result != NK_IRQ_HANDLED) {
        m_module.fail({ .cause = FailureCause::Rejection, .module = m_module.name(),
            .message = fmt::format("interrupt handler returned {} (not NK_IRQ_NONE or NK_IRQ_HANDLED)", reply->result) });
        return NK_IRQ_NONE;
    }
    return static_cast<nk_irqreturn_t>(reply->result);
}

void IsolatedTimerCallback::fire() { (void)m_module.call(CrossingScope::Kind::Atomic, abi::DriverEntry::timer_fn, { m_function, m_data }); }

void IsolatedWorkCallback::run() { (void)m_module.call(CrossingScope::Kind::Process, abi::DriverEntry::work_fn, { m_function, m_data }); }

} // namespace nk
