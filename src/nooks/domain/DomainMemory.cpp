// SPDX-License-Identifier: MIT
#include "nooks/domain/DomainMemory.h"

#include "base/Mutex.h"

#include <bitset>
#include <cstring>

namespace nk {

namespace {

// Slots of the domain address space in use by this kernel process.
Mutex slots_mutex;
std::bitset<abi::max_domain_slots> slots_in_use NK_GUARDED_BY(slots_mutex);

Result<unsigned> claim_slot()
{
    MutexLocker lock(slots_mutex);
    for (unsigned slot = 0; slot < abi::max_domain_slots; ++slot) {
        if (!slots_in_use.test(slot)) {
            slots_in_use.set(slot);
            return slot;
        }
    }
    return make_error(ErrorCode::ResourceExhausted, "no free protection domain slot (at most {})", abi::max_domain_slots);
}

void release_slot(unsigned slot)
{
    MutexLocker lock(slots_mutex);
    slots_in_use.reset(slot);
}

} // namespace

Result<std::unique_ptr<DomainMemory>> DomainMemory::create(std::string const& name, DomainGeometry geometry)
{
    if (geometry.channels == 0 || geometry.channels > abi::max_channels)
        return make_error(ErrorCode::InvalidArgument, "domain: channels must be 1..{}", abi::max_channels);
    if (geometry.stack_size < 128 * 1024 || geometry.stack_size % abi::page_size != 0)
        return make_error(ErrorCode::InvalidArgument, "domain: stack size must be a page multiple of at least 128 KiB");
    if (geometry.heap_size < (1 << 20) || geometry.heap_size > (8ull << 30) || geometry.heap_size % abi::page_size != 0)
        return make_error(ErrorCode::InvalidArgument, "domain: heap size must be a page multiple between 1 MiB and 8 GiB");

    auto slot = TRY(claim_slot());
    auto memory = std::unique_ptr<DomainMemory>(new DomainMemory(slot, geometry));
    auto base = abi::slot_base(slot);
    auto kernel_area = SharedRegion::create(fmt::format("nooks-{}-kernel", name), base + abi::kernel_area_offset, abi::kernel_area_size);
    if (!kernel_area) {
        release_slot(slot);
        return std::unexpected(std::move(kernel_area.error()));
    }
    memory->m_kernel_area = std::move(*kernel_area);
    auto heap_offset = abi::domain_stacks_offset + geometry.channels * geometry.stack_size;
    auto domain_size = heap_offset + geometry.heap_size;
    auto domain_area = SharedRegion::create(fmt::format("nooks-{}-domain", name), base + abi::domain_area_offset, domain_size);
    if (!domain_area) {
        memory->m_kernel_area.reset();
        release_slot(slot);
        return std::unexpected(std::move(domain_area.error()));
    }
    memory->m_domain_area = std::move(*domain_area);
    memory->m_kernel_heap = KernelAreaHeap::create(memory->m_kernel_area->at<std::byte>(abi::kernel_scratch_offset), abi::kernel_scratch_size);

    auto& bootstrap = memory->bootstrap();
    bootstrap.magic = abi::bootstrap_magic;
    bootstrap.version = abi::layout_version;
    bootstrap.channel_count = geometry.channels;
    bootstrap.slot_base = base;
    bootstrap.kernel_area_size = abi::kernel_area_size;
    bootstrap.domain_area_size = domain_size;
    bootstrap.heap_offset = heap_offset;
    bootstrap.heap_size = geometry.heap_size;
    bootstrap.stacks_offset = abi::domain_stacks_offset;
    bootstrap.stack_size = geometry.stack_size;
    std::strncpy(bootstrap.module_name, name.c_str(), sizeof(bootstrap.module_name) - 1);
    return memory;
}

DomainMemory::~DomainMemory()
{
    m_kernel_heap.reset(); // blocks still held elsewhere become inert
    m_domain_area.reset();
    m_kernel_area.reset();
    release_slot(m_slot);
}

uint64_t DomainMemory::heap_base() const { return m_domain_area->address() + bootstrap().heap_offset; }

bool DomainMemory::in_heap(uint64_t address, uint64_t length) const
{
    auto base = heap_base();
    auto size = m_geometry.heap_size;
    return address >= base && length <= size && address - base <= size - length;
}

} // namespace nk
