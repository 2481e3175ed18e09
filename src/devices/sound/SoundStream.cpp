// SPDX-License-Identifier: MIT
#include "devices/sound/SoundStream.h"

#include "devices/sound/Microphone.h"
#include "devices/sound/Speaker.h"

#include <hw/nksnd.h>

#include <algorithm>

namespace nk::sound {

namespace {

// The reset values of <hw/nksnd.h>: audibly wrong for any real stream.
constexpr uint32_t default_format = NKSND_FORMAT(NKSND_FMT_U8, 1);
constexpr uint32_t default_rate = 8000;
// FORMAT keeps only the fields it has.
constexpr uint32_t format_mask = 0xf0fu;
constexpr uint32_t status_bits = NKSND_INT_PERIOD | NKSND_INT_XRUN | NKSND_INT_ERROR;

} // namespace

SoundStream::Outcome& SoundStream::Outcome::operator|=(Outcome const& other)
{
    interrupt |= other.interrupt;
    started |= other.started;
    stopped |= other.stopped;
    return *this;
}

SoundStream::SoundStream(uint32_t index)
    : m_index(index)
    , m_format_reg(default_format)
    , m_rate(default_rate)
{
}

PcmFormat SoundStream::decoded_format() const
{
    return { .format = NKSND_FORMAT_FMT(m_format_reg), .channels = NKSND_FORMAT_CHANNELS(m_format_reg), .rate = m_rate };
}

uint32_t SoundStream::read_register(uint32_t offset) const
{
    switch (offset) {
    case NKSND_SREG_CTRL: return m_running ? NKSND_CTRL_RUN : 0u;
    case NKSND_SREG_FORMAT: return m_format_reg;
    case NKSND_SREG_RATE: return m_rate;
    case NKSND_SREG_BUF_ADDR_LO: return static_cast<uint32_t>(m_buf_addr);
    case NKSND_SREG_BUF_ADDR_HI: return static_cast<uint32_t>(m_buf_addr >> 32);
    case NKSND_SREG_BUF_BYTES: return m_buf_bytes;
    case NKSND_SREG_PERIOD_BYTES: return m_period_bytes;
    case NKSND_SREG_LIMIT: return m_limit;
    case NKSND_SREG_POSITION: return m_position;
    case NKSND_SREG_INT_STATUS: return m_status;
    case NKSND_SREG_INT_ENABLE: return m_enable;
    case NKSND_SREG_ERROR_CODE: return m_error;
    case NKSND_SREG_FRAMES: return static_cast<uint32_t>(m_frames);
    case NKSND_SREG_XRUNS: return m_xruns;
    default: return 0;
    }
}

SoundStream::Outcome SoundStream::write_register(uint32_t offset, uint32_t value, Clock::time_point now, Io const& io)
{
    Outcome outcome;
    // The settings RUN checks cannot change under a running stream.
    auto setting = [&](auto& reg, auto new_value) {
        if (m_running)
            return fail(NKSND_ERR_BUSY, io);
        reg = new_value;
        return Outcome {};
    };
    switch (offset) {
    case NKSND_SREG_CTRL:
        if ((value & NKSND_CTRL_RESET) != 0)
            outcome |= reset_stream(io);
        if ((value & NKSND_CTRL_RUN) != 0 && !m_running)
            outcome |= start(now, io);
        else if ((value & NKSND_CTRL_RUN) == 0 && m_running)
            outcome |= stop(io);
        return outcome;
    case NKSND_SREG_FORMAT: return setting(m_format_reg, value & format_mask);
    case NKSND_SREG_RATE: return setting(m_rate, value);
    case NKSND_SREG_BUF_ADDR_LO: return setting(m_buf_addr, (m_buf_addr & ~0xffff'ffffull) | value);
    case NKSND_SREG_BUF_ADDR_HI: return setting(m_buf_addr, (m_buf_addr & 0xffff'ffffull) | (uint64_t(value) << 32));
    case NKSND_SREG_BUF_BYTES: return setting(m_buf_bytes, value);
    case NKSND_SREG_PERIOD_BYTES: return setting(m_period_bytes, value);
    case NKSND_SREG_LIMIT:
        if (m_running) {
            // The ring is fixed while running, so a bad LIMIT is known now.
            if (value > m_buf_bytes || value % m_format.frame_bytes() != 0)
                return fail(NKSND_ERR_BAD_LIMIT, io);
            if (m_in_xrun)
                catch_up_xrun(now, io);
        }
        m_limit = value;
        return outcome;
    case NKSND_SREG_INT_STATUS: m_status &= ~value; return outcome;
    case NKSND_SREG_INT_ENABLE: {
        auto newly = value & status_bits & ~m_enable;
        m_enable = value & status_bits;
        // Enabling a bit that is already set fires the vector, as a level would.
        outcome.interrupt = (newly & m_status) != 0;
        return outcome;
    }
    default: return outcome; // POSITION, ERROR_CODE, FRAMES, XRUNS are read-only
    }
}

uint32_t SoundStream::check(Io const& io) const
{
    auto format = decoded_format();
    if (!format.valid_format())
        return NKSND_ERR_BAD_FORMAT;
    if (m_rate < NKSND_RATE_MIN || m_rate > NKSND_RATE_MAX)
        return NKSND_ERR_BAD_RATE;
    auto const frame = format.frame_bytes();
    if (m_buf_bytes < NKSND_BUF_BYTES_MIN || m_buf_bytes > NKSND_BUF_BYTES_MAX || m_buf_bytes % frame != 0)
        return NKSND_ERR_BAD_BUFFER;
    // A POSITION the ring (or the frame size) no longer holds: reprogrammed
    // without a reset of the stream.
    if (m_position >= m_buf_bytes || m_position % frame != 0)
        return NKSND_ERR_BAD_BUFFER;
    if (m_period_bytes < NKSND_PERIOD_BYTES_MIN || m_buf_bytes % m_period_bytes != 0)
        return NKSND_ERR_BAD_PERIOD;
    if (m_limit > m_buf_bytes || m_limit % frame != 0)
        return NKSND_ERR_BAD_LIMIT;
    if (!io.iommu.pin(m_buf_addr, m_buf_bytes, direction()))
        return NKSND_ERR_DMA;
    return NKSND_ERR_NONE;
}

SoundStream::Outcome SoundStream::start(Clock::time_point now, Io const& io)
{
    if (auto code = check(io); code != NKSND_ERR_NONE)
        return fail(code, io);
    m_format = decoded_format();
    m_start = now;
    m_accounted = 0;
    m_in_xrun = false;
    m_running = true;
    if (playback())
        io.speaker.start(m_format);
    else
        io.microphone.start(m_format);
    return { .started = true };
}

SoundStream::Outcome SoundStream::stop(Io const& io)
{
    if (!m_running)
        return {};
    m_running = false;
    m_in_xrun = false;
    if (playback())
        io.speaker.stop();
    else
        io.microphone.stop();
    return { .stopped = true };
}

SoundStream::Outcome SoundStream::reset_stream(Io const& io)
{
    auto outcome = stop(io);
    m_position = 0;
    m_status = 0;
    m_error = NKSND_ERR_NONE;
    m_frames = 0;
    m_xruns = 0;
    return outcome;
}

SoundStream::Outcome SoundStream::power_on(Io const& io)
{
    auto outcome = reset_stream(io);
    m_format_reg = default_format;
    m_rate = default_rate;
    m_buf_addr = 0;
    m_buf_bytes = 0;
    m_period_bytes = 0;
    m_limit = 0;
    m_enable = 0;
    return outcome;
}

SoundStream::Outcome SoundStream::fail(uint32_t code, Io const& io)
{
    auto outcome = stop(io);
    if (m_error == NKSND_ERR_NONE)
        m_error = code;
    outcome |= raise(NKSND_INT_ERROR);
    return outcome;
}

SoundStream::Outcome SoundStream::raise(uint32_t bits)
{
    auto newly = bits & ~m_status;
    m_status |= bits;
    return { .interrupt = (newly & m_enable) != 0 };
}

uint64_t SoundStream::ring_frames() const
{
    auto const bytes = (uint64_t(limit_offset()) + m_buf_bytes - m_position) % m_buf_bytes;
    return bytes / m_format.frame_bytes();
}

uint64_t SoundStream::frames_due(Clock::time_point now) const
{
    if (now <= m_start)
        return 0;
    auto elapsed = static_cast<unsigned __int128>(std::chrono::duration_cast<std::chrono::nanoseconds>(now - m_start).count());
    return static_cast<uint64_t>(elapsed * m_format.rate / 1'000'000'000u);
}

std::chrono::nanoseconds SoundStream::tick_interval() const
{
    using namespace std::chrono_literals;
    auto const frame = std::max<uint32_t>(m_format.frame_bytes(), 1);
    auto const rate = std::max<uint32_t>(m_format.rate, 1);
    auto period = std::chrono::nanoseconds(uint64_t(m_period_bytes / frame) * 1'000'000'000u / rate);
    return std::clamp<std::chrono::nanoseconds>(period / 2, 1ms, 5ms);
}

void SoundStream::xrun(uint64_t frames, Outcome& outcome, Io const& io)
{
    if (playback())
        io.speaker.underrun(frames);
    else
        io.microphone.overrun(frames);
    if (!m_in_xrun) {
        m_in_xrun = true;
        m_xruns++;
        outcome |= raise(NKSND_INT_XRUN);
    }
}

void SoundStream::catch_up_xrun(Clock::time_point now, Io const& io)
{
    auto due = frames_due(now);
    if (due <= m_accounted)
        return;
    Outcome ignored; // already within the xrun: nothing new to raise
    xrun(due - m_accounted, ignored, io);
    m_accounted = due;
}

SoundStream::Outcome SoundStream::tick(Clock::time_point now, Io const& io)
{
    Outcome outcome;
    if (!m_running)
        return outcome;
    auto due_total = frames_due(now);
    if (due_total <= m_accounted)
        return outcome;
    auto const due = due_total - m_accounted;
    auto const moved = std::min(due, ring_frames());
    if (moved > 0) {
        // The whole ring, each time: the driver may have unmapped it since RUN.
        auto ring = io.iommu.pin(m_buf_addr, m_buf_bytes, direction());
        if (!ring)
            return fail(NKSND_ERR_DMA, io);
        auto const bytes = moved * m_format.frame_bytes();
        auto const first = std::min<uint64_t>(bytes, m_buf_bytes - m_position);
        auto span = ring->bytes();
        for (auto [offset, length] : { std::pair<uint64_t, uint64_t> { m_position, first }, { 0, bytes - first } }) {
            if (length == 0)
                continue;
            if (playback())
                io.speaker.play(span.subspan(offset, length));
            else
                io.microphone.capture(span.subspan(offset, length));
        }
        // Periods end at multiples of PERIOD_BYTES, the ring's end among them.
        if ((m_position + bytes) / m_period_bytes != m_position / m_period_bytes)
            outcome |= raise(NKSND_INT_PERIOD);
        m_position = static_cast<uint32_t>((m_position + bytes) % m_buf_bytes);
        m_frames += moved;
        m_in_xrun = false;
    }
    if (due > moved)
        xrun(due - moved, outcome, io);
    m_accounted = due_total;
    return outcome;
}

} // namespace nk::sound
