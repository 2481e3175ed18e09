// SPDX-License-Identifier: MIT
#include "kernel/exec/Context.h"

namespace nk {

ThreadContext& current_context()
{
    thread_local ThreadContext context;
    return context;
}

void raise_softirq(SoftirqFn fn, void* argument)
{
    auto& context = current_context();
    context.softirqs.push_back({ fn, argument });
    if (context.crossing_depth == 0 && !context.irqs_off)
        run_softirqs();
}

void run_softirqs()
{
    auto& context = current_context();
    // One drain loop per thread: work queued by the items themselves (device work
    // raises an interrupt whose handler rings a doorbell...) is picked up by the
    // loop instead of recursing.
    if (context.draining)
        return;
    context.draining = true;
    std::vector<ThreadContext::Softirq> batch;
    while (!context.softirqs.empty()) {
        batch.clear();
        std::swap(batch, context.softirqs);
        for (auto const& item : batch)
            item.fn(item.argument);
    }
    context.draining = false;
}

CrossingScope::CrossingScope(Module& module, Kind kind)
    : m_previous_module(current_context().module)
    , m_kind(kind)
{
    auto& context = current_context();
    context.module = &module;
    ++context.crossing_depth;
    if (kind == Kind::Atomic)
        ++context.atomic_depth;
}

CrossingScope::~CrossingScope()
{
    auto& context = current_context();
    if (m_kind == Kind::Atomic)
        --context.atomic_depth;
    context.module = m_previous_module;
    if (--context.crossing_depth == 0 && !context.softirqs.empty() && !context.irqs_off)
        run_softirqs();
}

} // namespace nk
