// SPDX-License-Identifier: MIT
#pragma once

// The link-level multicast addresses an interface listens to (what `ip
// maddress` shows as "link"), from /proc/net/dev_mcast of its namespace.
// Linux sends no netlink event when the list changes, so whoever mirrors it
// (a NIC's receive filter) reads it again: on a link event, or periodically.
//
// Free functions; any thread.

#include "base/Error.h"
#include "base/net/MacAddress.h"

#include <string>
#include <string_view>
#include <vector>

namespace nk {

class NetNamespace;

// One line of dev_mcast: "ifindex name users global address".
struct MulticastEntry {
    int ifindex { 0 };
    std::string interface;
    unsigned users { 0 };
    bool global { false };
    MacAddress address;
};

// Parses the text of a dev_mcast file. InvalidArgument naming the line that
// does not parse.
Result<std::vector<MulticastEntry>> parse_dev_mcast(std::string_view text);

// The multicast addresses of `interface` in `ns`, in the file's order, read by
// a thread inside the namespace from /proc/thread-self/net/dev_mcast. Empty
// if the interface has none (or does not exist).
Result<std::vector<MacAddress>> multicast_addresses(NetNamespace const& ns, std::string const& interface);

} // namespace nk
