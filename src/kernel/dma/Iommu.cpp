// SPDX-License-Identifier: MIT
#include "kernel/dma/Iommu.h"

#include <thread>

namespace nk {

static constexpr uint64_t page_size = 4096;

char const* dma_direction_name(DmaDirection direction)
{
    switch (direction) {
    case DmaDirection::ToDevice: return "to-device";
    case DmaDirection::FromDevice: return "from-device";
    case DmaDirection::Bidirectional: return "bidirectional";
    }
    return "?";
}

Iommu::~Iommu() = default;

Result<uint64_t> Iommu::map(void* cpu, size_t length, DmaDirection direction)
{
    if (cpu == nullptr || length == 0)
        return make_error(ErrorCode::InvalidArgument, "iommu map: empty range");
    ExclusiveLocker lock(m_mutex);
    auto iova = m_next_iova;
    // Keep the low bits of the CPU address so sub-page offsets survive, and leave
    // an unmapped guard page between mappings so an overrun hits nothing.
    auto offset = reinterpret_cast<uintptr_t>(cpu) % page_size;
    iova += offset;
    auto span = ((offset + length + page_size - 1) / page_size + 1) * page_size;
    m_next_iova += span;
    auto mapping = std::make_unique<Mapping>();
    mapping->iova = iova;
    mapping->length = length;
    mapping->cpu = static_cast<std::byte*>(cpu);
    mapping->direction = direction;
    m_mappings.emplace(iova, std::move(mapping));
    return iova;
}

Result<void> Iommu::unmap(uint64_t iova)
{
    std::unique_ptr<Mapping> mapping;
    {
        ExclusiveLocker lock(m_mutex);
        auto it = m_mappings.find(iova);
        if (it == m_mappings.end())
            return make_error(ErrorCode::NotFound, "iommu unmap: no mapping at {:#x}", iova);
        mapping = std::move(it->second);
        m_mappings.erase(it);
    }
    // No new pins can find it now; wait for the transfers that already have it.
    while (mapping->pins.load(std::memory_order_acquire) != 0)
        std::this_thread::yield();
    return {};
}

Result<DmaPin> Iommu::pin(uint64_t iova, size_t length, DmaDirection access)
{
    SharedLocker lock(m_mutex);
    auto it = m_mappings.upper_bound(iova);
    if (it == m_mappings.begin())
        return make_error(ErrorCode::InvalidArgument, "dma: address {:#x} is not mapped", iova);
    --it;
    auto& mapping = *it->second;
    auto offset = iova - mapping.iova;
    if (offset >= mapping.length || length > mapping.length - offset)
        return make_error(ErrorCode::InvalidArgument, "dma: range {:#x}+{} is outside the mapping {:#x}+{}", iova, length,
            mapping.iova, mapping.length);
    if ((static_cast<unsigned>(mapping.direction) & static_cast<unsigned>(access)) != static_cast<unsigned>(access))
        return make_error(ErrorCode::PermissionDenied, "dma: {} access to a {} mapping at {:#x}", dma_direction_name(access),
            dma_direction_name(mapping.direction), iova);
    mapping.pins.fetch_add(1, std::memory_order_acq_rel);
    return DmaPin(&mapping.pins, std::span(mapping.cpu + offset, length));
}

size_t Iommu::mapping_count() const
{
    SharedLocker lock(m_mutex);
    return m_mappings.size();
}

DmaPin::DmaPin(DmaPin&& other) noexcept
    : m_pins(std::exchange(other.m_pins, nullptr))
    , m_bytes(other.m_bytes)
{
}

DmaPin& DmaPin::operator=(DmaPin&& other) noexcept
{
    if (this != &other) {
        release();
        m_pins = std::exchange(other.m_pins, nullptr);
        m_bytes = other.m_bytes;
    }
    return *this;
}

DmaPin::~DmaPin() { release(); }

void DmaPin::release()
{
    if (m_pins != nullptr)
        m_pins->fetch_sub(1, std::memory_order_acq_rel);
    m_pins = nullptr;
}

} // namespace nk
