// SPDX-License-Identifier: MIT
#include "system/System.h"

#include "base/Log.h"
#include "base/Units.h"
#include "system/ControlHandlers.h"
#include "nooks/domain/Pku.h"
#include "nooks/domain/ProcessDomain.h"
#include "nooks/module/IsolatedModule.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <optional>
#include <pwd.h>
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

Result<std::unique_ptr<System>> System::boot(Config const& config, BootOptions options)
{
    // Everything a user can get wrong, before anything is created.
    std::optional<IsolationOptions> isolation;
    if (config.mode != Mode::Native)
        isolation = TRY(isolation_options(config));
    if (options.mount_fuse) {
        TRY(check_privileges());
        TRY(check_fuse_device());
        TRY(check_mount_point(config.mount));
    }
    auto driver_path = config.driver_path();
    TRY(check_driver_file(driver_path));

    auto system = std::unique_ptr<System>(new System(config));
    system->m_kernel = TRY(Kernel::create({}));
    system->m_kernel->block().set_request_timeout(std::chrono::milliseconds(config.request_timeout_ms));

    std::error_code error;
    auto image_dir = std::filesystem::path(config.disk.image).parent_path();
    if (!image_dir.empty() && !std::filesystem::exists(image_dir, error)) {
        std::filesystem::create_directories(image_dir, error);
        if (error)
            return make_error(ErrorCode::FailedPrecondition, "cannot create {}: {}", image_dir.string(), error.message());
    }
    auto image = TRY(DiskImage::open(config.disk.image, config.disk.size));
    system->m_created_image = image->created();
    if (!image->created() && image->size() != config.disk.size)
        logger()->info("disk image {} exists with {}; keeping its size (configured {})", image->path(),
            format_size(image->size()), format_size(config.disk.size));
    auto controller = TRY(DiskController::create(std::move(image), {}));
    system->m_disk_controller = controller.get();
    TRY(system->m_kernel->bus().plug(std::move(controller)));

    if (isolation) {
        logger()->info("protection domains: process backend; {}", probe_pku().describe());
        RecoveryManager::Options recovery { .agent_socket = config.isolation.agent,
            .agent_timeout = std::chrono::milliseconds(config.isolation.agent_timeout_ms) };
        if (config.mode == Mode::Shadow) {
            // The shadow taps the block class before the driver registers anything.
            system->m_block_shadow = std::make_unique<BlockShadow>(system->m_kernel->block(), BlockShadow::Options {});
            system->m_kernel->block().set_tap(system->m_block_shadow.get());
            auto* shadow = system->m_block_shadow.get();
            recovery.on_restarted = [shadow](IsolatedModule& fresh) { shadow->driver_restarted(fresh); };
            recovery.on_gave_up = [shadow](IsolatedModule& failed) { shadow->driver_given_up(failed); };
        }
        system->m_recovery = std::make_unique<RecoveryManager>(*system->m_kernel, std::move(recovery));
        system->m_disk_driver = TRY(system->m_recovery->load(driver_path, "block", *isolation));
    } else {
        system->m_disk_driver = TRY(system->m_kernel->load_module(driver_path));
    }
    if (!system->m_kernel->block().find("disk0")) {
        return make_error(ErrorCode::FailedPrecondition, "driver {} loaded but registered no disk0 (see the log above)",
            driver_path);
    }

    if (options.mount_fuse) {
        if (!std::filesystem::exists(config.mount, error)) {
            std::filesystem::create_directories(config.mount, error);
            if (error)
                return make_error(ErrorCode::FailedPrecondition, "cannot create mount point {}: {}", config.mount, error.message());
            system->m_created_mount = true;
        }
        system->m_fuse = TRY(FuseDiskFs::mount(system->m_kernel->block(),
            { .mountpoint = std::filesystem::absolute(config.mount).string(), .threads = config.fuse_threads }));
    }
    if (!config.control.empty()) {
        auto directory = std::filesystem::path(config.control).parent_path();
        if (!directory.empty())
            std::filesystem::create_directories(directory, error);
        system->m_control = TRY(ControlServer::listen(config.control));
        add_control_handlers(*system->m_control, *system);
        system->m_control->start();
    }
    return system;
}

System::~System() { shutdown(); }

void System::shutdown()
{
    if (m_control) {
        m_control->stop();
        m_control.reset();
    }
    if (m_fuse) {
        m_fuse->unmount();
        m_fuse.reset();
    }
    // No recovery while the kernel goes down.
    m_recovery.reset();
    if (m_kernel) {
        m_kernel->unload_all();
        m_kernel.reset();
    }
    m_block_shadow.reset();
    if (m_created_mount) {
        std::error_code error;
        std::filesystem::remove(m_config.mount, error);
        m_created_mount = false;
    }
}

std::string System::disk_file() const
{
    return m_fuse ? m_fuse->file_path("disk0") : std::string();
}

} // namespace nk
