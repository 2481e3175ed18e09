// SPDX-License-Identifier: MIT
#pragma once

// The NIC kind of device: an NKNIC Ethernet controller (<hw/nknic.h>) on a
// wire with peer hosts, and where the machine's applications meet it (the
// net class's TAP frontend reads `namespace`, `interface` and `address`).
//
//   [[nic]]
//   name = "nic0"                    # default: nic<N>
//   driver = "nknet.so"              # default
//   mac = "02:6e:6b:00:00:01"        # default: 02:6e:6b:00:00:<N+1>
//   link_delay_ms = 500              # link negotiation after a reset, 0..10000
//   namespace = "nooks"              # the network namespace applications run in
//                                    # (`nooks exec -- CMD`); made if missing
//   interface = "nk0"                # the interface there (a TAP); default nk<N>
//   address = "10.77.0.1/24"         # its IPv4 address; default 10.77.<N>.1/24; "" for none
//   peers = "10.77.0.2/24,10.77.0.3/24"  # peer hosts on the wire, comma-separated ("": none);
//                                    # default 10.77.<N>.2/24 and .3/24
//   peer_namespace = "nooks-peer"    # peer i lives in namespace <peer_namespace><i>;
//                                    # default nooks-peer (nic0), nooks-<name>-peer (others)
//
// Needs root (network namespaces and TAPs): without it, creating the device
// fails with a message saying so.

#include "base/net/Ipv4Prefix.h"
#include "base/net/MacAddress.h"
#include "devices/DeviceKind.h"

#include <chrono>

namespace nk {

struct NicSettings final : DeviceSettings {
    MacAddress mac;
    std::chrono::milliseconds link_delay { 500 };
    std::string net_namespace;
    std::string interface;
    std::optional<Ipv4Prefix> address;
    std::vector<Ipv4Prefix> peers;
    std::string peer_namespace;

    std::string peer_namespace_of(size_t index) const { return peer_namespace + std::to_string(index); }
    std::string describe() const override;
    std::vector<std::string> exclusive_resources() const override;
};

class NicKind final : public DeviceKind {
public:
    std::string_view table() const override { return "nic"; }
    std::string_view driver_class() const override { return "net"; }
    std::string_view default_driver() const override { return "nknet.so"; }
    unsigned default_count() const override { return 1; }
    Result<std::shared_ptr<DeviceSettings const>> parse(std::string const& name, ConfigTable const& table) const override;
    Result<std::unique_ptr<HardwareDevice>> create(std::string const& name, DeviceSettings const& settings) const override;
};

} // namespace nk
