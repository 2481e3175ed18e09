// SPDX-License-Identifier: MIT
// `nooks run`: boots the kernel in the foreground until SIGINT or SIGTERM.

#include "base/Log.h"
#include "cli/Commands.h"
#include "devices/DeviceKind.h"
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
    std::string sound_mount;
    std::string control;
    bool no_control { false };
    std::vector<std::string> sets;
    std::string log_level;
    unsigned fuse_threads { 0 };
    // Flags of the one-disk machine, refused with what to write instead.
    std::string old_disk;
    std::string old_disk_size;
    std::string old_driver;
};

Result<Config> build_config(RunFlags const& flags)
{
    auto kinds = Catalog::builtin().device_kinds();
    if (!flags.old_disk.empty())
        return make_error(ErrorCode::InvalidArgument, "--disk names no device; the machine has devices: write --set disk0.image={}", flags.old_disk);
    if (!flags.old_disk_size.empty())
        return make_error(ErrorCode::InvalidArgument, "--disk-size names no device; the machine has devices: write --set disk0.size={}",
            flags.old_disk_size);
    if (!flags.old_driver.empty())
        return make_error(ErrorCode::InvalidArgument, "--driver names no device; the machine has devices: write --set disk0.driver={}",
            flags.old_driver);
    Config config = TRY(flags.config.empty() ? Config::defaults(kinds) : Config::load_file(flags.config, kinds));
    if (!flags.mode.empty())
        config.mode = TRY(parse_mode(flags.mode));
    if (!flags.mount.empty())
        config.mount = flags.mount;
    if (!flags.sound_mount.empty())
        config.sound_mount = flags.sound_mount;
    if (!flags.control.empty())
        config.control = flags.control;
    if (flags.no_control)
        config.control.clear();
    for (auto const& assignment : flags.sets)
        TRY(config.set(assignment));
    if (!flags.log_level.empty())
        config.log_level = flags.log_level;
    if (flags.fuse_threads != 0)
        config.fuse_threads = flags.fuse_threads;
    return config;
}

// One line per device: where applications reach it, its driver, its settings.
std::string describe_machine(System const& system)
{
    std::string text;
    for (auto const& device : system.config().devices) {
        auto endpoint = system.endpoint(device.name);
        auto driver = system.driver_name(device.name);
        text += fmt::format("{}{}{} ({}{})", text.empty() ? "" : "; ", device.name, endpoint.empty() ? "" : " at " + endpoint,
            driver.empty() ? "" : "driver " + driver + ", ", device.settings->describe());
    }
    return text;
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

    std::printf("nooks: ready (mode %s): %s\n", mode_name(config->mode), describe_machine(**system).c_str());
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
    command->add_option("--mount", flags->mount, "Directory where the device files appear (default: /run/nooks/disks)");
    command->add_option("--sound-mount", flags->sound_mount, "Directory where the sound cards' OSS files appear (default: /run/nooks/sound)");
    command->add_option("--control", flags->control, "Control socket for `nooks ctl` (default: /run/nooks/control.sock)");
    command->add_flag("--no-control", flags->no_control, "Do not open a control socket");
    command->add_option("--set", flags->sets,
        "DEVICE.KEY=VALUE: set one key of a device of the machine, e.g. disk0.image=/srv/disk0.img, disk0.size=256MiB, "
        "disk0.driver=nkdisk.so (repeatable)");
    command->add_option("--disk", flags->old_disk)->group("");
    command->add_option("--disk-size", flags->old_disk_size)->group("");
    command->add_option("--driver", flags->old_driver)->group("");
    command->add_option("--log-level", flags->log_level, "debug | info | warn | error (default: info)")
        ->check(CLI::IsMember({ "debug", "info", "warn", "error" }));
    command->add_option("--fuse-threads", flags->fuse_threads, "FUSE worker threads (default: 4)")->check(CLI::Range(1, 64));
    command->callback([flags, &result] { result = run(*flags); });
}

} // namespace nk::cli
