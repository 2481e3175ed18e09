// SPDX-License-Identifier: MIT
#include "harness/Ext4Stack.h"

#include "harness/Command.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <sys/mount.h>

namespace nk::harness {

Result<std::unique_ptr<Ext4Stack>> Ext4Stack::create(Options options)
{
    if (options.nooks_binary.empty())
        options.nooks_binary = find_nooks_binary();
    if (options.dir.empty() || !std::filesystem::is_directory(options.dir))
        return make_error(ErrorCode::InvalidArgument, "storage stack: work directory '{}' does not exist", options.dir);
    if (options.image.empty())
        options.image = options.dir + "/disk0.img";
    auto stack = std::unique_ptr<Ext4Stack>(new Ext4Stack(std::move(options)));
    auto const& opts = stack->m_options;
    std::error_code error;
    std::filesystem::create_directories(stack->ext4(), error);

    // The machine: one disk, its image and driver as asked.
    std::ofstream config(stack->config_file());
    // A disk only: no NIC (the block measurements run alone).
    config << fmt::format("nic = []\nmode = \"{}\"\nmount = \"{}\"\ncontrol = \"{}\"\n{}\n[[disk]]\nname = \"disk0\"\nimage = \"{}\"\nsize = \"{}\"\n",
        opts.mode, stack->disks(), stack->control(), opts.config_extra, opts.image, opts.disk_size);
    if (!opts.driver.empty())
        config << fmt::format("driver = \"{}\"\n", opts.driver);
    config.close();
    if (!config)
        return make_error(ErrorCode::IoError, "storage stack: cannot write {}", stack->config_file());

    std::vector<std::string> args { "--config", stack->config_file() };
    args.insert(args.end(), opts.run_args.begin(), opts.run_args.end());
    stack->m_kernel = TRY(KernelProcess::start({ .nooks_binary = opts.nooks_binary, .args = args, .log_path = stack->log_path() }));
    stack->step(fmt::format("boot the kernel ({} mode)", opts.mode), fmt::format("{} disk at {}", opts.disk_size, stack->disk_file()));
    if (opts.ext4)
        TRY(stack->attach_ext4(opts.mkfs_options));
    return stack;
}

Ext4Stack::~Ext4Stack()
{
    m_mount.reset();
    m_loop.reset();
    if (m_kernel) {
        (void)m_kernel->stop(std::chrono::seconds(20));
        m_kernel.reset();
    }
    // A kernel that died leaves its FUSE mount behind, disconnected.
    ::umount2(disks().c_str(), MNT_DETACH);
}

void Ext4Stack::step(std::string const& name, std::string const& detail) const
{
    if (m_options.on_step)
        m_options.on_step(name, detail);
}

Result<void> Ext4Stack::attach_ext4(std::vector<std::string> const& mkfs_options)
{
    if (m_loop)
        return make_error(ErrorCode::FailedPrecondition, "storage stack: ext4 is attached already");
    m_loop = TRY(LoopDevice::attach(disk_file(), true));
    step("attach a loop device (direct I/O)", m_loop->path());
    std::vector<std::string> mkfs { "mkfs.ext4", "-q", "-F" };
    mkfs.insert(mkfs.end(), mkfs_options.begin(), mkfs_options.end());
    mkfs.push_back(m_loop->path());
    TRY(run_checked(mkfs));
    step("mkfs.ext4", "ext4 created");
    m_mount = TRY(Mount::mount(m_loop->path(), ext4(), "ext4"));
    step("mount ext4", ext4());
    return {};
}

Result<void> Ext4Stack::remount(bool drop)
{
    if (!m_loop)
        return make_error(ErrorCode::FailedPrecondition, "storage stack: no ext4 to mount");
    TRY(unmount_ext4());
    if (drop)
        TRY(drop_caches());
    m_mount = TRY(Mount::mount(m_loop->path(), ext4(), "ext4"));
    return {};
}

Result<void> Ext4Stack::unmount_ext4()
{
    if (m_mount) {
        TRY(m_mount->unmount());
        m_mount.reset();
    }
    return {};
}

Result<void> Ext4Stack::detach_loop()
{
    TRY(unmount_ext4());
    if (m_loop) {
        TRY(m_loop->detach());
        m_loop.reset();
    }
    return {};
}

Result<void> Ext4Stack::stop_kernel(std::chrono::milliseconds grace)
{
    TRY(detach_loop());
    if (m_kernel)
        return m_kernel->stop(grace);
    return {};
}

} // namespace nk::harness
