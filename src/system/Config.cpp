// SPDX-License-Identifier: MIT
#include "system/Config.h"

#include "base/Units.h"

#include <filesystem>
#include <set>

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

std::string Config::driver_path() const
{
    if (!disk.driver.empty())
        return disk.driver;
    return default_driver_directory() + "/nkdisk.so";
}

namespace {

Result<std::string> get_string(toml::node const& node, std::string const& key)
{
    if (auto value = node.value<std::string>())
        return *value;
    return make_error(ErrorCode::InvalidArgument, "config key '{}' must be a string", key);
}

Result<void> check_keys(toml::table const& table, std::set<std::string> const& allowed, std::string const& where,
    std::string const& source)
{
    for (auto const& [key, value] : table) {
        if (!allowed.contains(std::string(key.str())))
            return make_error(ErrorCode::InvalidArgument, "{}: unknown config key '{}{}'", source, where, key.str());
    }
    return {};
}

} // namespace

Result<Config> Config::parse(std::string_view text, std::string const& source)
{
    toml::table table;
    try {
        table = toml::parse(text, source);
    } catch (toml::parse_error const& error) {
        auto const& where = error.source().begin;
        return make_error(ErrorCode::InvalidArgument, "{}:{}:{}: {}", source, where.line, where.column, error.description());
    }

    Config config;
    TRY(check_keys(table, { "mode", "mount", "control", "log_level", "fuse_threads", "request_timeout_ms", "disk", "isolation" }, "", source));
    if (auto const* node = table.get("request_timeout_ms")) {
        auto value = node->value<int64_t>();
        if (!node->is_integer() || !value || *value < 0 || *value > 3'600'000)
            return make_error(ErrorCode::InvalidArgument, "{}: config key 'request_timeout_ms' must be an integer in 0..3600000", source);
        config.request_timeout_ms = static_cast<uint64_t>(*value);
    }
    if (auto const* node = table.get("mode"))
        config.mode = TRY(parse_mode(TRY(get_string(*node, "mode"))));
    if (auto const* node = table.get("mount"))
        config.mount = TRY(get_string(*node, "mount"));
    if (auto const* node = table.get("control"))
        config.control = TRY(get_string(*node, "control"));
    if (auto const* node = table.get("log_level")) {
        config.log_level = TRY(get_string(*node, "log_level"));
        static std::set<std::string> const levels { "debug", "info", "warn", "error" };
        if (!levels.contains(config.log_level))
            return make_error(ErrorCode::InvalidArgument, "{}: config key 'log_level' must be debug, info, warn or error", source);
    }
    if (auto const* node = table.get("fuse_threads")) {
        auto value = node->value<int64_t>();
        if (!node->is_integer() || !value || *value < 1 || *value > 64)
            return make_error(ErrorCode::InvalidArgument, "{}: config key 'fuse_threads' must be an integer in 1..64", source);
        config.fuse_threads = static_cast<unsigned>(*value);
    }
    if (auto const* node = table.get("disk")) {
        auto const* disk = node->as_table();
        if (disk == nullptr)
            return make_error(ErrorCode::InvalidArgument, "{}: config key 'disk' must be a table ([disk])", source);
        TRY(check_keys(*disk, { "image", "size", "driver" }, "disk.", source));
        if (auto const* image = disk->get("image"))
            config.disk.image = TRY(get_string(*image, "disk.image"));
        if (auto const* driver = disk->get("driver"))
            config.disk.driver = TRY(get_string(*driver, "disk.driver"));
        if (auto const* size = disk->get("size")) {
            if (auto bytes = size->value<int64_t>(); bytes && size->is_integer()) {
                if (*bytes <= 0)
                    return make_error(ErrorCode::InvalidArgument, "{}: config key 'disk.size' must be positive", source);
                config.disk.size = static_cast<uint64_t>(*bytes);
            } else if (auto text = size->value<std::string>()) {
                auto parsed = parse_size(*text);
                if (!parsed)
                    return std::unexpected(std::move(parsed.error()).with_context(fmt::format("{}: disk.size", source)));
                config.disk.size = *parsed;
            } else {
                return make_error(ErrorCode::InvalidArgument, "{}: config key 'disk.size' must be a size (\"1GiB\") or bytes", source);
            }
        }
    }
    if (auto const* node = table.get("isolation")) {
        auto const* isolation = node->as_table();
        if (isolation == nullptr)
            return make_error(ErrorCode::InvalidArgument, "{}: config key 'isolation' must be a table ([isolation])", source);
        TRY(check_keys(*isolation, { "channels", "heap_size", "livelock_ms", "poll_us", "user", "max_objects", "agent", "agent_timeout_ms" },
            "isolation.", source));
        auto integer = [&](char const* key, int64_t low, int64_t high) -> Result<std::optional<uint64_t>> {
            auto const* node = isolation->get(key);
            if (node == nullptr)
                return std::optional<uint64_t> {};
            auto value = node->value<int64_t>();
            if (!node->is_integer() || !value || *value < low || *value > high)
                return make_error(ErrorCode::InvalidArgument, "{}: config key 'isolation.{}' must be an integer in {}..{}", source, key, low, high);
            return std::optional<uint64_t>(static_cast<uint64_t>(*value));
        };
        if (auto value = TRY(integer("max_objects", 16, 1'000'000)))
            config.isolation.max_objects = *value;
        if (auto value = TRY(integer("poll_us", 0, 10'000)))
            config.isolation.poll_us = *value;
        if (auto value = TRY(integer("agent_timeout_ms", 1, 60'000)))
            config.isolation.agent_timeout_ms = *value;
        if (auto const* agent = isolation->get("agent"))
            config.isolation.agent = TRY(get_string(*agent, "isolation.agent"));
        if (auto const* channels = isolation->get("channels")) {
            auto value = channels->value<int64_t>();
            if (!value || !channels->is_integer() || *value < 1 || *value > 16)
                return make_error(ErrorCode::InvalidArgument, "{}: config key 'isolation.channels' must be an integer in 1..16", source);
            config.isolation.channels = static_cast<unsigned>(*value);
        }
        if (auto const* heap = isolation->get("heap_size")) {
            auto text = heap->value<std::string>();
            auto parsed = text ? parse_size(*text) : make_error(ErrorCode::InvalidArgument, "must be a size such as \"64MiB\"");
            if (!parsed)
                return std::unexpected(std::move(parsed.error()).with_context(fmt::format("{}: isolation.heap_size", source)));
            if (*parsed < (1 << 20) || *parsed > (8ull << 30) || *parsed % 4096 != 0)
                return make_error(ErrorCode::InvalidArgument, "{}: isolation.heap_size must be 1MiB..8GiB, a multiple of 4KiB", source);
            config.isolation.heap_size = *parsed;
        }
        if (auto const* livelock = isolation->get("livelock_ms")) {
            auto value = livelock->value<int64_t>();
            if (!value || !livelock->is_integer() || *value < 10 || *value > 600'000)
                return make_error(ErrorCode::InvalidArgument, "{}: config key 'isolation.livelock_ms' must be an integer in 10..600000", source);
            config.isolation.livelock_ms = static_cast<uint64_t>(*value);
        }
        if (auto const* user = isolation->get("user"))
            config.isolation.user = TRY(get_string(*user, "isolation.user"));
    }
    return config;
}

Result<Config> Config::load_file(std::string const& path)
{
    std::error_code error;
    if (!std::filesystem::is_regular_file(path, error))
        return make_error(ErrorCode::NotFound, "config file {}: not found (or not a regular file)", path);
    FILE* file = std::fopen(path.c_str(), "r");
    if (file == nullptr)
        return errno_error(fmt::format("config file {}", path));
    std::string text;
    char buffer[4096];
    size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0)
        text.append(buffer, n);
    std::fclose(file);
    return parse(text, path);
}

} // namespace nk
