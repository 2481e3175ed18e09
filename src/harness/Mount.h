// SPDX-License-Identifier: MIT
#pragma once

// A file system mounted for the lifetime of the object (mount(2)/umount2(2)).

#include "base/Error.h"

#include <memory>
#include <string>

namespace nk::harness {

class Mount {
public:
    static Result<std::unique_ptr<Mount>> mount(std::string const& source, std::string const& target,
        std::string const& type, std::string const& options = "");
    ~Mount();
    Mount(Mount const&) = delete;
    Mount& operator=(Mount const&) = delete;

    // Unmounts; retries while busy, then detaches lazily as a last resort.
    Result<void> unmount();
    std::string const& target() const { return m_target; }

private:
    explicit Mount(std::string target)
        : m_target(std::move(target))
    {
    }
    std::string m_target;
    bool m_mounted { true };
};

// Writes dirty data and drops the page cache, so the next read hits the device.
Result<void> drop_caches();

} // namespace nk::harness
