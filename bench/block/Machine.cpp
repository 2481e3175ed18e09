// SPDX-License-Identifier: MIT
#include "Machine.h"

#include "Fio.h"
#include "base/Units.h"

#include <algorithm>
#include <ctime>
#include <fstream>
#include <sched.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

namespace nk::bench {

// The value of the first "<key> : value" line of a /proc file such as cpuinfo.
static std::string proc_value(char const* path, std::string const& key)
{
    std::ifstream file(path);
    std::string line;
    while (std::getline(file, line)) {
        if (line.rfind(key, 0) != 0)
            continue;
        auto colon = line.find(':');
        if (colon == std::string::npos)
            continue;
        auto value = line.substr(colon + 1);
        auto first = value.find_first_not_of(" \t");
        return first == std::string::npos ? std::string() : value.substr(first);
    }
    return {};
}

MachineInfo describe_machine()
{
    MachineInfo info;
    auto now = std::time(nullptr);
    std::tm utc {};
    ::gmtime_r(&now, &utc);
    char date[64];
    std::strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", &utc);
    info.date = date;

    info.cpu_model = proc_value("/proc/cpuinfo", "model name");
    if (info.cpu_model.empty())
        info.cpu_model = "unknown";
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(0, sizeof(set), &set) == 0)
        info.cpus = static_cast<unsigned>(CPU_COUNT(&set));

    // "MemTotal:       24683916 kB"
    auto memory = proc_value("/proc/meminfo", "MemTotal");
    info.memory = memory.empty() ? "unknown" : format_size(std::stoull(memory) * 1024);

    utsname name {};
    if (::uname(&name) == 0)
        info.kernel = fmt::format("{} {} {}", name.sysname, name.release, name.machine);
    info.fio_version = fio_version();
    std::ifstream("/proc/loadavg") >> info.load_average;
    return info;
}

static double seconds(timeval const& time) { return static_cast<double>(time.tv_sec) + static_cast<double>(time.tv_usec) / 1e6; }

CpuSnapshot cpu_snapshot()
{
    CpuSnapshot snapshot;
    // "cpu  user nice system idle iowait irq softirq steal ..." in clock ticks.
    std::ifstream stat("/proc/stat");
    std::string label;
    double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
    stat >> label >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
    auto tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
    snapshot.machine_busy_s = (user + nice + system + irq + softirq) / tick;
    snapshot.steal_s = steal / tick;

    rusage self {}, children {};
    ::getrusage(RUSAGE_SELF, &self);
    ::getrusage(RUSAGE_CHILDREN, &children);
    snapshot.own_s = seconds(self.ru_utime) + seconds(self.ru_stime) + seconds(children.ru_utime) + seconds(children.ru_stime);
    return snapshot;
}

OtherLoad other_load(CpuSnapshot const& start, CpuSnapshot const& end, double wall_seconds)
{
    if (wall_seconds <= 0)
        return {};
    auto other = (end.machine_busy_s - start.machine_busy_s) - (end.own_s - start.own_s);
    return { .other_cpus = std::max(0.0, other) / wall_seconds, .steal_cpus = (end.steal_s - start.steal_s) / wall_seconds };
}

} // namespace nk::bench
