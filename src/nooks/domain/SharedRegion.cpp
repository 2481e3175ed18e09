// SPDX-License-Identifier: MIT
#include "nooks/domain/SharedRegion.h"

#include <sys/mman.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#    define MAP_FIXED_NOREPLACE 0x100000
#endif

namespace nk {

Result<void*> map_shared_fd(int fd, uint64_t address, size_t size, bool writable)
{
    auto protection = PROT_READ | (writable ? PROT_WRITE : 0);
    void* mapped = ::mmap(reinterpret_cast<void*>(address), size, protection, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
    if (mapped == MAP_FAILED)
        return errno_error(fmt::format("map shared region at {:#x}", address));
    if (reinterpret_cast<uint64_t>(mapped) != address) {
        // Kernels before 4.17 ignore MAP_FIXED_NOREPLACE and treat it as a hint.
        ::munmap(mapped, size);
        return make_error(ErrorCode::FailedPrecondition, "shared region: address {:#x} is in use", address);
    }
    return mapped;
}

Result<std::unique_ptr<SharedRegion>> SharedRegion::create(std::string const& name, uint64_t address, size_t size)
{
    int fd = ::memfd_create(name.c_str(), MFD_CLOEXEC);
    if (fd < 0)
        return errno_error(fmt::format("memfd_create {}", name));
    if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
        auto error = Error::from_errno(fmt::format("size {}", name));
        ::close(fd);
        return std::unexpected(std::move(error));
    }
    auto mapped = map_shared_fd(fd, address, size, true);
    if (!mapped) {
        ::close(fd);
        return std::unexpected(std::move(mapped.error()));
    }
    return std::unique_ptr<SharedRegion>(new SharedRegion(fd, static_cast<std::byte*>(*mapped), size));
}

SharedRegion::~SharedRegion()
{
    ::munmap(m_base, m_size);
    ::close(m_fd);
}

} // namespace nk
