// SPDX-License-Identifier: MIT
#pragma once

// A device's register window, as a driver maps it (nk_iomem).
//
// Accesses are checked here (alignment, range) before they reach the device,
// so a device model only ever sees well-formed accesses. Out-of-range reads
// return all-ones and writes are dropped, like a PCI master abort.

#include <nooks/kernel.h>

#include <atomic>
#include <cstdint>

namespace nk {

class BusDevice;

class IoWindow {
public:
    IoWindow(BusDevice& device, uint32_t index, uint32_t size)
        : m_device(device)
        , m_index(index)
        , m_size(size)
    {
    }

    BusDevice& device() const { return m_device; }
    uint32_t index() const { return m_index; }
    uint32_t size() const { return m_size; }

    // Claimed by a driver between nk_iomap and nk_iounmap.
    bool claim() { return !m_mapped.exchange(true); }
    void release() { m_mapped.store(false); }
    bool mapped() const { return m_mapped.load(); }

    // True if an access of `width` bytes at `offset` is aligned and inside the window.
    bool valid_access(uint32_t offset, unsigned width) const
    {
        return offset % width == 0 && offset < m_size && width <= m_size - offset;
    }

    uint64_t read(uint32_t offset, unsigned width);
    void write(uint32_t offset, unsigned width, uint64_t value);

    nk_iomem* handle() { return reinterpret_cast<nk_iomem*>(this); }
    static IoWindow& from_handle(nk_iomem* window) { return *reinterpret_cast<IoWindow*>(window); }

private:
    BusDevice& m_device;
    uint32_t m_index;
    uint32_t m_size;
    std::atomic<bool> m_mapped { false };
};

} // namespace nk
