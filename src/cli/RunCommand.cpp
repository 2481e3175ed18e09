// SPDX-License-Identifier: MIT
// `nooks run`: boots the kernel in the foreground until SIGINT or SIGTERM.

#include "base/Log.h"
#include "base/Units.h"
#include "cli/Commands.h"
#include "system/System.h"

#include <csignal>
#include <cstdio>
#include <pthread.h>

namespace nk::cli {

namespace {

struct RunFlags {
    std::string config;
    std::string mode;
    std::string mount;
    std::string control;
    bool no_control { false };
    std::string disk;
    std::string disk_size;
    std::string driver;
    std::string log_level;
    unsigned fuse_threads { 0 };
};

Result<Config> build_config(RunFlags const& flags)
{
    Config config;
    if (!flags.config.empty())
        config = TRY(Config::load_file(flags.config));
    if (!flags.mode.empty())
        config.mode = TRY(parse_mode(flags.mode));
    if (!flags.mount.empty())
        config.mount = flags.mount;
    if (!flags.control.empty())
        config.control = flags.control;
    if (flags.no_control)
        config.control.clear();
    if (!flags.disk.empty())
        config.disk.image = flags.disk;
    if (!flags.disk_size.empty()) {
        auto size = parse_size(flags.disk_size);
        if (!size)
            return std::unexpected(std::move(size.error()).with_context("--disk-size"));
        config.disk.size = *size;
    }
    if (config.disk.size < (1ull << 20) || config.disk.size % 512 != 0)
        return make_error(ErrorCode::InvalidArgument, "disk size {} must be at least 1 MiB and a multiple of 512 bytes",
            config.disk.size);
    if (!flags.driver.empty())
        config.disk.driver = flags.driver;
    if (!flags.log_level.empty())
        config.log_level = flags.log_level;
    if (flags.fuse_threads != 0)
        config.fuse_threads = flags.fuse_threads;
    return config;
}

int run(RunFlags const& flags)
{
    auto config = build_config(flags);
    if (!config)
        return fail("run", config.error().message());

    // Every thread the kernel starts inherits this mask; only sigwait below takes them.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    log::configure(config->log_level);
    auto system = System::boot(*config);
    if (!system)
        return fail("run", system.error().message());

    std::printf("nooks: ready: %s (mode %s, driver %s, image %s, %s)\n", (*system)->disk_file().c_str(),
        mode_name(config->mode), (*system)->disk_driver()->name().c_str(), config->disk.image.c_str(),
        format_size((*system)->disk_controller().image().size()).c_str());
    std::fflush(stdout);

    int signal = 0;
    sigwait(&stop_signals, &signal);
    log::get("kernel")->info("{}: shutting down", strsignal(signal));
    (*system)->shutdown();
    std::printf("nooks: stopped\n");
    std::fflush(stdout);
    return 0;
}

} // namespace

void add_run_command(CLI::App& app, int& result)
{
    auto flags = std::make_shared<RunFlags>();
    auto* command = app.add_subcommand("run", "Boot the kernel in the foreground; SIGINT or SIGTERM stops it cleanly");
    command->add_option("--config", flags->config, "TOML configuration file (every key has a default)");
    command->add_option("--mode", flags->mode, "native | nooks | shadow (default: native)");
    command->add_option("--mount", flags->mount, "Directory where the disk files appear (default: /run/nooks/disks)");
    command->add_option("--control", flags->control, "Control socket for `nooks ctl` (default: /run/nooks/control.sock)");
    command->add_flag("--no-control", flags->no_control, "Do not open a control socket");
    command->add_option("--disk", flags->disk, "Disk image file, created if missing (default: /var/lib/nooks/disk0.img)");
    command->add_option("--disk-size", flags->disk_size, "Size of a new disk image, e.g. 1GiB (default: 1GiB)");
    command->add_option("--driver", flags->driver, "Disk driver (.so) to load (default: nkdisk next to this program)");
    command->add_option("--log-level", flags->log_level, "debug | info | warn | error (default: info)")
        ->check(CLI::IsMember({ "debug", "info", "warn", "error" }));
    command->add_option("--fuse-threads", flags->fuse_threads, "FUSE worker threads (default: 4)")->check(CLI::Range(1, 64));
    command->callback([flags, &result] { result = run(*flags); });
}

} // namespace nk::cli
