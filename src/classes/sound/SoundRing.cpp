// SPDX-License-Identifier: MIT
#include "classes/sound/SoundRing.h"

#include "base/Log.h"

#include <cstdlib>
#include <cstring>

namespace nk {

namespace {

constexpr size_t page = 4096;

size_t rounded(size_t bytes) { return (bytes + page - 1) & ~(page - 1); }

} // namespace

Result<std::unique_ptr<SoundRing>> SoundRing::create(Iommu& iommu, uint32_t bytes, DmaDirection direction)
{
    if (bytes == 0)
        return make_error(ErrorCode::InvalidArgument, "sound ring: size 0");
    auto* memory = static_cast<std::byte*>(std::aligned_alloc(page, rounded(bytes)));
    if (memory == nullptr)
        return make_error(ErrorCode::ResourceExhausted, "sound ring: cannot allocate {} bytes", bytes);
    std::memset(memory, 0, rounded(bytes));
    auto iova = iommu.map(memory, bytes, direction);
    if (!iova) {
        std::free(memory);
        return std::unexpected(iova.error());
    }
    return std::unique_ptr<SoundRing>(new SoundRing(iommu, memory, bytes, *iova));
}

SoundRing::~SoundRing()
{
    // The card may still be moving samples: unmapping waits for its
    // transfers, and after it the card can reach the memory no more.
    if (auto unmapped = m_iommu.unmap(m_iova); !unmapped)
        log::get("sound")->error("sound ring: {}", unmapped.error());
    std::free(m_memory);
}

void SoundRing::write(uint32_t offset, std::span<std::byte const> data)
{
    if (data.empty())
        return; // an empty span's data() may be null: not for memcpy
    offset %= m_bytes;
    auto first = std::min<size_t>(data.size(), m_bytes - offset);
    std::memcpy(m_memory + offset, data.data(), first);
    if (first < data.size())
        std::memcpy(m_memory, data.data() + first, data.size() - first);
}

void SoundRing::read(uint32_t offset, std::span<std::byte> out) const
{
    if (out.empty())
        return;
    offset %= m_bytes;
    auto first = std::min<size_t>(out.size(), m_bytes - offset);
    std::memcpy(out.data(), m_memory + offset, first);
    if (first < out.size())
        std::memcpy(out.data() + first, m_memory, out.size() - first);
}

void SoundRing::fill(uint32_t offset, uint32_t length, std::byte value)
{
    offset %= m_bytes;
    length = std::min(length, m_bytes);
    auto first = std::min(length, m_bytes - offset);
    std::memset(m_memory + offset, static_cast<int>(value), first);
    if (first < length)
        std::memset(m_memory, static_cast<int>(value), length - first);
}

} // namespace nk
