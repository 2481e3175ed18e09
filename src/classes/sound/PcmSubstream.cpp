// SPDX-License-Identifier: MIT
#include "classes/sound/PcmSubstream.h"

#include "base/Clock.h"
#include "base/Log.h"
#include "classes/sound/SoundCard.h"
#include "kernel/bus/BusDevice.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <chrono>

namespace nk {

namespace {

auto logger() { return log::get("sound"); }

// A wait for the card re-checks its condition at least this often (a card
// that stopped reporting, a frontend interrupt that raced the wait).
constexpr auto wait_slice = std::chrono::milliseconds(200);
// How long a drain may take beyond the buffered audio's duration.
constexpr auto drain_slack = std::chrono::seconds(2);
constexpr uint32_t min_fragment_bytes = 16;
constexpr uint32_t max_fragments = 1024;

std::byte silence_of(uint32_t format) { return format == NK_SND_FMT_U8 ? std::byte { 0x80 } : std::byte { 0 }; }

Error would_block(std::string const& what) { return Error(ErrorCode::Unavailable, fmt::format("{}: would block", what), EAGAIN); }
Error interrupted_error(std::string const& what) { return Error(ErrorCode::Aborted, fmt::format("{}: interrupted", what), EINTR); }

bool is_set(std::atomic<bool> const* flag) { return flag != nullptr && flag->load(std::memory_order_acquire); }

} // namespace

char const* pcm_state_name(PcmState state)
{
    switch (state) {
    case PcmState::Closed: return "closed";
    case PcmState::Open: return "open";
    case PcmState::Prepared: return "prepared";
    case PcmState::Running: return "running";
    case PcmState::Xrun: return "xrun";
    case PcmState::Draining: return "draining";
    case PcmState::Dead: return "dead";
    }
    return "?";
}

PcmSubstream::PcmSubstream(SoundCard& card, uint32_t direction, nk_snd_pcm_hw const& hw)
    : m_card(card)
    , m_direction(direction)
    , m_hw(hw)
{
}

PcmSubstream::~PcmSubstream()
{
    MutexLocker op(m_op_mutex);
    m_ring.reset();
}

std::string PcmSubstream::describe() const { return fmt::format("{} {}", m_card.name(), playback() ? "playback" : "capture"); }

Iommu& PcmSubstream::iommu()
{
    if (auto* device = m_card.bus_device())
        return device->iommu();
    if (!m_own_iommu)
        m_own_iommu = std::make_unique<Iommu>();
    return *m_own_iommu;
}

Result<void> PcmSubstream::check_usable() const
{
    MutexLocker lock(m_mutex);
    if (m_state == PcmState::Dead || !m_card.alive())
        return std::unexpected(Error(ErrorCode::Unavailable, fmt::format("{}: the card is gone (its driver failed or went away)", describe()), EIO));
    if (m_state == PcmState::Closed)
        return std::unexpected(Error(ErrorCode::FailedPrecondition, fmt::format("{}: not open", describe()), EBADF));
    return {};
}

void PcmSubstream::notify()
{
    std::function<void()> notifier;
    {
        MutexLocker lock(m_mutex);
        notifier = m_notifier;
    }
    m_changed.notify_all();
    if (notifier)
        notifier();
}

void PcmSubstream::set_notifier(std::function<void()> notifier)
{
    MutexLocker lock(m_mutex);
    m_notifier = std::move(notifier);
}

void PcmSubstream::wake() { m_changed.notify_all(); }

uint32_t PcmSubstream::offset_of(uint64_t count) const
{
    return m_ring_bytes == 0 ? 0 : static_cast<uint32_t>((count - m_origin) % m_ring_bytes);
}

bool PcmSubstream::suspended() const
{
    MutexLocker lock(m_mutex);
    return m_suspended;
}

bool PcmSubstream::driver_callable() const
{
    MutexLocker lock(m_mutex);
    return !m_suspended && m_state != PcmState::Dead && m_card.alive();
}

Result<void> PcmSubstream::may_wait(bool nonblocking, std::atomic<bool> const* interrupted) const
{
    if (nonblocking)
        return std::unexpected(would_block(describe()));
    if (is_set(interrupted))
        return std::unexpected(interrupted_error(describe()));
    return {};
}

void PcmSubstream::wait_resumed(std::atomic<bool> const* interrupted)
{
    MutexLocker lock(m_mutex);
    m_changed.wait_for(lock, wait_slice, [&]() NK_REQUIRES(m_mutex) { return !m_suspended || m_state == PcmState::Dead || is_set(interrupted); });
}

// --- configuration -------------------------------------------------------------

namespace {

// The fragment layout the card can take nearest to 2^shift x count.
PcmConfig fit_fragments(PcmConfig config, nk_snd_pcm_hw const& hw, uint32_t shift, uint32_t count)
{
    shift = std::min<uint32_t>(shift, 30);
    auto requested_bytes = uint64_t { 1 } << shift;
    auto low = std::max<uint32_t>(min_fragment_bytes, std::bit_ceil(std::max<uint32_t>(hw.period_bytes_min, 1)));
    auto high = std::max(low, std::bit_floor(std::max<uint32_t>(hw.period_bytes_max, 1)));
    auto bytes = static_cast<uint32_t>(std::clamp<uint64_t>(requested_bytes, low, high));
    // One fragment more than the application's lives in the ring (see the header).
    auto most = std::max<uint32_t>(2, hw.buffer_bytes_max / bytes > 0 ? hw.buffer_bytes_max / bytes - 1 : 0);
    // 0x7fff is OSS's "as many as there can be": the application reads the layout back.
    bool as_many = count == 0 || count >= 0x7fff;
    auto fitted = std::clamp<uint32_t>(count, 2, std::min(most, max_fragments));
    config.fragment_bytes = bytes;
    config.fragments = fitted;
    config.pointer_ring = as_many || requested_bytes != bytes
        ? bytes * fitted
        : static_cast<uint32_t>(std::min<uint64_t>(requested_bytes * std::max<uint32_t>(count, 2), uint64_t { 1 } << 30));
    return config;
}

} // namespace

template<typename Change>
Result<PcmConfig> PcmSubstream::change_wish(Change change)
{
    MutexLocker op(m_op_mutex);
    TRY(check_usable());
    PcmConfig wish;
    bool changed = false;
    {
        MutexLocker lock(m_mutex);
        auto before = m_wish;
        change(m_wish);
        changed = m_wish != before;
        wish = m_wish;
    }
    if (changed)
        TRY(stop(PcmState::Open));
    return wish;
}

Result<uint32_t> PcmSubstream::set_format(uint32_t format)
{
    uint32_t chosen = (format & m_hw.formats) != 0 && std::has_single_bit(format) ? format
        : (m_hw.formats & NK_SND_FMT_S16_LE) != 0                               ? NK_SND_FMT_S16_LE
                                                                                 : NK_SND_FMT_U8;
    TRY(change_wish([&](PcmConfig& wish) { wish.format = chosen; }));
    return chosen;
}

Result<uint32_t> PcmSubstream::set_channels(uint32_t channels)
{
    auto chosen = std::clamp(channels, m_hw.channels_min, m_hw.channels_max);
    TRY(change_wish([&](PcmConfig& wish) { wish.channels = chosen; }));
    return chosen;
}

Result<uint32_t> PcmSubstream::set_rate(uint32_t rate)
{
    auto chosen = std::clamp(rate, m_hw.rate_min, m_hw.rate_max);
    TRY(change_wish([&](PcmConfig& wish) { wish.rate = chosen; }));
    return chosen;
}

Result<PcmConfig> PcmSubstream::set_fragments(uint32_t shift, uint32_t count)
{
    return change_wish([&](PcmConfig& wish) { wish = fit_fragments(wish, m_hw, shift, count); });
}

PcmConfig PcmSubstream::config() const
{
    MutexLocker lock(m_mutex);
    return m_wish;
}

bool PcmSubstream::trigger_enabled() const
{
    MutexLocker lock(m_mutex);
    return m_trigger;
}

// --- open and close -----------------------------------------------------------

Result<void> PcmSubstream::open()
{
    MutexLocker op(m_op_mutex);
    {
        MutexLocker lock(m_mutex);
        if (m_state == PcmState::Dead || !m_card.alive())
            return std::unexpected(Error(ErrorCode::Unavailable, fmt::format("{}: the card is gone", describe()), EIO));
        if (m_state != PcmState::Closed)
            return std::unexpected(Error(ErrorCode::Unavailable, fmt::format("{}: open already", describe()), EBUSY));
    }
    // Suspended: opened in the driver's next instance when the stream resumes.
    if (driver_callable()) {
        auto answer = TRY(m_card.port().open(*this));
        if (answer < 0)
            return std::unexpected(Error::from_errno(-answer, fmt::format("{}: the driver refused open", describe())));
    }
    MutexLocker lock(m_mutex);
    PcmConfig defaults;
    defaults.format = (m_hw.formats & NK_SND_FMT_U8) != 0 ? NK_SND_FMT_U8 : NK_SND_FMT_S16_LE;
    defaults.channels = std::clamp(1u, m_hw.channels_min, m_hw.channels_max);
    defaults.rate = std::clamp(8000u, m_hw.rate_min, m_hw.rate_max);
    m_wish = fit_fragments(defaults, m_hw, 12, 16);
    m_active = m_wish;
    m_trigger = true;
    m_appl = m_hw_bytes = m_origin = m_shown_bytes = 0;
    m_blocks_reported = 0;
    m_periods = m_xruns = m_starts = 0;
    m_state = PcmState::Open;
    return {};
}

void PcmSubstream::close()
{
    MutexLocker op(m_op_mutex);
    PcmState state;
    {
        MutexLocker lock(m_mutex);
        state = m_state;
    }
    if (state == PcmState::Closed)
        return;
    if (state != PcmState::Dead && m_card.alive()) {
        // Suspended, stop and release only record it; the driver's instance
        // that had the stream open is gone, its next one never opens it.
        bool in_driver = driver_callable();
        if (auto stopped = stop(PcmState::Open); !stopped)
            logger()->warn("{}: close: {}", describe(), stopped.error());
        if (auto released = release_buffer(); !released)
            logger()->warn("{}: close: {}", describe(), released.error());
        if (in_driver) {
            if (auto closed = m_card.port().close(*this); !closed)
                logger()->warn("{}: close: {}", describe(), closed.error());
        }
    }
    m_ring.reset();
    m_partial.clear();
    {
        MutexLocker lock(m_mutex);
        if (m_state != PcmState::Dead)
            m_state = PcmState::Closed;
        m_notifier = nullptr;
    }
    m_changed.notify_all();
}

void PcmSubstream::kill()
{
    {
        MutexLocker lock(m_mutex);
        m_state = PcmState::Dead;
    }
    notify();
    // Waiters have left the ring (they wait without the op lock); a call in
    // flight into a dead driver returns with an error.
    MutexLocker op(m_op_mutex);
    m_ring.reset();
    m_have_params = false;
}

// --- the ring ---------------------------------------------------------------

uint32_t PcmSubstream::capacity() const
{
    return m_ring_bytes > m_active.fragment_bytes ? m_ring_bytes - m_active.fragment_bytes : 0;
}

Result<void> PcmSubstream::release_buffer()
{
    if (!m_have_params)
        return {};
    m_have_params = false;
    if (!driver_callable())
        return {};
    auto answer = TRY(m_card.port().hw_free(*this));
    if (answer < 0)
        logger()->warn("{}: hw_free answered {}", describe(), answer);
    return {};
}

Result<void> PcmSubstream::ensure_prepared()
{
    PcmConfig wish;
    {
        MutexLocker lock(m_mutex);
        if (m_state != PcmState::Open)
            return {};
        wish = m_wish;
    }
    TRY(release_buffer());
    auto ring_bytes = (wish.fragments + 1) * wish.fragment_bytes;
    if (m_ring && m_ring->bytes() != ring_bytes)
        m_ring.reset();
    if (!m_ring)
        m_ring = TRY(SoundRing::create(iommu(), ring_bytes, playback() ? DmaDirection::ToDevice : DmaDirection::FromDevice));
    m_ring->fill(0, ring_bytes, silence_of(wish.format));
    m_zeroed = 0;
    m_partial.clear();

    nk_snd_pcm_params params {};
    params.format = wish.format;
    params.channels = wish.channels;
    params.rate = wish.rate;
    params.period_bytes = wish.fragment_bytes;
    params.buffer_bytes = ring_bytes;
    params.dma_addr = m_ring->dma_address();
    auto answer = TRY(m_card.port().hw_params(*this, params));
    if (answer < 0)
        return std::unexpected(Error::from_errno(-answer, fmt::format("{}: the driver refused hw_params ({} Hz, {} channels, format {:#x}, "
                                                                      "{} x {} bytes)",
                                                              describe(), wish.rate, wish.channels, wish.format, wish.fragments + 1, wish.fragment_bytes)));
    m_params = params;
    m_have_params = true;
    answer = TRY(m_card.port().prepare(*this));
    if (answer < 0)
        return std::unexpected(Error::from_errno(-answer, fmt::format("{}: the driver refused prepare", describe())));
    {
        MutexLocker lock(m_mutex);
        m_active = wish;
        m_ring_bytes = ring_bytes;
        m_appl = m_hw_bytes = m_origin = m_shown_bytes = 0;
        m_blocks_reported = 0;
        m_state = PcmState::Prepared;
    }
    TRY(send_limit());
    return {};
}

Result<void> PcmSubstream::send_limit()
{
    uint32_t limit = 0;
    {
        MutexLocker lock(m_mutex);
        if (m_ring_bytes == 0)
            return {};
        limit = offset_of(playback() ? m_appl : m_appl + capacity());
    }
    auto answer = TRY(m_card.port().ack(*this, limit));
    if (answer < 0)
        logger()->warn("{}: ack answered {}", describe(), answer);
    return {};
}

Result<void> PcmSubstream::start()
{
    TRY(ensure_prepared());
    {
        MutexLocker lock(m_mutex);
        if (m_state != PcmState::Prepared)
            return {};
    }
    auto answer = TRY(m_card.port().trigger(*this, NK_SND_TRIGGER_START));
    if (answer < 0)
        return std::unexpected(Error::from_errno(-answer, fmt::format("{}: the driver refused to start", describe())));
    {
        MutexLocker lock(m_mutex);
        m_state = PcmState::Running;
        m_position_ns = monotonic_ns();
        ++m_starts;
    }
    notify();
    return {};
}

Result<void> PcmSubstream::stop(PcmState next)
{
    PcmState state;
    {
        MutexLocker lock(m_mutex);
        state = m_state;
    }
    bool running = state == PcmState::Running || state == PcmState::Xrun || state == PcmState::Draining;
    if (running && driver_callable()) {
        auto answer = TRY(m_card.port().trigger(*this, NK_SND_TRIGGER_STOP));
        if (answer < 0)
            logger()->warn("{}: the driver answered {} to stop", describe(), answer);
    }
    {
        MutexLocker lock(m_mutex);
        if (m_state == PcmState::Dead || m_state == PcmState::Closed)
            return {};
        if (next == PcmState::Open || m_state != PcmState::Open)
            m_state = next;
        if (next == PcmState::Open) {
            m_appl = m_hw_bytes = m_origin = m_shown_bytes = 0;
            m_blocks_reported = 0;
        }
    }
    notify();
    return {};
}

void PcmSubstream::advance(uint32_t position)
{
    if (m_ring_bytes == 0 || position >= m_ring_bytes)
        return;
    m_position_ns = monotonic_ns();
    auto current = offset_of(m_hw_bytes);
    uint64_t delta = (position + m_ring_bytes - current) % m_ring_bytes;
    // The card never passes its limit, so a position beyond it is an older
    // one that arrived after a newer (a deferred period report overtaken by
    // a pointer read): behind us, not a ring ahead. Taking it would count
    // unplayed data as played, and the next write would overwrite it.
    uint64_t most = playback() ? m_appl - m_hw_bytes : m_appl + capacity() - m_hw_bytes;
    if (delta > most)
        return;
    m_hw_bytes += delta;
}

// --- data ---------------------------------------------------------------------

Result<size_t> PcmSubstream::write(std::span<std::byte const> data, bool nonblocking, std::atomic<bool> const* interrupted)
{
    if (!playback())
        return std::unexpected(Error(ErrorCode::InvalidArgument, fmt::format("{}: not a playback stream", describe()), EBADF));
    MutexLocker op(m_op_mutex);
    TRY(check_usable());
    if (!suspended())
        TRY(ensure_prepared());
    size_t done = 0;
    while (done < data.size()) {
        TRY(check_usable());
        if (suspended()) {
            // The driver is being recovered: as a full ring, until the stream resumes.
            if (auto allowed = may_wait(nonblocking, interrupted); !allowed) {
                if (done > 0)
                    break;
                return std::unexpected(allowed.error());
            }
            op.unlock();
            wait_resumed(interrupted);
            op.lock();
            continue;
        }
        TRY(ensure_prepared()); // a reset or a new configuration from another thread meanwhile
        uint64_t appl = 0;
        uint64_t hw = 0;
        uint64_t origin = 0;
        uint32_t space = 0;
        uint32_t frame = 0;
        uint32_t fragment = 0;
        bool trigger = false;
        PcmState state;
        {
            MutexLocker lock(m_mutex);
            appl = m_appl;
            hw = m_hw_bytes;
            origin = m_origin;
            space = static_cast<uint32_t>(capacity() - (appl - hw));
            frame = m_active.frame_bytes();
            fragment = m_active.fragment_bytes;
            trigger = m_trigger;
            state = m_state;
        }
        // Played space is zeroed: a card that ran past its limit would play silence, never stale data.
        if (m_zeroed < hw) {
            m_ring->fill(static_cast<uint32_t>((m_zeroed - origin) % m_ring->bytes()), static_cast<uint32_t>(std::min<uint64_t>(hw - m_zeroed, m_ring->bytes())),
                silence_of(m_params.format));
            m_zeroed = hw;
        }
        auto whole = static_cast<uint32_t>(((m_partial.size() + (data.size() - done)) / frame) * frame);
        if (whole == 0) {
            // Less than a frame in all: kept for the next write.
            m_partial.insert(m_partial.end(), data.begin() + static_cast<ptrdiff_t>(done), data.end());
            done = data.size();
            break;
        }
        if (space < frame) {
            if (state == PcmState::Prepared && trigger)
                TRY(start()); // the ring is full: play it
            if (nonblocking) {
                if (done > 0)
                    break;
                return std::unexpected(would_block(describe()));
            }
            if (is_set(interrupted)) {
                if (done > 0)
                    break;
                return std::unexpected(interrupted_error(describe()));
            }
            op.unlock();
            {
                MutexLocker lock(m_mutex);
                m_changed.wait_for(lock, wait_slice, [&]() NK_REQUIRES(m_mutex) {
                    return m_state == PcmState::Dead || m_hw_bytes != hw || m_appl != appl || is_set(interrupted)
                        || (m_state != PcmState::Running && m_state != PcmState::Xrun && m_state != PcmState::Draining);
                });
            }
            op.lock();
            continue;
        }
        auto chunk_bytes = std::min(whole, space / frame * frame);
        // The partial frame of the last write goes first.
        size_t from_partial = std::min<size_t>(m_partial.size(), chunk_bytes);
        auto offset = static_cast<uint32_t>((appl - origin) % m_ring->bytes());
        if (from_partial > 0) {
            m_ring->write(offset, std::span(m_partial).first(from_partial));
            m_partial.erase(m_partial.begin(), m_partial.begin() + static_cast<ptrdiff_t>(from_partial));
        }
        auto from_data = chunk_bytes - from_partial;
        m_ring->write(static_cast<uint32_t>((appl + from_partial - origin) % m_ring->bytes()), data.subspan(done, from_data));
        done += from_data;
        {
            MutexLocker lock(m_mutex);
            m_appl += chunk_bytes;
            if (m_state == PcmState::Xrun)
                m_state = PcmState::Running; // the card resumes as the limit moves
            state = m_state;
        }
        TRY(send_limit());
        if (state == PcmState::Prepared && trigger && appl + chunk_bytes - hw >= fragment)
            TRY(start());
        // Bytes short of a frame at the end: kept for the next write.
        if (done < data.size() && data.size() - done < frame) {
            m_partial.insert(m_partial.end(), data.begin() + static_cast<ptrdiff_t>(done), data.end());
            done = data.size();
        }
    }
    return done;
}

Result<size_t> PcmSubstream::read(std::span<std::byte> data, bool nonblocking, std::atomic<bool> const* interrupted)
{
    if (playback())
        return std::unexpected(Error(ErrorCode::InvalidArgument, fmt::format("{}: not a capture stream", describe()), EBADF));
    MutexLocker op(m_op_mutex);
    TRY(check_usable());
    size_t done = 0;
    // What is left of a frame read in part last time comes first.
    if (!m_partial.empty()) {
        auto n = std::min(m_partial.size(), data.size());
        std::copy_n(m_partial.begin(), n, data.begin());
        m_partial.erase(m_partial.begin(), m_partial.begin() + static_cast<ptrdiff_t>(n));
        done = n;
    }
    while (done < data.size()) {
        TRY(check_usable());
        if (suspended()) {
            if (auto allowed = may_wait(nonblocking, interrupted); !allowed) {
                if (done > 0)
                    break;
                return std::unexpected(allowed.error());
            }
            op.unlock();
            wait_resumed(interrupted);
            op.lock();
            continue;
        }
        TRY(ensure_prepared());
        uint64_t appl = 0;
        uint64_t hw = 0;
        uint64_t origin = 0;
        uint32_t frame = 0;
        PcmState state;
        bool trigger = false;
        {
            MutexLocker lock(m_mutex);
            appl = m_appl;
            hw = m_hw_bytes;
            origin = m_origin;
            frame = m_active.frame_bytes();
            state = m_state;
            trigger = m_trigger;
        }
        if (state == PcmState::Prepared && trigger)
            TRY(start()); // capture starts at the first read
        auto available = static_cast<uint32_t>(hw - appl);
        if (available < frame) {
            if (nonblocking) {
                if (done > 0)
                    break;
                return std::unexpected(would_block(describe()));
            }
            if (is_set(interrupted)) {
                if (done > 0)
                    break;
                return std::unexpected(interrupted_error(describe()));
            }
            op.unlock();
            {
                MutexLocker lock(m_mutex);
                m_changed.wait_for(lock, wait_slice, [&]() NK_REQUIRES(m_mutex) {
                    return m_state == PcmState::Dead || m_hw_bytes != hw || m_appl != appl || is_set(interrupted);
                });
            }
            op.lock();
            continue;
        }
        auto wanted = data.size() - done;
        uint32_t chunk = wanted >= frame ? static_cast<uint32_t>(std::min<size_t>(available, wanted) / frame * frame) : frame;
        auto offset = static_cast<uint32_t>((appl - origin) % m_ring->bytes());
        if (chunk <= wanted) {
            m_ring->read(offset, data.subspan(done, chunk));
            done += chunk;
        } else {
            // Less than a frame asked for: the rest of the frame is kept.
            std::vector<std::byte> one(chunk);
            m_ring->read(offset, one);
            std::copy_n(one.begin(), wanted, data.begin() + static_cast<ptrdiff_t>(done));
            m_partial.assign(one.begin() + static_cast<ptrdiff_t>(wanted), one.end());
            done += wanted;
        }
        {
            MutexLocker lock(m_mutex);
            m_appl += chunk;
        }
        TRY(send_limit());
    }
    return done;
}

Result<void> PcmSubstream::drain(std::atomic<bool> const* interrupted)
{
    MutexLocker op(m_op_mutex);
    TRY(check_usable());
    if (!playback())
        return stop(PcmState::Prepared);
    while (suspended()) {
        TRY(may_wait(false, interrupted));
        op.unlock();
        wait_resumed(interrupted);
        op.lock();
        TRY(check_usable());
    }
    PcmState state;
    uint64_t pending = 0;
    uint32_t rate_bytes = 1;
    {
        MutexLocker lock(m_mutex);
        state = m_state;
        pending = m_appl - m_hw_bytes;
        rate_bytes = std::max<uint32_t>(1, m_active.rate * m_active.frame_bytes());
    }
    m_partial.clear(); // a frame in part cannot be played
    if (state == PcmState::Open || pending == 0)
        return stop(PcmState::Prepared);
    if (state == PcmState::Prepared) {
        if (!trigger_enabled())
            return {};
        TRY(start());
    }
    {
        MutexLocker lock(m_mutex);
        if (m_state == PcmState::Running || m_state == PcmState::Xrun)
            m_state = PcmState::Draining;
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(pending * 1000 / rate_bytes) + drain_slack;
    op.unlock();
    bool drained = false;
    bool gave_up = false;
    {
        MutexLocker lock(m_mutex);
        for (;;) {
            if (m_state == PcmState::Dead)
                break;
            if (m_hw_bytes >= m_appl || m_state != PcmState::Draining) {
                drained = true;
                break;
            }
            if (is_set(interrupted))
                break;
            if (m_suspended) {
                // The driver is being recovered: the clock starts again when the stream resumes.
                deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds((m_appl - m_hw_bytes) * 1000 / rate_bytes) + drain_slack;
            } else if (std::chrono::steady_clock::now() >= deadline) {
                gave_up = true;
                break;
            }
            m_changed.wait_for(lock, wait_slice, [&]() NK_REQUIRES(m_mutex) {
                return m_state == PcmState::Dead || m_hw_bytes >= m_appl || m_state != PcmState::Draining || is_set(interrupted);
            });
        }
    }
    op.lock();
    TRY(check_usable());
    if (gave_up)
        logger()->warn("{}: drain: the card stopped playing with data left; stopping it", describe());
    if (!drained && !gave_up)
        return std::unexpected(interrupted_error(describe()));
    return stop(PcmState::Prepared);
}

Result<void> PcmSubstream::reset()
{
    MutexLocker op(m_op_mutex);
    TRY(check_usable());
    m_partial.clear();
    return stop(PcmState::Open);
}

Result<void> PcmSubstream::set_trigger(bool enabled)
{
    MutexLocker op(m_op_mutex);
    TRY(check_usable());
    {
        MutexLocker lock(m_mutex);
        m_trigger = enabled;
    }
    if (!enabled)
        return stop(PcmState::Prepared);
    if (suspended())
        return {}; // recorded: the stream starts when it resumes and has data (capture: at the next read)
    if (!playback())
        return start();
    bool buffered = false;
    {
        MutexLocker lock(m_mutex);
        buffered = m_state == PcmState::Prepared && m_appl > m_hw_bytes;
    }
    return buffered ? start() : Result<void> {};
}

// --- queries -------------------------------------------------------------------

Result<PcmSubstream::Space> PcmSubstream::space()
{
    TRY(check_usable());
    MutexLocker lock(m_mutex);
    auto const& config = m_state == PcmState::Open ? m_wish : m_active;
    Space space {};
    space.fragsize = config.fragment_bytes;
    space.fragstotal = config.fragments;
    if (m_suspended)
        space.bytes = 0; // "buffers full" (nothing ready) until the stream resumes
    else if (m_state == PcmState::Open)
        space.bytes = playback() ? config.fragment_bytes * config.fragments : 0;
    else
        space.bytes = static_cast<uint32_t>(playback() ? capacity() - (m_appl - m_hw_bytes) : m_hw_bytes - m_appl);
    space.fragments = space.bytes / space.fragsize;
    return space;
}

Result<PcmSubstream::Position> PcmSubstream::position()
{
    MutexLocker op(m_op_mutex);
    TRY(check_usable());
    bool running = false;
    {
        MutexLocker lock(m_mutex);
        running = !m_suspended && (m_state == PcmState::Running || m_state == PcmState::Xrun || m_state == PcmState::Draining);
    }
    if (running) {
        auto where = TRY(m_card.port().pointer(*this));
        MutexLocker lock(m_mutex);
        advance(where);
    }
    MutexLocker lock(m_mutex);
    auto const& config = m_state == PcmState::Open ? m_wish : m_active;
    // An application that follows `ptr` (the ALSA oss plugin) sees progress
    // modulo its ring: a whole ring at once would read as none. Progress is
    // shown at most a ring less a frame per call (the rest at the next);
    // only a resume after a driver failure moves the card that far at once.
    auto step = std::max<uint64_t>(config.pointer_ring, 2 * config.frame_bytes()) - config.frame_bytes();
    m_shown_bytes = std::max(m_shown_bytes, std::min(m_hw_bytes, m_shown_bytes + step));
    Position position {};
    position.bytes = m_shown_bytes;
    auto blocks = m_shown_bytes / config.fragment_bytes;
    position.blocks = static_cast<uint32_t>(blocks - std::min(blocks, m_blocks_reported));
    m_blocks_reported = blocks;
    position.ptr = static_cast<uint32_t>(m_shown_bytes % std::max<uint32_t>(config.pointer_ring, 1));
    return position;
}

bool PcmSubstream::ready() const
{
    MutexLocker lock(m_mutex);
    if (m_suspended && m_state != PcmState::Dead && m_state != PcmState::Closed)
        return false;
    switch (m_state) {
    case PcmState::Dead:
    case PcmState::Closed: return true; // the call fails at once: not a wait
    case PcmState::Open: return playback();
    default: break;
    }
    if (playback())
        return capacity() - (m_appl - m_hw_bytes) >= m_active.frame_bytes();
    return m_hw_bytes - m_appl >= m_active.frame_bytes();
}

// --- the driver's side ---------------------------------------------------------

void PcmSubstream::period_elapsed(uint32_t position)
{
    {
        MutexLocker lock(m_mutex);
        if (m_state != PcmState::Running && m_state != PcmState::Xrun && m_state != PcmState::Draining)
            return; // late: the stream stopped meanwhile
        advance(position);
        ++m_periods;
    }
    notify();
}

void PcmSubstream::xrun(uint32_t position)
{
    {
        MutexLocker lock(m_mutex);
        if (m_state != PcmState::Running && m_state != PcmState::Xrun && m_state != PcmState::Draining)
            return;
        advance(position);
        ++m_xruns;
        // A playback stream that ran dry is in xrun until the next write;
        // a capture overrun only loses frames (the stream runs on).
        if (m_state == PcmState::Running && playback() && m_hw_bytes >= m_appl)
            m_state = PcmState::Xrun;
    }
    notify();
}

uint32_t PcmSubstream::hw_offset() const
{
    MutexLocker lock(m_mutex);
    return offset_of(m_hw_bytes);
}

// --- a shadow driver's side ------------------------------------------------------

void PcmSubstream::suspend(bool card_running, std::optional<uint32_t> accepted_limit)
{
    {
        MutexLocker lock(m_mutex);
        // Where the card stops on its own: a running playback card plays up to
        // the limit it was given; anything else stays where it was counted.
        uint64_t stops_at = m_hw_bytes;
        if (playback() && card_running && accepted_limit && m_ring_bytes > 0 && *accepted_limit < m_ring_bytes) {
            uint64_t ahead = (*accepted_limit + m_ring_bytes - offset_of(m_hw_bytes)) % m_ring_bytes;
            if (m_hw_bytes + ahead <= m_appl)
                stops_at = m_hw_bytes + ahead;
        }
        // A second failure before the resume brought the stream back: the
        // first one's count stands unless the new instance got further.
        m_played_to = m_suspended ? std::max(m_played_to, stops_at) : stops_at;
        m_suspended = true;
    }
    notify();
}

uint64_t PcmSubstream::drained_at_ns() const
{
    MutexLocker lock(m_mutex);
    if (!m_suspended || !playback() || m_played_to <= m_hw_bytes)
        return 0;
    auto rate_bytes = std::max<uint64_t>(1, uint64_t { m_active.rate } * m_active.frame_bytes());
    auto since = m_position_ns != 0 ? m_position_ns : monotonic_ns();
    // The card was at the last reported position no later than the report;
    // a few milliseconds more for the card's clock and the report's delivery.
    constexpr uint64_t margin_ns = 5'000'000;
    return since + (m_played_to - m_hw_bytes) * 1'000'000'000ull / rate_bytes + margin_ns;
}

Result<bool> PcmSubstream::resume_in_driver()
{
    MutexLocker op(m_op_mutex);
    PcmState state;
    {
        MutexLocker lock(m_mutex);
        if (!m_suspended)
            return false;
        state = m_state;
        if (state == PcmState::Dead || state == PcmState::Closed) {
            m_suspended = false;
            state = PcmState::Closed;
        }
    }
    if (state == PcmState::Closed) {
        notify();
        return false;
    }
    auto answer = TRY(m_card.port().open(*this));
    if (answer < 0)
        return std::unexpected(Error::from_errno(-answer, fmt::format("{}: the driver's new instance refused open", describe())));
    bool was_running = state == PcmState::Running || state == PcmState::Xrun || state == PcmState::Draining;
    if (state == PcmState::Open)
        m_have_params = false; // the new instance has none to free
    if (state != PcmState::Open && m_ring && m_have_params) {
        // The ring goes on where the card stopped: the data not yet played
        // (captured data not yet read) is moved to where the reset card starts.
        uint64_t from = 0;
        uint64_t to = 0;
        uint64_t origin = 0;
        uint32_t old_offset = 0;
        {
            MutexLocker lock(m_mutex);
            if (playback()) {
                origin = std::clamp(m_played_to, m_hw_bytes, m_appl);
                from = origin;
                to = m_appl;
            } else {
                origin = m_hw_bytes;
                from = m_appl;
                to = m_hw_bytes;
            }
            old_offset = offset_of(from);
        }
        std::vector<std::byte> kept(static_cast<size_t>(to - from));
        m_ring->read(old_offset, kept);
        m_ring->fill(0, m_ring->bytes(), silence_of(m_params.format));
        uint32_t new_offset = 0;
        {
            MutexLocker lock(m_mutex);
            m_origin = origin;
            if (playback())
                m_hw_bytes = origin;
            m_played_to = m_hw_bytes;
            new_offset = offset_of(from);
        }
        m_ring->write(new_offset, kept);
        m_zeroed = origin;
        answer = TRY(m_card.port().hw_params(*this, m_params));
        if (answer < 0)
            return std::unexpected(Error::from_errno(-answer, fmt::format("{}: the driver's new instance refused hw_params", describe())));
        answer = TRY(m_card.port().prepare(*this));
        if (answer < 0)
            return std::unexpected(Error::from_errno(-answer, fmt::format("{}: the driver's new instance refused prepare", describe())));
        TRY(send_limit());
        if (was_running) {
            answer = TRY(m_card.port().trigger(*this, NK_SND_TRIGGER_START));
            if (answer < 0)
                return std::unexpected(Error::from_errno(-answer, fmt::format("{}: the driver's new instance refused to start", describe())));
            MutexLocker lock(m_mutex);
            m_position_ns = monotonic_ns();
        }
    } else if (state != PcmState::Open) {
        MutexLocker lock(m_mutex);
        m_state = PcmState::Open; // nothing to go on with: set up afresh at the next call
    }
    {
        MutexLocker lock(m_mutex);
        m_suspended = false;
    }
    notify();
    return true;
}

void PcmSubstream::resume_failed(Error const& error)
{
    {
        MutexLocker op(m_op_mutex);
        m_have_params = false;
        m_partial.clear();
        MutexLocker lock(m_mutex);
        if (m_state != PcmState::Dead && m_state != PcmState::Closed) {
            m_state = PcmState::Open;
            m_appl = m_hw_bytes = m_origin = m_shown_bytes = 0;
            m_blocks_reported = 0;
        }
        m_suspended = false;
    }
    logger()->warn("{}: resumed without its data: {}", describe(), error);
    notify();
}

PcmSubstream::Stats PcmSubstream::stats() const
{
    MutexLocker lock(m_mutex);
    return { m_state, m_state == PcmState::Open || m_state == PcmState::Closed ? m_wish : m_active, m_appl, m_hw_bytes, m_periods, m_xruns, m_starts };
}

} // namespace nk
