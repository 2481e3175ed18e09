// SPDX-License-Identifier: MIT
#pragma once

// A memory region backed by a memfd, mapped at a fixed address, so another
// process can map the same pages at the same address (pointers mean the same
// thing on both sides). The kernel creates it; a domain maps it from the fd.

#include "base/Error.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace nk {

class SharedRegion {
public:
    // Creates `size` bytes (sparse: untouched pages cost nothing) at `address`.
    // FailedPrecondition if the address range is already in use.
    static Result<std::unique_ptr<SharedRegion>> create(std::string const& name, uint64_t address, size_t size);
    ~SharedRegion();
    SharedRegion(SharedRegion const&) = delete;
    SharedRegion& operator=(SharedRegion const&) = delete;

    int fd() const { return m_fd; }
    std::byte* base() const { return m_base; }
    uint64_t address() const { return reinterpret_cast<uint64_t>(m_base); }
    size_t size() const { return m_size; }
    bool contains(uint64_t address, uint64_t length) const
    {
        auto start = this->address();
        return address >= start && length <= m_size && address - start <= m_size - length;
    }
    template<typename T>
    T* at(uint64_t offset) const
    {
        return reinterpret_cast<T*>(m_base + offset);
    }

private:
    SharedRegion(int fd, std::byte* base, size_t size)
        : m_fd(fd)
        , m_base(base)
        , m_size(size)
    {
    }
    int m_fd;
    std::byte* m_base;
    size_t m_size;
};

// Maps an existing region's fd at `address` (the domain side). Read-only or
// read-write. Fails if anything else is mapped there.
Result<void*> map_shared_fd(int fd, uint64_t address, size_t size, bool writable);

} // namespace nk
