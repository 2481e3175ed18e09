// SPDX-License-Identifier: MIT
#include "CpuTime.h"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <unistd.h>
#include <vector>

namespace nk::bench {

namespace {

struct ProcessStat {
    pid_t ppid { 0 };
    uint64_t ticks { 0 }; // utime + stime, in clock ticks
};

// Parses /proc/<pid>/stat. The command name (field 2) may hold spaces and
// parentheses, so fields are counted from the last ')'.
bool read_stat(pid_t pid, ProcessStat& stat)
{
    std::ifstream file(fmt::format("/proc/{}/stat", pid));
    std::string line;
    if (!std::getline(file, line))
        return false;
    auto close = line.rfind(')');
    if (close == std::string::npos)
        return false;
    std::istringstream fields(line.substr(close + 1));
    // After the name: state(3) ppid(4) pgrp(5) session(6) tty_nr(7) tpgid(8)
    // flags(9) minflt(10) cminflt(11) majflt(12) cmajflt(13) utime(14) stime(15).
    std::vector<std::string> values;
    std::string value;
    while (values.size() < 13 && fields >> value)
        values.push_back(value);
    if (values.size() < 13)
        return false;
    stat.ppid = static_cast<pid_t>(std::stol(values[1]));
    stat.ticks = std::stoull(values[11]) + std::stoull(values[12]);
    return true;
}

} // namespace

Result<double> process_tree_cpu_seconds(pid_t pid)
{
    ProcessStat root;
    if (!read_stat(pid, root))
        return make_error(ErrorCode::NotFound, "process {} is gone (cannot read /proc/{}/stat)", pid, pid);

    // One pass over /proc gives every process's parent; walk down from `pid`.
    std::map<pid_t, ProcessStat> processes;
    std::error_code error;
    for (auto const& entry : std::filesystem::directory_iterator("/proc", error)) {
        auto name = entry.path().filename().string();
        pid_t other = 0;
        auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), other);
        if (ec != std::errc() || end != name.data() + name.size() || other == pid)
            continue;
        ProcessStat stat;
        if (read_stat(other, stat)) // it may have exited meanwhile
            processes[other] = stat;
    }
    uint64_t ticks = root.ticks;
    std::vector<pid_t> parents { pid };
    while (!parents.empty()) {
        auto parent = parents.back();
        parents.pop_back();
        for (auto const& [child, stat] : processes) {
            if (stat.ppid == parent) {
                ticks += stat.ticks;
                parents.push_back(child);
            }
        }
    }
    return static_cast<double>(ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

} // namespace nk::bench
