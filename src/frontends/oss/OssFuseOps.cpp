// SPDX-License-Identifier: MIT
// The I/O half of the OSS frontend's FUSE callbacks: open and release, the
// samples (read, write), ioctl, poll, and flush (close drains playback).
// Waits that an application can give up on (a signal: FUSE sends an
// interrupt) are made interruptible through fuse_req_interrupt_func.

#include "frontends/oss/OssFuseOps.h"

#include "base/Log.h"
#include "frontends/oss/OssIoctl.h"

#include <array>
#include <cerrno>
#include <chrono>
#include <poll.h>
#include <vector>

namespace nk::oss_fuse {

static auto logger() { return log::get("oss"); }

static constexpr size_t max_transfer = 128u << 10;
// How long an opener waits for a closed, not yet released file to let go
// of the stream (FUSE sends release after close() returned).
static constexpr auto release_wait = std::chrono::seconds(2);

// struct fuse_open_out of the kernel ABI: libfuse has no field for
// FOPEN_STREAM, so the open reply is sent as a plain buffer.
struct OpenOut {
    uint64_t fh;
    uint32_t open_flags;
    uint32_t padding;
};
static constexpr uint32_t fopen_direct_io = 1u << 0;
static constexpr uint32_t fopen_nonseekable = 1u << 2;
static constexpr uint32_t fopen_stream = 1u << 4;

static OssFrontend::OpenFile& open_file(fuse_file_info* fi) { return *reinterpret_cast<OssFrontend::OpenFile*>(fi->fh); }

// Runs `body(interrupted)` with the request's interrupt wired to raise
// `interrupted` and wake the streams; disarmed before it returns, so the
// request can then be answered (which frees it).
template<typename Body>
static auto interruptible(fuse_req_t req, std::array<PcmSubstream*, 2> streams, Body body)
{
    struct Wiring {
        std::array<PcmSubstream*, 2> streams;
        std::atomic<bool> interrupted { false };
    } wiring { streams };
    fuse_req_interrupt_func(
        req,
        [](fuse_req_t, void* data) {
            auto& w = *static_cast<Wiring*>(data);
            w.interrupted.store(true, std::memory_order_release);
            for (auto* pcm : w.streams)
                if (pcm != nullptr)
                    pcm->wake();
        },
        &wiring);
    auto result = body(&wiring.interrupted);
    fuse_req_interrupt_func(req, nullptr, nullptr);
    return result;
}

static void init(void*, fuse_conn_info* conn)
{
    conn->max_write = max_transfer;
    conn->max_readahead = 0;
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
}

// The errno for a stream that would not open.
static int open_errno(Error const& error, SoundCard const& card)
{
    if (!card.alive())
        return ENODEV;
    int const code = error.to_errno();
    if (code == EAGAIN || code == EEXIST || code == EBUSY || error.code() == ErrorCode::FailedPrecondition)
        return EBUSY;
    return code;
}

// Opens `pcm`; if it is busy and a closed file of `node` is on its way out, waits for it.
static Result<void> open_stream(OssFrontend::Node& node, PcmSubstream& pcm)
{
    auto const deadline = std::chrono::steady_clock::now() + release_wait;
    for (;;) {
        auto opened = pcm.open();
        if (opened || !node.card->card->alive())
            return opened;
        MutexLocker lock(node.mutex);
        if (node.closing == 0 || std::chrono::steady_clock::now() >= deadline)
            return opened;
        node.released.wait_until(lock, deadline, [&]() NK_REQUIRES(node.mutex) { return node.closing == 0; });
    }
}

// Opens the streams the access mode asks for (O_RDWR: those the card has).
static int open_dsp(OssFrontend::Node& node, OssFrontend::OpenFile& file, int access)
{
    auto& card = *node.card->card;
    bool const full_duplex = access == O_RDWR;
    bool const want_playback = access == O_WRONLY || full_duplex;
    bool const want_capture = access == O_RDONLY || full_duplex;
    auto* playback = want_playback ? card.pcm(NK_SND_PLAYBACK) : nullptr;
    auto* capture = want_capture ? card.pcm(NK_SND_CAPTURE) : nullptr;
    if ((want_playback && playback == nullptr && !full_duplex) || (want_capture && capture == nullptr && !full_duplex)
        || (playback == nullptr && capture == nullptr))
        return ENODEV;
    for (auto* pcm : { playback, capture }) {
        if (pcm == nullptr)
            continue;
        if (auto opened = open_stream(node, *pcm); !opened) {
            file.close_streams();
            logger()->info("open {} for {}: {}", node.name, pcm->playback() ? "playback" : "capture", opened.error());
            return open_errno(opened.error(), card);
        }
        (pcm->playback() ? file.dsp.playback : file.dsp.capture) = pcm;
        pcm->set_notifier([poll = file.poll] { poll->notify(); });
    }
    return 0;
}

static void open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi)
{
    if (ino == root_ino) {
        fuse_reply_err(req, EISDIR);
        return;
    }
    auto node = frontend(req).node_by_ino(ino);
    if (!node) {
        fuse_reply_err(req, ENOENT);
        return;
    }
    if (!node->card->card->alive()) {
        fuse_reply_err(req, ENODEV);
        return;
    }
    auto file = std::make_shared<OssFrontend::OpenFile>();
    file->node = node;
    file->dsp.card = node->card;
    file->flags = fi->flags;
    if (node->kind == OssNodeKind::Dsp) {
        if (int error = open_dsp(*node, *file, fi->flags & O_ACCMODE); error != 0) {
            fuse_reply_err(req, error);
            return;
        }
    }
    frontend(req).adopt(file);
    // Samples go straight to the stream: no page cache, no file position
    // (FOPEN_STREAM: a blocked read does not hold up a write on the same file).
    OpenOut out {};
    out.fh = reinterpret_cast<uint64_t>(file.get());
    out.open_flags = fopen_direct_io | fopen_nonseekable | fopen_stream;
    if (fuse_reply_buf(req, reinterpret_cast<char const*>(&out), sizeof(out)) != 0) {
        // The opener is gone (interrupted): no release will come.
        file->close_streams();
        frontend(req).forget(file.get());
    }
}

static void release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi)
{
    auto* raw = &open_file(fi);
    auto file = frontend(req).forget(raw);
    raw->close_streams();
    if (raw->flushed.load()) {
        auto& node = *raw->node;
        MutexLocker lock(node.mutex);
        node.closing--;
        node.released.notify_all();
    }
    fuse_reply_err(req, 0);
}

// close(): plays what was written unless the file is non-blocking.
static void flush(fuse_req_t req, fuse_ino_t, fuse_file_info* fi)
{
    auto& file = open_file(fi);
    auto& card = *file.node->card->card;
    if (file.dsp.playback == nullptr && file.dsp.capture == nullptr) {
        fuse_reply_err(req, 0);
        return;
    }
    if (!file.flushed.exchange(true)) {
        MutexLocker lock(file.node->mutex);
        file.node->closing++;
    }
    if (!card.alive()) {
        fuse_reply_err(req, EIO);
        return;
    }
    if (file.dsp.playback != nullptr && !file.nonblocking()) {
        auto drained = interruptible(req, { file.dsp.playback, nullptr },
            [&](std::atomic<bool> const* interrupted) { return file.dsp.playback->drain(interrupted); });
        if (!drained && !card.alive()) {
            fuse_reply_err(req, EIO);
            return;
        }
    }
    fuse_reply_err(req, 0);
}

static int io_errno(Error const& error, SoundCard const& card) { return oss::errno_for(error, card); }

static void write(fuse_req_t req, fuse_ino_t, char const* data, size_t size, off_t, fuse_file_info* fi)
{
    auto& file = open_file(fi);
    file.flags.store(fi->flags, std::memory_order_relaxed);
    auto* pcm = file.dsp.playback;
    if (!file.node->card->card->alive()) {
        fuse_reply_err(req, EIO);
        return;
    }
    if (pcm == nullptr) {
        fuse_reply_err(req, file.node->kind == OssNodeKind::Mixer ? EINVAL : EBADF);
        return;
    }
    auto bytes = std::span(reinterpret_cast<std::byte const*>(data), size);
    bool const nonblocking = file.nonblocking();
    auto written = interruptible(req, { pcm, nullptr },
        [&](std::atomic<bool> const* interrupted) { return pcm->write(bytes, nonblocking, interrupted); });
    if (!written) {
        fuse_reply_err(req, io_errno(written.error(), *file.node->card->card));
        return;
    }
    fuse_reply_write(req, *written);
}

static void read(fuse_req_t req, fuse_ino_t, size_t size, off_t, fuse_file_info* fi)
{
    auto& file = open_file(fi);
    file.flags.store(fi->flags, std::memory_order_relaxed);
    auto* pcm = file.dsp.capture;
    if (!file.node->card->card->alive()) {
        fuse_reply_err(req, EIO);
        return;
    }
    if (pcm == nullptr) {
        fuse_reply_err(req, file.node->kind == OssNodeKind::Mixer ? EINVAL : EBADF);
        return;
    }
    thread_local std::vector<std::byte> buffer;
    buffer.resize(std::min(size, max_transfer));
    bool const nonblocking = file.nonblocking();
    auto got = interruptible(req, { pcm, nullptr },
        [&](std::atomic<bool> const* interrupted) { return pcm->read(std::span(buffer), nonblocking, interrupted); });
    if (!got) {
        fuse_reply_err(req, io_errno(got.error(), *file.node->card->card));
        return;
    }
    fuse_reply_buf(req, reinterpret_cast<char const*>(buffer.data()), *got);
}

static void ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void*, fuse_file_info* fi, unsigned flags,
    void const* in_buf, size_t in_size, size_t out_size)
{
    // OSS structures are all ints: 32-bit callers (FUSE_IOCTL_COMPAT) decode the same.
    if (ino == root_ino || (flags & FUSE_IOCTL_DIR) != 0) {
        fuse_reply_err(req, ENOTTY);
        return;
    }
    auto& file = open_file(fi);
    auto in = std::span(static_cast<std::byte const*>(in_buf), in_size);
    auto reply = file.node->kind == OssNodeKind::Dsp
        ? interruptible(req, { file.dsp.playback, file.dsp.capture },
              [&](std::atomic<bool> const* interrupted) { return oss::dsp_ioctl(file.dsp, cmd, in, interrupted); })
        : oss::mixer_ioctl(*file.node->card, cmd, in);
    if (reply.error != 0) {
        fuse_reply_err(req, reply.error);
        return;
    }
    fuse_reply_ioctl(req, reply.result, reply.out.data(), std::min(out_size, reply.out_size));
}

static void poll(fuse_req_t req, fuse_ino_t, fuse_file_info* fi, fuse_pollhandle* ph)
{
    auto& file = open_file(fi);
    // Keep the handle first: a period that elapses after the check below wakes the poller.
    if (ph != nullptr)
        file.poll->replace(ph);
    unsigned events = 0;
    if (!file.node->card->card->alive()) {
        events = POLLERR | POLLHUP | POLLIN | POLLOUT;
    } else if (file.node->kind == OssNodeKind::Mixer) {
        events = POLLIN | POLLOUT;
    } else {
        if (file.dsp.playback != nullptr && file.dsp.playback->ready())
            events |= POLLOUT | POLLWRNORM;
        if (file.dsp.capture != nullptr && file.dsp.capture->ready())
            events |= POLLIN | POLLRDNORM;
    }
    fuse_reply_poll(req, events);
}

} // namespace nk::oss_fuse

namespace nk {

fuse_lowlevel_ops const& oss_fuse_operations()
{
    static fuse_lowlevel_ops const operations = [] {
        fuse_lowlevel_ops ops {};
        ops.init = oss_fuse::init;
        ops.lookup = oss_fuse::op_lookup;
        ops.getattr = oss_fuse::op_getattr;
        ops.setattr = oss_fuse::op_setattr;
        ops.readdir = oss_fuse::op_readdir;
        ops.statfs = oss_fuse::op_statfs;
        ops.open = oss_fuse::open;
        ops.release = oss_fuse::release;
        ops.flush = oss_fuse::flush;
        ops.read = oss_fuse::read;
        ops.write = oss_fuse::write;
        ops.ioctl = oss_fuse::ioctl;
        ops.poll = oss_fuse::poll;
        return ops;
    }();
    return operations;
}

} // namespace nk
