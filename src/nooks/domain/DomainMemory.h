// SPDX-License-Identifier: MIT
#pragma once

// The shared memory of one protection domain, kernel side (see abi/Layout.h):
// a slot of the address space reserved for the domain, its kernel area and its
// domain area, and the checks wrappers make on addresses a driver passes.
//
// Thread-safety: the accessors are const after create(); the kernel-area heap
// is thread-safe.

#include "base/Error.h"
#include "nooks/domain/KernelAreaHeap.h"
#include "nooks/domain/Layout.h"
#include "nooks/domain/SharedRegion.h"

#include <memory>

namespace nk {

struct DomainGeometry {
    unsigned channels { 8 };
    uint64_t stack_size { 512 * 1024 };
    uint64_t heap_size { 64ull << 20 };
};

class DomainMemory {
public:
    static Result<std::unique_ptr<DomainMemory>> create(std::string const& name, DomainGeometry geometry);
    ~DomainMemory();
    DomainMemory(DomainMemory const&) = delete;
    DomainMemory& operator=(DomainMemory const&) = delete;

    unsigned slot() const { return m_slot; }
    DomainGeometry const& geometry() const { return m_geometry; }
    SharedRegion& kernel_area() const { return *m_kernel_area; }
    SharedRegion& domain_area() const { return *m_domain_area; }

    abi::Bootstrap& bootstrap() const { return *m_kernel_area->at<abi::Bootstrap>(abi::bootstrap_offset); }
    abi::KernelChannel& kernel_channel(unsigned index) const
    {
        return *m_kernel_area->at<abi::KernelChannel>(abi::kernel_channels_offset + index * abi::channel_size);
    }
    abi::DomainHeader& header() const { return *m_domain_area->at<abi::DomainHeader>(abi::domain_header_offset); }
    abi::DomainChannel& domain_channel(unsigned index) const
    {
        return *m_domain_area->at<abi::DomainChannel>(abi::domain_channels_offset + index * abi::channel_size);
    }

    // True if [address, address+length) lies in the domain's heap: memory the
    // driver owns and may hand to the kernel (DMA buffers).
    bool in_heap(uint64_t address, uint64_t length) const;
    // True if the range is anywhere in the domain area (the driver may write it).
    bool in_domain_area(uint64_t address, uint64_t length) const { return m_domain_area->contains(address, length); }
    uint64_t heap_base() const;

    // Kernel objects the driver may read but not write, for longer than one
    // call: a block of the kernel area's heap, freed when the block goes (or
    // with the domain, whichever comes first).
    Result<ReadonlyBlock> allocate_readonly(size_t size, size_t alignment = 64) { return m_kernel_heap->allocate(size, alignment); }
    KernelAreaHeap const& kernel_heap() const { return *m_kernel_heap; }

private:
    DomainMemory(unsigned slot, DomainGeometry geometry)
        : m_slot(slot)
        , m_geometry(geometry)
    {
    }

    unsigned m_slot;
    DomainGeometry m_geometry;
    std::unique_ptr<SharedRegion> m_kernel_area;
    std::unique_ptr<SharedRegion> m_domain_area;
    std::shared_ptr<KernelAreaHeap> m_kernel_heap;
};

} // namespace nk
