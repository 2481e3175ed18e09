// SPDX-License-Identifier: MIT
#pragma once

// One PCM stream of a sound card (nk_snd_pcm): the state machine, the ring
// between the application's writes (reads) and the card, and the positions.
//
//   Closed --open--> Open --(first write/read, trigger, drain)--> hw_params
//   + prepare --> Prepared --start--> Running <--> Xrun --drain--> Draining
//   --> Prepared; reset: --> Prepared (data dropped); a new format, rate,
//   channel count or fragment layout: --> Open (applied at the next start);
//   close: --> Closed. A killed stream (its card is gone) refuses everything.
//
// Positions are 64-bit byte counts since the last prepare: `appl` (what the
// application wrote, or read) and `hw` (what the card played, or captured);
// the ring offset of either is (count - origin) % ring bytes, where origin
// is 0 from a prepare and moves only when a resume hands the ring to a new
// driver instance (whose card starts at offset 0). The ring is one fragment
// larger than the application's fragments x fragment_bytes (its
// "capacity"), so the card's limit never equals its position unless the
// ring is empty (playback) or full (capture); see <nooks/sound.h>.
//
// Suspended (a shadow driver recovers the card's driver): the stream is
// not closed; nothing reaches the driver. A write (read) waits for the
// resume, or fails with WouldBlock if non-blocking; space answers "full"
// (nothing free, nothing ready), position the last known, poll not ready;
// configuration calls are recorded and answered as usual (the stream is
// brought back to them at the resume); drain waits through it. The ring
// keeps its unplayed data; resume_in_driver() sets the new instance up
// with the stream as it was and goes on.
//
// OSS semantics, kept here so every frontend gets them: a configuration the
// card cannot do answers the nearest it can; a playback stream starts once a
// fragment is written (or at drain), unless the application disabled its
// trigger; a blocking write (read) moves every byte, waiting for the card;
// a non-blocking one moves what fits, or fails with WouldBlock; consumed
// playback space is zeroed, so a card that loops plays silence, never stale
// data.
//
// Locks: m_op_mutex serializes the application's operations and every call
// into the driver (held across them); m_mutex guards the positions and the
// state, taken briefly, by period_elapsed and xrun too. Never the other way
// round: m_mutex is never held while the driver is called.
//
// Thread-safety: application operations from any frontend thread (they may
// block); period_elapsed and xrun from the driver's interrupt context.

#include "base/Error.h"
#include "base/Mutex.h"
#include "classes/sound/SoundRing.h"

#include <nooks/sound.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace nk {

class SoundCard;

// What the application asked for (OSS defaults: 8 kHz, U8, mono).
struct PcmConfig {
    uint32_t format { NK_SND_FMT_U8 };
    uint32_t channels { 1 };
    uint32_t rate { 8000 };
    uint32_t fragment_bytes { 4096 };
    uint32_t fragments { 16 };
    // The ring GETOPTR's `ptr` wraps in: the fragments x fragment_bytes the
    // application asked for, even where the card took fewer (the ALSA oss
    // plugin computes its pointer from it and never reads the answer back).
    uint32_t pointer_ring { 16 * 4096 };

    uint32_t frame_bytes() const { return (format == NK_SND_FMT_S16_LE ? 2u : 1u) * channels; }
    bool operator==(PcmConfig const&) const = default;
};

enum class PcmState : uint8_t { Closed, Open, Prepared, Running, Xrun, Draining, Dead };
char const* pcm_state_name(PcmState state);

class PcmSubstream {
public:
    PcmSubstream(SoundCard& card, uint32_t direction, nk_snd_pcm_hw const& hw);
    ~PcmSubstream();
    PcmSubstream(PcmSubstream const&) = delete;
    PcmSubstream& operator=(PcmSubstream const&) = delete;

    SoundCard& card() const { return m_card; }
    uint32_t direction() const { return m_direction; }
    bool playback() const { return m_direction == NK_SND_PLAYBACK; }
    nk_snd_pcm_hw const& hw() const { return m_hw; }
    // The handle native drivers see; in nooks mode the tracker's handle is kept too.
    nk_snd_pcm* handle() { return reinterpret_cast<nk_snd_pcm*>(this); }
    static PcmSubstream& from_handle(nk_snd_pcm* pcm) { return *reinterpret_cast<PcmSubstream*>(pcm); }
    void set_object_handle(uint64_t handle) { m_object_handle.store(handle, std::memory_order_release); }
    uint64_t object_handle() const { return m_object_handle.load(std::memory_order_acquire); }

    // --- the application's side (frontends) -----------------------------------

    // Claims the stream (driver open), with the OSS defaults. Busy if it is
    // open; Unavailable if the card is gone; the driver's refusal as its errno.
    Result<void> open();
    // Stops the stream (its data is dropped: drain first to play it), frees
    // the ring and closes it in the driver. Never fails; idempotent.
    void close();

    // Each records the wish and answers what the stream will use: the
    // nearest the card can do. Takes effect at the next start (a running
    // stream is stopped, its data dropped, as OSS does).
    Result<uint32_t> set_format(uint32_t format);
    Result<uint32_t> set_channels(uint32_t channels);
    Result<uint32_t> set_rate(uint32_t rate);
    // OSS SETFRAGMENT: 2^shift bytes per fragment, `count` fragments (both
    // brought into the card's limits). Answers the layout it will use.
    Result<PcmConfig> set_fragments(uint32_t shift, uint32_t count);
    PcmConfig config() const;
    // The formats the card takes (NK_SND_FMT_* mask).
    uint32_t formats() const { return m_hw.formats; }

    // `interrupted` (may be null): set by the frontend when the application
    // gave up on the call (a signal); wake() then makes the wait see it.
    // Interrupted: what moved so far, or an Interrupted error if nothing did.
    Result<size_t> write(std::span<std::byte const> data, bool nonblocking, std::atomic<bool> const* interrupted);
    Result<size_t> read(std::span<std::byte> data, bool nonblocking, std::atomic<bool> const* interrupted);
    // OSS SYNC: plays what was written (starting the stream if needed), then
    // stops; the next write starts afresh. Capture: stops.
    Result<void> drain(std::atomic<bool> const* interrupted);
    // OSS RESET: stops at once, drops the data, positions back to 0.
    Result<void> reset();
    // OSS SETTRIGGER: false stops the stream and keeps it from starting;
    // true allows it and starts it (capture at once, playback once a
    // fragment is written).
    Result<void> set_trigger(bool enabled);
    bool trigger_enabled() const;

    // OSS GETOSPACE / GETISPACE.
    struct Space {
        uint32_t fragments;  // whole fragments free (playback) / ready (capture)
        uint32_t fragstotal; // fragments of the application's ring
        uint32_t fragsize;
        uint32_t bytes;      // bytes free / ready
    };
    Result<Space> space();
    // OSS GETOPTR / GETIPTR: bytes played (captured) since the last prepare,
    // fragments completed since the last call, the card's offset in the
    // application's ring (fragments x fragment_bytes). Asks the driver
    // where the card is.
    struct Position {
        uint64_t bytes;
        uint32_t blocks;
        uint32_t ptr;
    };
    Result<Position> position();
    // poll: whether a write (read) would move something now.
    bool ready() const;
    // Called (without locks held) after every period, state change and
    // kill: the frontend wakes its pollers. One notifier; null to remove.
    void set_notifier(std::function<void()> notifier);
    // Wakes waiting writers and readers (they re-check `interrupted`).
    void wake();

    // --- the driver's side ----------------------------------------------------

    void period_elapsed(uint32_t position);
    void xrun(uint32_t position);
    // The ring offset where the layer last knew the card to be (a shadow's
    // answer to pointer() for a failed driver).
    uint32_t hw_offset() const;

    // --- a shadow driver's side (any thread but the application's) -----------

    // The driver failed: from now on nothing reaches it (see Suspended).
    // `card_running` and `accepted_limit`: what the failed driver last
    // accepted (started the card; the limit it took, none since prepare),
    // from which the stream counts where the card will stop on its own: at
    // that limit (playback; everything before it will have been played), or
    // where it was (capture, and a card never started). Idempotent; a second
    // failure before the resume counts from what is newer.
    void suspend(bool card_running, std::optional<uint32_t> accepted_limit);
    bool suspended() const;
    // When the card will have played what it was handed (CLOCK_MONOTONIC
    // ns, from the last position report and the rate); 0 if nothing is due.
    uint64_t drained_at_ns() const;
    // The new driver instance is up: opens the stream in it if it was open;
    // a prepared (or running) stream gets its ring back with its unplayed
    // data where the reset card starts, hw_params, prepare and the limit,
    // and is started again if it ran. Then the stream resumes. True if the
    // stream was open; an error (the stream stays suspended) if the driver
    // failed or refused.
    Result<bool> resume_in_driver();
    // The new instance refused the stream's setup: it resumes Open (its
    // data dropped), so the application's next call sets it up again.
    void resume_failed(Error const& error);

    // --- the layer's side -----------------------------------------------------

    // The card is gone: waiters wake, every call fails Unavailable, and the
    // driver is never called again for this stream; the ring is freed.
    void kill();

    struct Stats {
        PcmState state;
        PcmConfig config;
        uint64_t appl_bytes; // since the last prepare
        uint64_t hw_bytes;
        uint64_t periods;    // since open
        uint64_t xruns;      // since open
        uint64_t starts;     // since open
    };
    Stats stats() const;

private:
    // With m_op_mutex held. Bring the stream to Prepared with the wished
    // configuration (hw_params, ring, prepare, initial limit) if it is not.
    Result<void> ensure_prepared() NK_REQUIRES(m_op_mutex);
    Result<void> start() NK_REQUIRES(m_op_mutex);
    // Stops the card if it runs. next == Open: the data is dropped and the
    // positions go back to 0 (prepared again at the next start); Prepared:
    // the data stays (a stream never prepared stays Open).
    Result<void> stop(PcmState next) NK_REQUIRES(m_op_mutex);
    Result<void> release_buffer() NK_REQUIRES(m_op_mutex);
    Result<void> send_limit() NK_REQUIRES(m_op_mutex);
    Result<void> check_usable() const;
    // Applies `change` to the wished configuration; a real change stops the
    // stream (its data dropped), to be prepared again. Answers the wish.
    template<typename Change>
    Result<PcmConfig> change_wish(Change change);
    // The ring's memory is mapped through this (the card's IOMMU; a card
    // with no bus device, in tests, gets one of the stream's own).
    Iommu& iommu() NK_REQUIRES(m_op_mutex);
    std::string describe() const;
    // Folds a position the card reported into m_hw_bytes.
    void advance(uint32_t position) NK_REQUIRES(m_mutex);
    uint32_t capacity() const NK_REQUIRES(m_mutex);
    // The ring offset of byte count `count`.
    uint32_t offset_of(uint64_t count) const NK_REQUIRES(m_mutex);
    bool driver_callable() const;
    // Whether a call may wait for the resume: WouldBlock if `nonblocking`, Interrupted if `interrupted`.
    Result<void> may_wait(bool nonblocking, std::atomic<bool> const* interrupted) const;
    // Waits (the caller dropped the op lock) up to a slice until the stream is resumed, killed or `interrupted`.
    void wait_resumed(std::atomic<bool> const* interrupted) NK_EXCLUDES(m_op_mutex, m_mutex);
    void notify();

    SoundCard& m_card;
    uint32_t const m_direction;
    nk_snd_pcm_hw const m_hw;
    std::atomic<uint64_t> m_object_handle { 0 };

    Mutex m_op_mutex;
    std::unique_ptr<Iommu> m_own_iommu NK_GUARDED_BY(m_op_mutex);
    std::unique_ptr<SoundRing> m_ring NK_GUARDED_BY(m_op_mutex);
    uint64_t m_zeroed NK_GUARDED_BY(m_op_mutex) { 0 }; // playback: consumed space zeroed up to here
    // Bytes of a frame the application wrote (or read) in part, kept for its next call.
    std::vector<std::byte> m_partial NK_GUARDED_BY(m_op_mutex);
    nk_snd_pcm_params m_params NK_GUARDED_BY(m_op_mutex) {};
    bool m_have_params NK_GUARDED_BY(m_op_mutex) { false };

    mutable Mutex m_mutex;
    ConditionVariable m_changed;
    PcmState m_state NK_GUARDED_BY(m_mutex) { PcmState::Closed };
    PcmConfig m_wish NK_GUARDED_BY(m_mutex);
    PcmConfig m_active NK_GUARDED_BY(m_mutex); // what the ring holds (valid from Prepared)
    bool m_trigger NK_GUARDED_BY(m_mutex) { true };
    uint32_t m_ring_bytes NK_GUARDED_BY(m_mutex) { 0 };
    uint64_t m_appl NK_GUARDED_BY(m_mutex) { 0 };
    uint64_t m_hw_bytes NK_GUARDED_BY(m_mutex) { 0 };
    uint64_t m_blocks_reported NK_GUARDED_BY(m_mutex) { 0 };
    uint64_t m_shown_bytes NK_GUARDED_BY(m_mutex) { 0 }; // the played (captured) count position() last showed
    uint64_t m_periods NK_GUARDED_BY(m_mutex) { 0 };
    uint64_t m_xruns NK_GUARDED_BY(m_mutex) { 0 };
    uint64_t m_starts NK_GUARDED_BY(m_mutex) { 0 };
    uint64_t m_origin NK_GUARDED_BY(m_mutex) { 0 };      // the count at ring offset 0
    uint64_t m_position_ns NK_GUARDED_BY(m_mutex) { 0 }; // when the card's position was last reported
    bool m_suspended NK_GUARDED_BY(m_mutex) { false };
    uint64_t m_played_to NK_GUARDED_BY(m_mutex) { 0 };   // suspended: where the card stops on its own
    std::function<void()> m_notifier NK_GUARDED_BY(m_mutex);
};

} // namespace nk
