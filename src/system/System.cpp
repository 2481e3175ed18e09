// SPDX-License-Identifier: MIT
#include "system/System.h"

#include "base/Log.h"
#include "base/Units.h"
#include "devices/DeviceKind.h"
#include "kernel/bus/BusDevice.h"
#include "nooks/domain/Pku.h"
#include "nooks/domain/ProcessDomain.h"
#include "nooks/module/IsolatedModule.h"
#include "system/ControlHandlers.h"

#include <filesystem>
#include <fstream>
#include <optional>
#include <pwd.h>
#include <sstream>
#include <unistd.h>

namespace nk {

static auto logger() { return log::get("system"); }

Result<void> check_privileges()
{
    if (::geteuid() != 0)
        return make_error(ErrorCode::PermissionDenied,
            "nooks run needs root: it mounts FUSE and serves disks to loop devices (run it with sudo)");
    return {};
}

Result<void> check_fuse_device()
{
    if (::access("/dev/fuse", F_OK) != 0)
        return make_error(ErrorCode::FailedPrecondition, "no /dev/fuse: this kernel has no FUSE support (modprobe fuse)");
    if (::access("/dev/fuse", R_OK | W_OK) != 0)
        return errno_error("/dev/fuse");
    return {};
}

// True if `path` (absolute, normalized) is a mount point, per /proc/self/mountinfo.
static bool is_mount_point(std::string const& path)
{
    std::ifstream mountinfo("/proc/self/mountinfo");
    std::string line;
    while (std::getline(mountinfo, line)) {
        std::istringstream fields(line);
        std::string id, parent, device, root, mount_point;
        fields >> id >> parent >> device >> root >> mount_point;
        // Spaces and other specials are octal-escaped in mountinfo.
        std::string decoded;
        for (size_t i = 0; i < mount_point.size(); ++i) {
            if (mount_point[i] == '\\' && i + 3 < mount_point.size()) {
                decoded.push_back(static_cast<char>(std::stoi(mount_point.substr(i + 1, 3), nullptr, 8)));
                i += 3;
            } else {
                decoded.push_back(mount_point[i]);
            }
        }
        if (decoded == path)
            return true;
    }
    return false;
}

Result<void> check_mount_point(std::string const& path)
{
    if (path.empty())
        return make_error(ErrorCode::InvalidArgument, "mount point: empty path");
    std::error_code error;
    auto absolute = std::filesystem::weakly_canonical(std::filesystem::absolute(path), error);
    if (error)
        return make_error(ErrorCode::InvalidArgument, "mount point {}: {}", path, error.message());
    if (std::filesystem::exists(absolute, error) && !std::filesystem::is_directory(absolute, error))
        return make_error(ErrorCode::InvalidArgument, "mount point {} is not a directory", path);
    if (std::filesystem::exists(absolute, error) && is_mount_point(absolute.string()))
        return make_error(ErrorCode::AlreadyExists, "mount point {} is in use: something is already mounted there", path);
    return {};
}

Result<void> check_driver_file(std::string const& path)
{
    std::error_code error;
    if (!std::filesystem::exists(path, error))
        return make_error(ErrorCode::NotFound, "driver file {} does not exist", path);
    if (!std::filesystem::is_regular_file(path, error))
        return make_error(ErrorCode::InvalidArgument, "driver file {} is not a regular file", path);
    if (::access(path.c_str(), R_OK) != 0)
        return errno_error(fmt::format("driver file {}", path));
    return {};
}

Result<IsolationOptions> isolation_options(Config const& config)
{
    IsolationOptions options;
    options.geometry.channels = config.isolation.channels;
    options.geometry.heap_size = config.isolation.heap_size;
    options.livelock_ns = config.isolation.livelock_ms * 1'000'000ull;
    options.poll_ns = static_cast<uint32_t>(config.isolation.poll_us * 1'000); // poll_us <= 10000
    options.pin_workers = config.isolation.pin_workers;
    options.max_objects = config.isolation.max_objects;
    auto launcher = default_domain_launcher();
    if (::access(launcher.c_str(), X_OK) != 0)
        return make_error(ErrorCode::NotFound, "the domain launcher {} is missing (build nooks-domain)", launcher);
    options.launcher = launcher;
    // The user a domain drops to when the kernel runs as root.
    if (auto const* entry = ::getpwnam(config.isolation.user.c_str())) {
        options.uid = entry->pw_uid;
        options.gid = entry->pw_gid;
    } else {
        return make_error(ErrorCode::InvalidArgument, "isolation.user '{}' does not exist on this machine", config.isolation.user);
    }
    if (options.uid == 0)
        return make_error(ErrorCode::InvalidArgument, "isolation.user '{}' is root; domains must run unprivileged", config.isolation.user);
    return options;
}

Result<std::unique_ptr<System>> System::boot(Config const& config, BootOptions options, Catalog const& catalog)
{
    // Everything a user can get wrong, before anything is created.
    std::optional<IsolationOptions> isolation;
    if (config.mode != Mode::Native)
        isolation = TRY(isolation_options(config));
    if (config.mode == Mode::Shadow && !options.recover)
        return make_error(ErrorCode::InvalidArgument, "shadow mode needs recovery: shadow drivers hand devices to restarted drivers");
    if (options.mount_frontends) {
        TRY(check_privileges());
        TRY(check_fuse_device());
        TRY(check_mount_point(config.mount));
    }
    for (auto const& device : config.devices) {
        if (device.driver.empty())
            continue;
        if (auto found = check_driver_file(device.driver); !found)
            return std::unexpected(std::move(found.error()).with_context(device.name));
    }

    auto system = std::unique_ptr<System>(new System(config, catalog));
    system->m_kernel = TRY(Kernel::create({}));
    if (isolation) {
        logger()->info("protection domains: process backend; {}", probe_pku().describe());
        if (options.recover) {
            system->m_recovery = std::make_unique<RecoveryManager>(*system->m_kernel,
                RecoveryManager::Options { .agent_socket = config.isolation.agent,
                    .agent_timeout = std::chrono::milliseconds(config.isolation.agent_timeout_ms) });
        }
    }
    TRY(system->build_classes(options));
    TRY(system->plug_devices());
    TRY(system->load_drivers(isolation, options));
    if (options.mount_frontends)
        TRY(system->start_frontends());
    if (!config.control.empty()) {
        std::error_code error;
        auto directory = std::filesystem::path(config.control).parent_path();
        if (!directory.empty())
            std::filesystem::create_directories(directory, error);
        system->m_control = TRY(ControlServer::listen(config.control));
        add_control_handlers(*system->m_control, *system);
        system->m_control->start();
    }
    return system;
}

// Each class's layer (and, in shadow mode, its shadow, tapped in before any
// driver registers a device).
Result<void> System::build_classes(BootOptions const&)
{
    for (auto const* package : m_catalog.packages()) {
        ClassInstance instance;
        instance.package = package;
        if (auto layer = TRY(package->create_class(m_config)))
            instance.layer = TRY(m_kernel->register_class(std::move(layer)));
        if (instance.layer != nullptr && m_config.mode == Mode::Shadow)
            instance.shadow = TRY(package->create_shadow(*instance.layer, *m_recovery));
        m_classes.push_back(std::move(instance));
    }
    return {};
}

// Every device of the description; one with a driver of its own is reserved
// for that driver's instance.
Result<void> System::plug_devices()
{
    for (auto const& device : m_config.devices) {
        auto hardware = TRY(device.kind->create(device.name, *device.settings));
        for (auto const& instance : m_classes) {
            if (instance.layer != nullptr && instance.layer->name() == device.kind->driver_class())
                TRY(instance.package->device_plugged(*instance.layer, device.name, *hardware));
        }
        auto reserved_for = device.driver.empty() ? std::string() : device.name;
        TRY(m_kernel->bus().plug(std::move(hardware), reserved_for));
        logger()->info("{}: {} ({})", device.name, device.kind->table(), device.settings->describe());
    }
    return {};
}

Result<void> System::load_drivers(std::optional<IsolationOptions> const& isolation, BootOptions const&)
{
    for (auto const& device : m_config.devices) {
        if (device.driver.empty())
            continue;
        Module* module = nullptr;
        if (!isolation) {
            module = TRY(m_kernel->load_module(device.driver, device.name));
        } else if (m_recovery) {
            module = TRY(m_recovery->load(device.driver, std::string(device.kind->driver_class()), *isolation, device.name));
        } else {
            auto loaded = TRY(IsolatedModule::load(*m_kernel, device.driver, *isolation, device.name));
            module = TRY(m_kernel->adopt_module(std::move(loaded)));
        }
        m_driver_names[device.name] = module->name();
        // End to end: the driver took its device and registered it with its class.
        auto* bus_device = m_kernel->bus().find_device(device.name);
        if (bus_device == nullptr || bus_device->driver() == nullptr || bus_device->driver()->owner != module)
            return make_error(ErrorCode::FailedPrecondition, "driver {} loaded but did not take device {} (see the log above)",
                device.driver, device.name);
        auto* layer = m_kernel->find_class(device.kind->driver_class());
        if (layer != nullptr && layer->devices_of(*module).empty())
            return make_error(ErrorCode::FailedPrecondition, "driver {} loaded but registered no {} device for {} (see the log above)",
                device.driver, device.kind->driver_class(), device.name);
    }
    return {};
}

Result<void> System::start_frontends()
{
    std::error_code error;
    if (!std::filesystem::exists(m_config.mount, error)) {
        std::filesystem::create_directories(m_config.mount, error);
        if (error)
            return make_error(ErrorCode::FailedPrecondition, "cannot create mount point {}: {}", m_config.mount, error.message());
        m_created_mount = true;
    }
    for (auto& instance : m_classes) {
        if (instance.layer != nullptr)
            instance.frontend = TRY(instance.package->create_frontend(*instance.layer, m_config));
    }
    return {};
}

System::~System() { shutdown(); }

void System::shutdown()
{
    if (m_control) {
        m_control->stop();
        m_control.reset();
    }
    for (auto& instance : m_classes) {
        if (instance.frontend) {
            instance.frontend->stop();
            instance.frontend.reset();
        }
    }
    // No recovery while the kernel goes down.
    m_recovery.reset();
    if (m_kernel) {
        m_kernel->unload_all();
        m_kernel.reset();
    }
    m_classes.clear();
    if (m_created_mount) {
        std::error_code error;
        std::filesystem::remove(m_config.mount, error);
        m_created_mount = false;
    }
}

HardwareDevice& System::bus_device_hardware(BusDevice& device) { return device.hardware(); }

BusDevice* System::device(std::string const& name) const { return m_kernel ? m_kernel->bus().find_device(name) : nullptr; }

std::string System::driver_name(std::string const& name) const
{
    auto it = m_driver_names.find(name);
    return it != m_driver_names.end() ? it->second : std::string();
}

std::shared_ptr<Module> System::driver_of(std::string const& name) const
{
    // Whoever is bound to the device now (a replacement binary may call itself
    // otherwise than the instance first loaded for it).
    auto* bus_device = device(name);
    if (bus_device == nullptr)
        return nullptr;
    auto owner = m_kernel->bus().bound_owner_name(*bus_device);
    return owner.empty() ? nullptr : m_kernel->find_module(owner);
}

std::string System::endpoint(std::string const& name) const
{
    for (auto const& instance : m_classes) {
        if (!instance.frontend)
            continue;
        for (auto const& [device, path] : instance.frontend->endpoints()) {
            if (device == name)
                return path;
        }
    }
    return {};
}

nlohmann::json System::class_status() const
{
    nlohmann::json classes = nlohmann::json::object();
    for (auto const& instance : m_classes) {
        if (instance.layer == nullptr)
            continue;
        auto status = instance.package->status(*instance.layer);
        if (instance.shadow)
            status["shadow"] = instance.shadow->status();
        classes[std::string(instance.package->name())] = std::move(status);
    }
    return classes;
}

std::vector<std::string> System::describe_held(Module const& module) const
{
    std::vector<std::string> lines;
    for (auto* layer : m_kernel->classes()) {
        auto more = layer->describe_held(module);
        lines.insert(lines.end(), more.begin(), more.end());
    }
    return lines;
}

} // namespace nk
