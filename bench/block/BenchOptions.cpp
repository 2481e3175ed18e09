// SPDX-License-Identifier: MIT
#include "BenchOptions.h"

#include "Fio.h"
#include "base/Units.h"

#include <algorithm>
#include <cstdio>
#include <set>

namespace nk::bench {

char const* target_id(Target target)
{
    switch (target) {
    case Target::FuseFile: return "fuse";
    case Target::Ext4: return "ext4";
    }
    return "?";
}

char const* target_title(Target target)
{
    switch (target) {
    case Target::FuseFile: return "FUSE disk file";
    case Target::Ext4: return "ext4 on a loop device";
    }
    return "?";
}

Result<Target> parse_target(std::string_view text)
{
    if (text == "fuse")
        return Target::FuseFile;
    if (text == "ext4")
        return Target::Ext4;
    return make_error(ErrorCode::InvalidArgument, "bad target '{}': expected fuse or ext4", text);
}

std::string quoted_arguments(int argc, char** argv)
{
    std::string line;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        bool plain = !arg.empty() && arg.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=.,/:+@%") == std::string::npos;
        line += (line.empty() ? "" : " ") + (plain ? arg : "'" + arg + "'");
    }
    return line;
}

int report_failure(char const* program, std::string const& message)
{
    std::fprintf(stderr, "%s: error: %s\n", program, message.c_str());
    return 1;
}

std::vector<std::string> split_list(std::string const& text)
{
    std::vector<std::string> items;
    size_t start = 0;
    while (start <= text.size()) {
        auto end = text.find(',', start);
        auto item = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
        auto first = item.find_first_not_of(" \t");
        auto last = item.find_last_not_of(" \t");
        if (first != std::string::npos)
            items.push_back(item.substr(first, last - first + 1));
        if (end == std::string::npos)
            break;
        start = end + 1;
    }
    return items;
}

template<typename T>
static bool has_duplicates(std::vector<T> const& items)
{
    return std::set<T>(items.begin(), items.end()).size() != items.size();
}

Result<void> validate(BenchOptions const& options)
{
    if (options.modes.empty())
        return make_error(ErrorCode::InvalidArgument, "--modes: no mode given");
    for (auto const& mode : options.modes) {
        // Only the names are checked here: whether a mode works is for `nooks run` to say.
        if (mode != "native" && mode != "nooks" && mode != "shadow")
            return make_error(ErrorCode::InvalidArgument, "--modes: bad mode '{}': expected native, nooks or shadow", mode);
    }
    if (has_duplicates(options.modes))
        return make_error(ErrorCode::InvalidArgument, "--modes: a mode is listed twice");
    if (options.targets.empty())
        return make_error(ErrorCode::InvalidArgument, "--targets: no target given");
    if (has_duplicates(options.targets))
        return make_error(ErrorCode::InvalidArgument, "--targets: a target is listed twice");
    for (auto const& id : options.workloads) {
        if (find_workload(id) == nullptr)
            return make_error(ErrorCode::InvalidArgument, "--workloads: unknown workload '{}' (known: {})", id, workload_ids());
    }
    if (has_duplicates(options.workloads))
        return make_error(ErrorCode::InvalidArgument, "--workloads: a workload is listed twice");
    if (options.repetitions == 0 || options.runtime_s == 0)
        return make_error(ErrorCode::InvalidArgument, "--repetitions and --runtime must be at least 1");
    if (options.size < (1ull << 20) || options.size % (1ull << 20) != 0)
        return make_error(ErrorCode::InvalidArgument, "--size must be a whole number of MiB (at least 1 MiB)");
    // ext4 needs room for its metadata and journal next to the test file.
    if (options.disk_size < 2 * options.size)
        return make_error(ErrorCode::InvalidArgument, "--disk-size ({}) must be at least twice --size ({})",
            format_size(options.disk_size), format_size(options.size));
    bool synchronous = options.ioengine == "psync" || options.ioengine == "sync" || options.ioengine == "pvsync";
    if (synchronous && options.iodepth != 1)
        return make_error(ErrorCode::InvalidArgument, "--iodepth {} has no effect with the synchronous engine {}; use libaio or io_uring",
            options.iodepth, options.ioengine);
    if (options.iodepth == 0 || options.numjobs == 0)
        return make_error(ErrorCode::InvalidArgument, "--iodepth and --numjobs must be at least 1");
    return {};
}

} // namespace nk::bench
