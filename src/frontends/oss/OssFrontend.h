// SPDX-License-Identifier: MIT
#pragma once

// The OSS frontend of the sound class: a FUSE mount (by default
// /run/nooks/sound) holding, per registered card, a `dsp` file that speaks
// the OSS PCM interface and a `mixer` file that speaks the OSS mixer
// interface, so unmodified applications play and record through our cards
// (mpg123 -o oss, sox -t oss, and every ALSA application through alsa-lib's
// `oss` plugin, see AlsaConfig.h).
//
//   card sound0 -> dsp, mixer      card soundN (N > 0) -> dspN, mixerN
//
//   open    O_WRONLY: playback, O_RDONLY: capture, O_RDWR: both (the streams
//           the card has); a stream already open elsewhere: EBUSY
//   write / read -> PcmSubstream (blocking, or O_NONBLOCK / SNDCTL_DSP_NONBLOCK:
//           EAGAIN), paced by the card; a signal (FUSE interrupt) ends the wait
//   ioctl   -> OssIoctl.h        poll -> ready() + a notification per period
//   flush (close) drains playback unless non-blocking; release closes the
//           streams (an application that died leaves the card ready)
//   setattr: times, mode, owner kept in memory; truncation to 0 accepted
//
// A card that goes away (its driver failed) fails every call of its open
// files with EIO; its files leave the directory, and a card registered
// again under the same name appears as new files. The kernel process owns
// /dev/fuse, so a driver failure never tears down the mount; it is mounted
// auto_unmount, so a kernel that dies takes it along.
//
// Threads: `threads` workers each receive and process requests (a blocked
// write, read or drain holds one; interrupts need a free one). Listener
// callbacks come from whichever kernel thread (un)registers a card;
// stream notifications from the card's interrupt context.

#include "base/Error.h"
#include "base/Mutex.h"
#include "classes/sound/SoundLayer.h"
#include "frontends/Frontend.h"

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <pthread.h>
#include <string>
#include <vector>

struct fuse_session;

namespace nk {

class OssFrontend final : public Frontend, public SoundLayerListener {
public:
    struct Options {
        std::string mountpoint;
        unsigned threads { 8 };
        uint32_t file_mode { 0600 };
        // Let users other than the kernel's reach the files (FUSE allow_other).
        bool allow_other { false };
    };

    // Mounts at options.mountpoint (an existing, unused directory) and starts
    // the workers. Cards already registered appear at once.
    static Result<std::unique_ptr<OssFrontend>> mount(SoundLayer& sound, Options options);
    ~OssFrontend() override;
    OssFrontend(OssFrontend const&) = delete;
    OssFrontend& operator=(OssFrontend const&) = delete;

    // Unmounts and stops the workers; files still open are closed (their
    // streams released) and their users get errors from then on. Idempotent.
    void unmount();

    // Frontend: two endpoints per card, ("sound0", ".../dsp"), ("sound0", ".../mixer").
    void stop() override { unmount(); }
    std::vector<std::pair<std::string, std::string>> endpoints() const override;

    std::string const& mountpoint() const { return m_options.mountpoint; }
    // The file names of the card with index `index` ("dsp", "dsp1"...).
    static std::string dsp_name(unsigned index);
    static std::string mixer_name(unsigned index);
    // A card's index: the number its name ends with ("sound2" -> 2); none: nullopt.
    static std::optional<unsigned> card_index(std::string const& card_name);

    // SoundLayerListener
    void card_added(std::shared_ptr<SoundCard> const& card) override;
    void card_removed(std::shared_ptr<SoundCard> const& card) override;

    struct Node;
    struct OpenFile;

    // --- for the FUSE callbacks (OssFuseOps.cpp) ----------------------------
    std::shared_ptr<Node> node_by_ino(uint64_t ino) const;
    std::shared_ptr<Node> node_by_name(std::string const& name) const;
    std::vector<std::shared_ptr<Node>> listed_nodes() const;
    uint32_t file_mode() const { return m_options.file_mode; }
    // Keeps an open file until it is released (or the mount goes).
    void adopt(std::shared_ptr<OpenFile> file);
    // Forgets a released file; returns it so the caller ends it last.
    std::shared_ptr<OpenFile> forget(OpenFile* file);

private:
    OssFrontend(SoundLayer& sound, Options options);
    void worker();

    SoundLayer& m_sound;
    Options m_options;
    fuse_session* m_session { nullptr };
    std::atomic<bool> m_stopping { false };
    std::vector<pthread_t> m_workers; // raw pthreads: joined with a timeout
    bool m_mounted { false };

    mutable Mutex m_mutex;
    std::map<uint64_t, std::shared_ptr<Node>> m_nodes NK_GUARDED_BY(m_mutex);    // every node ever, by inode
    std::map<std::string, std::shared_ptr<Node>> m_names NK_GUARDED_BY(m_mutex); // live files, by name
    std::map<OpenFile*, std::shared_ptr<OpenFile>> m_open NK_GUARDED_BY(m_mutex);
};

} // namespace nk
