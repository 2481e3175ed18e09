// SPDX-License-Identifier: MIT
#include "devices/sound/Microphone.h"

#include "base/Log.h"
#include "devices/sound/SoundEventLog.h"
#include "devices/sound/WavReader.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <numbers>

namespace nk::sound {

struct Microphone::Spec {
    Source source { Source::Silence };
    double frequency { 0 };
    double amplitude { 0.5 };
    std::string path;
};

namespace {

std::optional<double> parse_number(std::string_view text)
{
    double value = 0;
    auto const* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(value))
        return std::nullopt;
    return value;
}

long sine_value(double frequency, double amplitude, double phase, uint64_t n, uint32_t rate)
{
    return std::lround(amplitude * 32767.0 * std::sin(phase + 2.0 * std::numbers::pi * frequency * double(n) / double(rate)));
}

} // namespace

Result<Microphone::Spec> Microphone::parse(std::string const& spec)
{
    Spec parsed;
    if (spec == "silence")
        return parsed;
    if (spec.starts_with("sine:")) {
        std::string_view rest(spec);
        rest.remove_prefix(5);
        auto colon = rest.find(':');
        auto frequency = parse_number(rest.substr(0, colon));
        if (!frequency || *frequency <= 0 || *frequency > 24000)
            return make_error(ErrorCode::InvalidArgument, "'{}': the frequency must be a number of Hz above 0 and at most 24000 (sine:440)", spec);
        parsed.source = Source::Sine;
        parsed.frequency = *frequency;
        if (colon != std::string_view::npos) {
            auto amplitude = parse_number(rest.substr(colon + 1));
            if (!amplitude || *amplitude < 0 || *amplitude > 1)
                return make_error(ErrorCode::InvalidArgument, "'{}': the amplitude must be a number from 0 to 1 (sine:440:0.5)", spec);
            parsed.amplitude = *amplitude;
        }
        return parsed;
    }
    if (spec.empty())
        return make_error(ErrorCode::InvalidArgument, "is empty: say sine:FREQ[:AMPLITUDE], silence, or the path of a WAV file");
    parsed.source = Source::Wav;
    parsed.path = spec;
    return parsed;
}

Result<void> Microphone::check(std::string const& spec)
{
    auto parsed = TRY(parse(spec));
    if (parsed.source == Source::Wav)
        TRY(WavReader::open(parsed.path));
    return {};
}

Result<std::unique_ptr<Microphone>> Microphone::open(std::string spec, SoundEventLog* events)
{
    auto parsed = TRY(parse(spec));
    std::unique_ptr<WavReader> wav;
    if (parsed.source == Source::Wav)
        wav = TRY(WavReader::open(parsed.path));
    return std::unique_ptr<Microphone>(new Microphone(std::move(spec), parsed, std::move(wav), events));
}

Microphone::Microphone(std::string spec, Spec const& parsed, std::unique_ptr<WavReader> wav, SoundEventLog* events)
    : m_events(events)
    , m_frequency(parsed.frequency)
    , m_amplitude(parsed.amplitude)
    , m_wav(std::move(wav))
{
    m_status.spec = std::move(spec);
    m_status.source = parsed.source;
    switch (parsed.source) {
    case Source::Sine: m_status.describe = fmt::format("sine {} Hz, amplitude {}", parsed.frequency, parsed.amplitude); break;
    case Source::Silence: m_status.describe = "silence"; break;
    case Source::Wav: m_status.describe = fmt::format("WAV {} ({})", parsed.path, m_wav->describe()); break;
    }
}

Microphone::~Microphone() = default;

int16_t Microphone::sine_sample(double frequency, double amplitude, uint64_t n, uint32_t rate)
{
    return static_cast<int16_t>(sine_value(frequency, amplitude, 0.0, n, rate));
}

void Microphone::start(PcmFormat const& format)
{
    MutexLocker lock(m_mutex);
    m_status.format = format;
    m_status.running = true;
    event("start", { { "format", format.format_name() }, { "channels", format.channels }, { "rate", format.rate },
                       { "gain", { { "left", m_status.gain.left }, { "right", m_status.gain.right }, { "mute", m_status.gain.mute } } },
                       { "source", m_status.describe } });
}

Frame16 Microphone::next_frame()
{
    m_status.source_frames++;
    switch (m_status.source) {
    case Source::Silence: return {};
    case Source::Wav: {
        Frame16 frame;
        if (m_wav->next(frame))
            return frame;
        if (!m_status.ended) {
            m_status.ended = true;
            event("microphone_end", { { "source_frame", m_status.source_frames - 1 } });
            log::get("devices")->info("microphone {}: the file ended after {} frames; silence from now on", m_status.spec,
                m_status.source_frames - 1);
        }
        return {};
    }
    case Source::Sine: {
        auto rate = m_status.format.rate;
        if (rate != m_sine_rate) {
            // Keep the phase where the old rate left it.
            if (m_sine_rate != 0)
                m_sine_phase = std::fmod(m_sine_phase + 2.0 * std::numbers::pi * m_frequency * double(m_sine_n) / double(m_sine_rate),
                    2.0 * std::numbers::pi);
            m_sine_rate = rate;
            m_sine_n = 0;
        }
        auto value = static_cast<int16_t>(sine_value(m_frequency, m_amplitude, m_sine_phase, m_sine_n++, rate));
        return { value, value };
    }
    }
    return {};
}

void Microphone::capture(std::span<std::byte> out)
{
    MutexLocker lock(m_mutex);
    auto const& format = m_status.format;
    auto const frame_bytes = format.frame_bytes();
    auto const count = out.size() / frame_bytes;
    if (count == 0)
        return;
    end_overrun();
    for (size_t i = 0; i < count; ++i)
        encode_frame(apply_level(next_frame(), m_status.gain), out.data() + i * frame_bytes, format);
    m_status.frames_captured += count;
}

void Microphone::overrun(uint64_t frames)
{
    MutexLocker lock(m_mutex);
    if (frames == 0)
        return;
    if (!m_status.in_overrun) {
        m_status.in_overrun = true;
        m_status.overruns++;
        event("overrun_begin");
    }
    for (uint64_t i = 0; i < frames; ++i)
        (void)next_frame();
    m_status.frames_dropped += frames;
}

void Microphone::stop()
{
    MutexLocker lock(m_mutex);
    if (!m_status.running)
        return;
    end_overrun();
    m_status.running = false;
    event("stop");
}

void Microphone::set_gain(MixLevel const& gain)
{
    MutexLocker lock(m_mutex);
    if (gain == m_status.gain)
        return;
    m_status.gain = gain;
    event("mixer", { { "capture", { { "left", gain.left }, { "right", gain.right }, { "mute", gain.mute } } } });
}

Microphone::Status Microphone::status() const
{
    MutexLocker lock(m_mutex);
    return m_status;
}

void Microphone::end_overrun()
{
    if (!m_status.in_overrun)
        return;
    m_status.in_overrun = false;
    event("overrun_end");
}

void Microphone::event(std::string const& name, nlohmann::json fields)
{
    if (m_events == nullptr)
        return;
    if (!fields.is_object())
        fields = nlohmann::json::object();
    fields["stream"] = "capture";
    if (!fields.contains("source_frame"))
        fields["source_frame"] = m_status.source_frames;
    m_events->write(name, std::move(fields));
}

} // namespace nk::sound
