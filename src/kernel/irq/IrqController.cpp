// SPDX-License-Identifier: MIT
#include "kernel/irq/IrqController.h"

#include "kernel/exec/Context.h"

namespace nk {

uint32_t IrqController::allocate_line(std::string device_name)
{
    MutexLocker lock(m_mutex);
    auto number = static_cast<uint32_t>(m_lines.size()) + 1; // 0 is never a valid line
    auto& line = m_lines.emplace_back();
    line.number = number;
    line.controller = this;
    line.device = std::move(device_name);
    return number;
}

IrqController::Line* IrqController::line(uint32_t irq) const
{
    MutexLocker lock(m_mutex);
    if (irq == 0 || irq > m_lines.size())
        return nullptr;
    return const_cast<Line*>(&m_lines[irq - 1]);
}

bool IrqController::is_valid(uint32_t irq) const { return line(irq) != nullptr; }

Result<void> IrqController::request(uint32_t irq, std::unique_ptr<IrqAction> action)
{
    auto* target = line(irq);
    if (target == nullptr)
        return make_error(ErrorCode::InvalidArgument, "request_irq: no interrupt line {}", irq);
    MutexLocker lock(target->mutex);
    if (target->action)
        return make_error(ErrorCode::AlreadyExists, "request_irq: line {} already has handler '{}'", irq,
            target->action->name());
    target->action = std::move(action);
    target->disable_depth = 0;
    target->pending = false;
    return {};
}

Result<std::unique_ptr<IrqAction>> IrqController::free(uint32_t irq, void* dev_id)
{
    auto* target = line(irq);
    if (target == nullptr)
        return make_error(ErrorCode::InvalidArgument, "free_irq: no interrupt line {}", irq);
    MutexLocker lock(target->mutex);
    if (!target->action || target->action->dev_id() != dev_id)
        return make_error(ErrorCode::NotFound, "free_irq: line {} has no handler for this dev_id", irq);
    ++target->disable_depth;
    if (target->running)
        target->action->withdraw(); // going: a handler still on its way in gives up
    target->idle.wait(lock, [&]() NK_REQUIRES(target->mutex) { return !target->running; });
    target->pending = false;
    target->disable_depth = 0;
    return std::move(target->action);
}

Result<void> IrqController::disable(uint32_t irq, bool wait)
{
    auto* target = line(irq);
    if (target == nullptr)
        return make_error(ErrorCode::InvalidArgument, "disable_irq: no interrupt line {}", irq);
    MutexLocker lock(target->mutex);
    ++target->disable_depth;
    if (!wait || !target->running)
        return {};
    auto* action = target->action.get();
    if (action != nullptr)
        action->withdraw();
    target->idle.wait(lock, [&]() NK_REQUIRES(target->mutex) { return !target->running; });
    if (action != nullptr && target->action.get() == action) {
        action->readmit();
        // The handler may have given up before reaching its driver: the
        // interrupt is delivered once the line is enabled (at worst a spurious one).
        target->pending = true;
    }
    return {};
}

Result<void> IrqController::enable(uint32_t irq)
{
    auto* target = line(irq);
    if (target == nullptr)
        return make_error(ErrorCode::InvalidArgument, "enable_irq: no interrupt line {}", irq);
    bool deliver_now = false;
    {
        MutexLocker lock(target->mutex);
        if (target->disable_depth == 0)
            return make_error(ErrorCode::FailedPrecondition, "enable_irq: line {} is not disabled", irq);
        if (--target->disable_depth == 0 && target->pending && !target->running) {
            target->pending = false;
            deliver_now = true;
        }
    }
    if (deliver_now)
        raise_softirq(&IrqController::deliver_softirq, target);
    return {};
}

void IrqController::raise(uint32_t irq)
{
    auto* target = line(irq);
    if (target == nullptr)
        return;
    {
        MutexLocker lock(target->mutex);
        target->raised++;
        if (!target->action) {
            target->unhandled++;
            return;
        }
        if (target->disable_depth > 0 || target->running) {
            target->pending = true;
            return;
        }
    }
    raise_softirq(&IrqController::deliver_softirq, target);
}

void IrqController::deliver_softirq(void* line) { deliver(*static_cast<Line*>(line)); }

void IrqController::deliver(Line& line)
{
    MutexLocker lock(line.mutex);
    if (line.running || !line.action || line.disable_depth > 0) {
        if (line.action)
            line.pending = true;
        return;
    }
    line.running = true;
    line.pending = false;
    for (;;) {
        auto* action = line.action.get();
        lock.unlock();
        // The action cannot go away while `running` is set: free() waits for it.
        auto result = action->handle(line.number);
        lock.lock();
        if (result == NK_IRQ_HANDLED)
            line.handled++;
        else
            line.unhandled++;
        if (line.pending && line.action && line.disable_depth == 0) {
            line.pending = false;
            continue;
        }
        break;
    }
    line.running = false;
    line.idle.notify_all();
}

std::vector<IrqController::LineStats> IrqController::stats() const
{
    std::vector<LineStats> result;
    MutexLocker lock(m_mutex);
    for (auto const& entry : m_lines) {
        auto& line = const_cast<Line&>(entry);
        MutexLocker line_lock(line.mutex);
        result.push_back({ line.number, line.device, line.action ? line.action->name() : std::string(), line.raised,
            line.handled, line.unhandled, line.disable_depth });
    }
    return result;
}

} // namespace nk
