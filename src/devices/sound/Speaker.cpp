// SPDX-License-Identifier: MIT
#include "devices/sound/Speaker.h"

#include "base/Log.h"
#include "devices/sound/SoundEventLog.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstring>
#include <limits>

namespace nk::sound {

namespace {

nlohmann::json level_json(MixLevel const& level)
{
    return { { "left", level.left }, { "right", level.right }, { "mute", level.mute } };
}

void put16(std::byte* at, uint32_t value)
{
    at[0] = static_cast<std::byte>(value & 0xff);
    at[1] = static_cast<std::byte>((value >> 8) & 0xff);
}

void put32(std::byte* at, uint32_t value)
{
    put16(at, value & 0xffff);
    put16(at + 2, value >> 16);
}

} // namespace

Result<std::unique_ptr<Speaker>> Speaker::open(std::string path, SoundEventLog* events)
{
    std::FILE* file = nullptr;
    if (!path.empty()) {
        file = std::fopen(path.c_str(), "wb");
        if (file == nullptr)
            return make_error(ErrorCode::FailedPrecondition, "cannot create the speaker file {}: {}", path, std::strerror(errno));
    }
    auto speaker = std::unique_ptr<Speaker>(new Speaker(std::move(path), file, events));
    {
        // A valid, empty WAV from the start: a reader never finds a torn header.
        MutexLocker lock(speaker->m_mutex);
        speaker->write_header();
    }
    return speaker;
}

Speaker::Speaker(std::string path, std::FILE* file, SoundEventLog* events)
    : m_path(std::move(path))
    , m_events(events)
    , m_file(file)
{
    m_status.path = m_path;
}

Speaker::~Speaker()
{
    MutexLocker lock(m_mutex);
    if (m_status.running) {
        end_underrun();
        m_status.running = false;
        event("stop", { { "reason", "destroyed" } });
    }
    write_header();
    if (m_file != nullptr)
        std::fclose(m_file);
}

void Speaker::start(PcmFormat const& format)
{
    MutexLocker lock(m_mutex);
    if (m_status.starts > 0) {
        if (format.rate != m_status.format.rate)
            event("rate_change", { { "from", m_status.format.rate }, { "to", format.rate } });
        if (format.format != m_status.format.format || format.channels != m_status.format.channels)
            event("format_change", { { "from", { { "format", m_status.format.format_name() }, { "channels", m_status.format.channels } } },
                                       { "to", { { "format", format.format_name() }, { "channels", format.channels } } } });
    }
    if (m_status.wav_rate == 0) {
        m_status.wav_rate = format.rate;
        write_header();
    }
    m_status.format = format;
    m_status.running = true;
    m_status.starts++;
    event("start", { { "format", format.format_name() }, { "channels", format.channels }, { "rate", format.rate },
                       { "master", level_json(m_status.master) }, { "pcm", level_json(m_status.pcm) } });
}

void Speaker::play(std::span<std::byte const> frames)
{
    MutexLocker lock(m_mutex);
    auto const& format = m_status.format;
    auto const frame_bytes = format.frame_bytes();
    auto const count = frames.size() / frame_bytes;
    if (count == 0)
        return;
    end_underrun();
    m_scratch.resize(count * 2);
    for (size_t i = 0; i < count; ++i) {
        auto frame = apply_levels(decode_frame(frames.data() + i * frame_bytes, format), m_status.master, m_status.pcm);
        m_scratch[2 * i] = frame.left;
        m_scratch[2 * i + 1] = frame.right;
    }
    append(m_scratch);
    m_status.frames_played += count;
}

void Speaker::underrun(uint64_t frames)
{
    MutexLocker lock(m_mutex);
    if (frames == 0)
        return;
    if (!m_status.in_underrun) {
        m_status.in_underrun = true;
        m_status.underruns++;
        event("underrun_begin");
    }
    static constexpr std::array<int16_t, 2048> zeros {};
    for (uint64_t left = frames; left > 0;) {
        auto chunk = std::min<uint64_t>(left, zeros.size() / 2);
        append(std::span(zeros.data(), chunk * 2));
        left -= chunk;
    }
    m_status.silence_frames += frames;
}

void Speaker::stop()
{
    MutexLocker lock(m_mutex);
    if (!m_status.running)
        return;
    end_underrun();
    m_status.running = false;
    event("stop");
    write_header();
}

void Speaker::set_mixer(MixLevel const& master, MixLevel const& pcm)
{
    MutexLocker lock(m_mutex);
    if (master == m_status.master && pcm == m_status.pcm)
        return;
    m_status.master = master;
    m_status.pcm = pcm;
    event("mixer", { { "master", level_json(master) }, { "pcm", level_json(pcm) } });
}

Speaker::Status Speaker::status() const
{
    MutexLocker lock(m_mutex);
    return m_status;
}

void Speaker::end_underrun()
{
    if (!m_status.in_underrun)
        return;
    m_status.in_underrun = false;
    event("underrun_end");
}

void Speaker::event(std::string const& name, nlohmann::json fields)
{
    if (m_events == nullptr)
        return;
    if (!fields.is_object())
        fields = nlohmann::json::object();
    fields["frame"] = m_status.wav_frames;
    m_events->write(name, std::move(fields));
}

void Speaker::append(std::span<int16_t const> samples)
{
    m_status.wav_frames += samples.size() / 2;
    if (m_file == nullptr || m_status.write_failed)
        return;
    // WAV data is little endian; so is every host this runs on, but say it.
    static_assert(std::endian::native == std::endian::little);
    if (std::fwrite(samples.data(), sizeof(int16_t), samples.size(), m_file) != samples.size())
        fail("write");
}

void Speaker::write_header()
{
    if (m_file == nullptr || m_status.write_failed)
        return;
    // The sizes saturate: a file past 4 GiB keeps playing in readers that
    // take the data to the end of the file.
    auto data_bytes = std::min<uint64_t>(m_status.wav_frames * 4, std::numeric_limits<uint32_t>::max() - 36);
    auto rate = m_status.wav_rate != 0 ? m_status.wav_rate : 8000u;
    std::array<std::byte, wav_header_bytes> header {};
    std::memcpy(header.data(), "RIFF", 4);
    put32(header.data() + 4, static_cast<uint32_t>(36 + data_bytes));
    std::memcpy(header.data() + 8, "WAVEfmt ", 8);
    put32(header.data() + 16, 16);       // fmt chunk size
    put16(header.data() + 20, 1);        // PCM
    put16(header.data() + 22, 2);        // channels
    put32(header.data() + 24, rate);
    put32(header.data() + 28, rate * 4); // bytes per second
    put16(header.data() + 32, 4);        // bytes per frame
    put16(header.data() + 34, 16);       // bits per sample
    std::memcpy(header.data() + 36, "data", 4);
    put32(header.data() + 40, static_cast<uint32_t>(data_bytes));
    if (std::fseek(m_file, 0, SEEK_SET) != 0 || std::fwrite(header.data(), 1, header.size(), m_file) != header.size()
        || std::fseek(m_file, 0, SEEK_END) != 0 || std::fflush(m_file) != 0)
        fail("header write");
}

void Speaker::fail(char const* what)
{
    m_status.write_failed = true;
    log::get("devices")->error("speaker {}: {} failed: {}; the rest of the audio is not recorded", m_path, what, std::strerror(errno));
}

} // namespace nk::sound
