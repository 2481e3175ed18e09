// SPDX-License-Identifier: MIT
#include "system/Config.h"

#include "devices/DeviceKind.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <toml++/toml.h>

namespace nk {

char const* mode_name(Mode mode)
{
    switch (mode) {
    case Mode::Native: return "native";
    case Mode::Nooks: return "nooks";
    case Mode::Shadow: return "shadow";
    }
    return "?";
}

Result<Mode> parse_mode(std::string_view text)
{
    if (text == "native")
        return Mode::Native;
    if (text == "nooks")
        return Mode::Nooks;
    if (text == "shadow")
        return Mode::Shadow;
    return make_error(ErrorCode::InvalidArgument, "bad mode '{}': expected native, nooks or shadow", text);
}

std::string default_driver_directory()
{
    std::error_code error;
    auto exe = std::filesystem::read_symlink("/proc/self/exe", error);
    if (error)
        return "/usr/local/lib/nooks/drivers";
    return (exe.parent_path().parent_path() / "lib" / "nooks" / "drivers").string();
}

std::string resolve_driver_path(std::string const& driver)
{
    if (driver.empty() || driver.find('/') != std::string::npos)
        return driver;
    return default_driver_directory() + "/" + driver;
}

namespace {

// A TOML table's scalar keys as a ConfigTable; nested tables and arrays are
// errors, except the keys in `skip` (handled by the caller).
Result<ConfigTable> scalars(toml::table const& table, std::string where, std::string const& source,
    std::vector<std::string> const& skip = {})
{
    ConfigTable result(std::move(where), source);
    for (auto const& [key, node] : table) {
        std::string name(key.str());
        if (std::ranges::find(skip, name) != skip.end())
            continue;
        if (auto const* value = node.as_string())
            result.set(name, value->get());
        else if (auto const* value = node.as_integer())
            result.set(name, value->get());
        else if (auto const* value = node.as_floating_point())
            result.set(name, value->get());
        else if (auto const* value = node.as_boolean())
            result.set(name, value->get());
        else
            return std::unexpected(result.error(name, "must be a single value (a string, number or boolean), not a table or an array"));
    }
    return result;
}

Result<void> check_device_name(std::string const& name, std::string const& source)
{
    bool valid = !name.empty() && name.size() < 32 && name != "." && name != "..";
    for (char c : name)
        valid = valid && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.');
    if (!valid)
        return make_error(ErrorCode::InvalidArgument, "{}: device name '{}' must be 1..31 characters of [A-Za-z0-9._-]", source, name);
    return {};
}

// A device's name and driver from its table; the rest is its kind's.
Result<DeviceConfig> make_device(DeviceKind const& kind, std::string name, std::optional<std::string> driver, ConfigTable table)
{
    DeviceConfig device;
    device.kind = &kind;
    device.name = std::move(name);
    device.driver = resolve_driver_path(driver.value_or(std::string(kind.default_driver())));
    device.settings = TRY(kind.parse(device.name, table));
    device.table = std::move(table);
    return device;
}

Result<void> read_top_level(Config& config, ConfigTable const& top)
{
    if (auto mode = TRY(top.string("mode"))) {
        auto parsed = parse_mode(*mode);
        if (!parsed)
            return std::unexpected(top.error("mode", fmt::format("must be native, nooks or shadow (not '{}')", *mode)));
        config.mode = *parsed;
    }
    config.mount = TRY(top.string("mount")).value_or(config.mount);
    config.sound_mount = TRY(top.string("sound_mount")).value_or(config.sound_mount);
    config.control = TRY(top.string("control")).value_or(config.control);
    config.log_level = TRY(top.choice("log_level", { "debug", "info", "warn", "error" })).value_or(config.log_level);
    config.fuse_threads = static_cast<unsigned>(TRY(top.integer("fuse_threads", 1, 64)).value_or(config.fuse_threads));
    config.request_timeout_ms = static_cast<uint64_t>(TRY(top.integer("request_timeout_ms", 0, 3'600'000)).value_or(int64_t(config.request_timeout_ms)));
    config.tx_timeout_ms = static_cast<uint64_t>(TRY(top.integer("tx_timeout_ms", 0, 3'600'000)).value_or(int64_t(config.tx_timeout_ms)));
    config.rx_stall_ms = static_cast<uint64_t>(TRY(top.integer("rx_stall_ms", 0, 3'600'000)).value_or(int64_t(config.rx_stall_ms)));
    return {};
}

Result<void> read_isolation(Config::Isolation& isolation, ConfigTable const& table)
{
    TRY(table.allow_only({ "channels", "heap_size", "livelock_ms", "poll_us", "pin_workers", "user", "max_objects", "agent", "agent_timeout_ms" }));
    auto integer = [&](char const* key, int64_t low, int64_t high, uint64_t fallback) -> Result<uint64_t> {
        return static_cast<uint64_t>(TRY(table.integer(key, low, high)).value_or(static_cast<int64_t>(fallback)));
    };
    isolation.channels = static_cast<unsigned>(TRY(integer("channels", 1, 16, isolation.channels)));
    isolation.heap_size = TRY(table.size("heap_size", 1ull << 20, 8ull << 30, 4096)).value_or(isolation.heap_size);
    isolation.livelock_ms = TRY(integer("livelock_ms", 10, 600'000, isolation.livelock_ms));
    isolation.poll_us = TRY(integer("poll_us", 0, 10'000, isolation.poll_us));
    isolation.pin_workers = TRY(table.boolean("pin_workers")).value_or(isolation.pin_workers);
    isolation.user = TRY(table.string("user")).value_or(isolation.user);
    isolation.max_objects = TRY(integer("max_objects", 16, 1'000'000, isolation.max_objects));
    isolation.agent = TRY(table.string("agent")).value_or(isolation.agent);
    isolation.agent_timeout_ms = TRY(integer("agent_timeout_ms", 1, 60'000, isolation.agent_timeout_ms));
    return {};
}

// The [[KIND]] tables of one kind of device.
Result<std::vector<DeviceConfig>> read_devices(DeviceKind const& kind, toml::node const& node, std::string const& source)
{
    auto const* array = node.as_array();
    if (array == nullptr) {
        if (node.is_table())
            return make_error(ErrorCode::InvalidArgument,
                "{}: [{}] describes a single device, the old way; a machine lists its devices as [[{}]] tables (double brackets), "
                "each with a name: write [[{}]] and name = \"{}0\" above its keys",
                source, kind.table(), kind.table(), kind.table(), kind.table());
        return make_error(ErrorCode::InvalidArgument, "{}: config key '{}' must be a list of [[{}]] tables", source, kind.table(), kind.table());
    }
    std::vector<DeviceConfig> devices;
    for (size_t index = 0; index < array->size(); ++index) {
        auto const* table = array->get(index)->as_table();
        if (table == nullptr)
            return make_error(ErrorCode::InvalidArgument, "{}: each [[{}]] must be a table", source, kind.table());
        // Its name and driver first (the other keys are its kind's, named by the device).
        std::vector<std::string> own_keys;
        for (auto const& [key, value] : *table) {
            if (key.str() != "name" && key.str() != "driver")
                own_keys.emplace_back(key.str());
        }
        auto common = TRY(scalars(*table, fmt::format("{}[{}].", kind.table(), index), source, own_keys));
        auto name = TRY(common.string("name")).value_or(fmt::format("{}{}", kind.table(), index));
        TRY(check_device_name(name, source));
        auto driver = TRY(common.string("driver"));
        auto own = TRY(scalars(*table, name + ".", source, { "name", "driver" }));
        devices.push_back(TRY(make_device(kind, name, driver, std::move(own))));
    }
    return devices;
}

// Names are unique, and no two devices take one host resource (an image).
Result<void> check_devices(std::vector<DeviceConfig> const& devices, std::string const& source)
{
    for (size_t i = 0; i < devices.size(); ++i) {
        for (size_t j = i + 1; j < devices.size(); ++j) {
            if (devices[i].name == devices[j].name)
                return make_error(ErrorCode::InvalidArgument, "{}: two devices are named {}", source, devices[i].name);
            auto mine = devices[i].settings->exclusive_resources();
            for (auto const& resource : devices[j].settings->exclusive_resources()) {
                if (std::ranges::find(mine, resource) != mine.end())
                    return make_error(ErrorCode::InvalidArgument, "{}: {} and {} both use {}", source, devices[i].name,
                        devices[j].name, resource);
            }
        }
    }
    return {};
}

// A `--set` value: a TOML scalar when it reads as one ("4", "true"), else text.
ConfigValue value_of(std::string const& text)
{
    try {
        auto table = toml::parse("v = " + text);
        if (auto const* node = table.get("v")) {
            if (auto const* value = node->as_integer())
                return value->get();
            if (auto const* value = node->as_floating_point())
                return value->get();
            if (auto const* value = node->as_boolean())
                return value->get();
            if (auto const* value = node->as_string())
                return value->get();
        }
    } catch (toml::parse_error const&) {
    }
    return text;
}

} // namespace

Result<Config> Config::defaults(DeviceKinds const& kinds)
{
    return parse("", "defaults", kinds);
}

Result<Config> Config::parse(std::string_view text, std::string const& source, DeviceKinds const& kinds)
{
    toml::table table;
    try {
        table = toml::parse(text, source);
    } catch (toml::parse_error const& error) {
        auto const& where = error.source().begin;
        return make_error(ErrorCode::InvalidArgument, "{}:{}:{}: {}", source, where.line, where.column, error.description());
    }

    Config config;
    std::vector<std::string> nested { "isolation" };
    for (auto const* kind : kinds)
        nested.emplace_back(kind->table());
    std::vector<std::string> known { "mode", "mount", "sound_mount", "control", "log_level", "fuse_threads", "request_timeout_ms", "tx_timeout_ms", "rx_stall_ms" };
    known.insert(known.end(), nested.begin(), nested.end());
    for (auto const& [key, node] : table) {
        if (std::ranges::find(known, std::string(key.str())) == known.end())
            return make_error(ErrorCode::InvalidArgument, "{}: unknown config key '{}' (known: {})", source, key.str(), fmt::join(known, ", "));
    }
    auto top = TRY(scalars(table, "", source, nested));
    TRY(read_top_level(config, top));
    if (auto const* node = table.get("isolation")) {
        auto const* isolation = node->as_table();
        if (isolation == nullptr)
            return make_error(ErrorCode::InvalidArgument, "{}: config key 'isolation' must be a table ([isolation])", source);
        TRY(read_isolation(config.isolation, TRY(scalars(*isolation, "isolation.", source))));
    }
    for (auto const* kind : kinds) {
        if (auto const* node = table.get(kind->table())) {
            auto devices = TRY(read_devices(*kind, *node, source));
            std::move(devices.begin(), devices.end(), std::back_inserter(config.devices));
            continue;
        }
        for (unsigned index = 0; index < kind->default_count(); ++index)
            config.devices.push_back(TRY(make_device(*kind, fmt::format("{}{}", kind->table(), index), std::nullopt,
                ConfigTable(fmt::format("{}{}.", kind->table(), index), source))));
    }
    TRY(check_devices(config.devices, source));
    return config;
}

Result<Config> Config::load_file(std::string const& path, DeviceKinds const& kinds)
{
    std::error_code error;
    if (!std::filesystem::is_regular_file(path, error))
        return make_error(ErrorCode::NotFound, "config file {}: not found (or not a regular file)", path);
    std::ifstream file(path);
    if (!file)
        return errno_error(fmt::format("config file {}", path));
    std::stringstream text;
    text << file.rdbuf();
    return parse(text.str(), path, kinds);
}

DeviceConfig const* Config::device(std::string const& name) const
{
    for (auto const& device : devices) {
        if (device.name == name)
            return &device;
    }
    return nullptr;
}

Result<void> Config::set(std::string_view assignment)
{
    auto equals = assignment.find('=');
    auto dot = assignment.find('.');
    if (equals == std::string_view::npos || dot == std::string_view::npos || dot > equals || dot == 0 || dot + 1 == equals)
        return make_error(ErrorCode::InvalidArgument, "--set {}: expected DEVICE.KEY=VALUE (e.g. disk0.size=256MiB)", assignment);
    std::string name(assignment.substr(0, dot));
    std::string key(assignment.substr(dot + 1, equals - dot - 1));
    std::string text(assignment.substr(equals + 1));
    auto it = std::ranges::find(devices, name, &DeviceConfig::name);
    if (it == devices.end()) {
        std::string known;
        for (auto const& device : devices)
            known += fmt::format("{}{}", known.empty() ? "" : ", ", device.name);
        return make_error(ErrorCode::InvalidArgument, "--set {}: the machine has no device {} (it has: {})", assignment, name,
            known.empty() ? "none" : known);
    }
    if (key == "name")
        return make_error(ErrorCode::InvalidArgument, "--set {}: a device's name is set in the configuration file", assignment);
    if (key == "driver") {
        it->driver = resolve_driver_path(text);
        return {};
    }
    auto table = it->table;
    table.set(key, value_of(text));
    // Checked again by the kind, like a key of the file.
    auto settings = it->kind->parse(it->name, table);
    if (!settings)
        return std::unexpected(Error(ErrorCode::InvalidArgument, fmt::format("--set {}: {}", assignment, settings.error().message())));
    auto previous = std::exchange(it->settings, std::move(*settings));
    if (auto checked = check_devices(devices, "--set " + std::string(assignment)); !checked) {
        it->settings = std::move(previous);
        return checked;
    }
    it->table = std::move(table);
    return {};
}

} // namespace nk
