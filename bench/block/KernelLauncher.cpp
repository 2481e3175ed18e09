// SPDX-License-Identifier: MIT
#include "KernelLauncher.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace nk::bench {

std::string kernel_error_line(std::string const& log_path)
{
    std::ifstream log(log_path);
    std::string line;
    std::string found;
    static constexpr std::string_view marker = "error: ";
    while (std::getline(log, line)) {
        if (auto at = line.find(marker); at != std::string::npos)
            found = line.substr(at + marker.size());
    }
    return found;
}

} // namespace nk::bench
