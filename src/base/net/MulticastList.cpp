// SPDX-License-Identifier: MIT
#include "base/net/MulticastList.h"

#include "base/net/NetNamespace.h"

#include <fstream>
#include <sstream>

namespace nk {

Result<std::vector<MulticastEntry>> parse_dev_mcast(std::string_view text)
{
    std::vector<MulticastEntry> entries;
    std::istringstream lines { std::string(text) };
    std::string line;
    for (unsigned number = 1; std::getline(lines, line); ++number) {
        if (line.find_first_not_of(" \t") == std::string::npos)
            continue;
        std::istringstream fields(line);
        MulticastEntry entry;
        int global = 0;
        std::string hex;
        if (!(fields >> entry.ifindex >> entry.interface >> entry.users >> global >> hex) || hex.size() != 2 * MacAddress::size)
            return make_error(ErrorCode::InvalidArgument, "dev_mcast line {} ('{}'): expected 'ifindex name users global address'", number,
                line);
        std::string colons;
        for (size_t i = 0; i < hex.size(); i += 2)
            colons += (i > 0 ? ":" : "") + hex.substr(i, 2);
        auto address = MacAddress::parse(colons);
        if (!address)
            return make_error(ErrorCode::InvalidArgument, "dev_mcast line {}: {}", number, address.error().message());
        entry.global = global != 0;
        entry.address = *address;
        entries.push_back(std::move(entry));
    }
    return entries;
}

Result<std::vector<MacAddress>> multicast_addresses(NetNamespace const& ns, std::string const& interface)
{
    auto text = TRY(ns.call_in([&]() -> Result<std::string> {
        // thread-self: /proc/self/net would be the namespace of the process's
        // main thread, not this one's.
        std::ifstream file("/proc/thread-self/net/dev_mcast");
        if (!file)
            return make_error(ErrorCode::NotFound, "network namespace {}: cannot read /proc/thread-self/net/dev_mcast", ns.name());
        std::ostringstream content;
        content << file.rdbuf();
        return content.str();
    }));
    auto entries = parse_dev_mcast(text);
    if (!entries)
        return std::unexpected(std::move(entries).error().with_context(fmt::format("network namespace {}", ns.name())));
    std::vector<MacAddress> addresses;
    for (auto const& entry : *entries) {
        if (entry.interface == interface)
            addresses.push_back(entry.address);
    }
    return addresses;
}

} // namespace nk
