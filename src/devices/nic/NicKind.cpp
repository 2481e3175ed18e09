// SPDX-License-Identifier: MIT
#include "devices/nic/NicKind.h"

#include "base/net/NetNamespace.h"
#include "base/net/Tap.h"
#include "devices/nic/NicDevice.h"
#include "devices/nic/Wire.h"

#include <fmt/format.h>

#include <charconv>
#include <unistd.h>

namespace nk {

namespace {

// N of "nicN", or 0.
unsigned index_of(std::string const& name)
{
    unsigned index = 0;
    if (name.size() > 3 && name.starts_with("nic")) {
        auto const* end = name.data() + name.size();
        if (auto [ptr, ec] = std::from_chars(name.data() + 3, end, index); ec != std::errc() || ptr != end || index > 250)
            index = 0;
    }
    return index;
}

std::vector<std::string> split(std::string const& text)
{
    std::vector<std::string> parts;
    size_t start = 0;
    while (start <= text.size()) {
        auto comma = text.find(',', start);
        auto part = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        auto first = part.find_first_not_of(" \t");
        auto last = part.find_last_not_of(" \t");
        if (first != std::string::npos)
            parts.push_back(part.substr(first, last - first + 1));
        if (comma == std::string::npos)
            break;
        start = comma + 1;
    }
    return parts;
}

} // namespace

std::string NicSettings::describe() const
{
    std::string peer_list;
    for (auto const& peer : peers)
        peer_list += (peer_list.empty() ? "" : ", ") + peer.to_string();
    return fmt::format("mac {}, {} in namespace {} ({}), peers: {}", mac.to_string(), interface, net_namespace,
        address ? address->to_string() : "no address", peer_list.empty() ? "none" : peer_list);
}

std::vector<std::string> NicSettings::exclusive_resources() const
{
    std::vector<std::string> resources { fmt::format("interface {} in namespace {}", interface, net_namespace) };
    for (size_t i = 0; i < peers.size(); ++i)
        resources.push_back(fmt::format("namespace {}", peer_namespace_of(i)));
    return resources;
}

Result<std::shared_ptr<DeviceSettings const>> NicKind::parse(std::string const& name, ConfigTable const& table) const
{
    TRY(table.allow_only({ "mac", "link_delay_ms", "namespace", "interface", "address", "peers", "peer_namespace" }));
    auto settings = std::make_shared<NicSettings>();
    auto index = index_of(name);
    auto mac_text = TRY(table.string("mac")).value_or(fmt::format("02:6e:6b:00:00:{:02x}", index + 1));
    auto mac = MacAddress::parse(mac_text);
    if (!mac)
        return std::unexpected(table.error("mac", fmt::format("'{}' is not a MAC address (aa:bb:cc:dd:ee:ff)", mac_text)));
    if (mac->is_multicast() || mac->is_zero())
        return std::unexpected(table.error("mac", fmt::format("{} is not a unicast station address", mac_text)));
    settings->mac = *mac;
    settings->link_delay = std::chrono::milliseconds(TRY(table.integer("link_delay_ms", 0, 10'000)).value_or(500));
    settings->net_namespace = TRY(table.string("namespace")).value_or("nooks");
    if (auto valid = NetNamespace::check_name(settings->net_namespace); !valid)
        return std::unexpected(table.error("namespace", valid.error().message()));
    settings->interface = TRY(table.string("interface")).value_or(fmt::format("nk{}", index));
    if (settings->interface.empty() || settings->interface.size() > Tap::max_name
        || settings->interface.find_first_of("/ \t:") != std::string::npos)
        return std::unexpected(table.error("interface", fmt::format("'{}' is not an interface name (1..{} characters, no '/', ':' or spaces)",
                                                            settings->interface, Tap::max_name)));
    auto address_text = TRY(table.string("address")).value_or(fmt::format("10.77.{}.1/24", index));
    if (!address_text.empty()) {
        auto address = Ipv4Prefix::parse(address_text);
        if (!address)
            return std::unexpected(table.error("address", fmt::format("'{}' is not an IPv4 address with a prefix length (10.77.0.1/24)", address_text)));
        settings->address = *address;
    }
    auto peers_text = TRY(table.string("peers")).value_or(fmt::format("10.77.{0}.2/24,10.77.{0}.3/24", index));
    for (auto const& peer : split(peers_text)) {
        auto address = Ipv4Prefix::parse(peer);
        if (!address)
            return std::unexpected(table.error("peers", fmt::format("'{}' is not an IPv4 address with a prefix length", peer)));
        settings->peers.push_back(*address);
    }
    settings->peer_namespace = TRY(table.string("peer_namespace")).value_or(index == 0 && name == "nic0" ? "nooks-peer" : fmt::format("nooks-{}-peer", name));
    for (size_t i = 0; i < settings->peers.size(); ++i) {
        if (auto valid = NetNamespace::check_name(settings->peer_namespace_of(i)); !valid)
            return std::unexpected(table.error("peer_namespace", valid.error().message()));
    }
    return settings;
}

Result<std::unique_ptr<HardwareDevice>> NicKind::create(std::string const& name, DeviceSettings const& generic) const
{
    auto const& settings = static_cast<NicSettings const&>(generic);
    if (geteuid() != 0)
        return make_error(ErrorCode::PermissionDenied, "{}: a NIC needs root (its peers are network namespaces with TAPs); run as root, "
                                                       "or leave the NIC out of the machine with `nic = []`", name);
    std::vector<PeerHostOptions> peers;
    for (size_t i = 0; i < settings.peers.size(); ++i)
        peers.push_back({ .name = fmt::format("peer{}", i), .namespace_name = settings.peer_namespace_of(i), .address = settings.peers[i] });
    auto wire = TRY(Wire::create(name, std::move(peers)));
    auto nic = std::make_unique<NicDevice>(name, settings.mac.octets(), wire->segment(), settings.link_delay);
    nic->keep_wire(std::move(wire));
    return nic;
}

} // namespace nk
