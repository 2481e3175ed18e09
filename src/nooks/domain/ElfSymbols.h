// SPDX-License-Identifier: MIT
#pragma once

// Symbols of a driver file, read by the kernel (never by the domain) to name
// the function a faulting instruction was in: "nkdisk_queue_rq+0x1c".

#include "base/Error.h"

#include <cstdint>
#include <string>
#include <vector>

namespace nk {

class ElfSymbols {
public:
    // Reads the function symbols of `path` (.symtab, else .dynsym).
    static Result<ElfSymbols> load(std::string const& path);

    // "name+0xoffset" for an offset from the file's load address, or empty.
    std::string describe(uint64_t offset) const;

    struct Function {
        uint64_t start;
        uint64_t size;
        std::string name;
    };
    std::vector<Function> const& functions() const { return m_functions; }

private:
    std::vector<Function> m_functions; // sorted by start
};

} // namespace nk
