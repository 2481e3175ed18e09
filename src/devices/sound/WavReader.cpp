// SPDX-License-Identifier: MIT
#include "devices/sound/WavReader.h"

#include "base/ScopeGuard.h"

#include <hw/nksnd.h>

#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <sys/stat.h>

namespace nk::sound {

namespace {

uint16_t get16(unsigned char const* at) { return uint16_t(at[0] | (at[1] << 8)); }
uint32_t get32(unsigned char const* at) { return uint32_t(get16(at)) | (uint32_t(get16(at + 2)) << 16); }

} // namespace

Result<std::unique_ptr<WavReader>> WavReader::open(std::string const& path)
{
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (file == nullptr)
        return make_error(errno == ENOENT ? ErrorCode::NotFound : ErrorCode::FailedPrecondition, "cannot open {}: {}", path,
            std::strerror(errno));
    bool keep = false;
    ScopeGuard close_file([&] {
        if (!keep)
            std::fclose(file);
    });
    struct stat info {};
    if (fstat(fileno(file), &info) != 0 || !S_ISREG(info.st_mode))
        return make_error(ErrorCode::InvalidArgument, "{} is not a regular file", path);
    auto const file_size = static_cast<uint64_t>(info.st_size);

    std::array<unsigned char, 12> riff {};
    if (std::fread(riff.data(), 1, riff.size(), file) != riff.size() || std::memcmp(riff.data(), "RIFF", 4) != 0
        || std::memcmp(riff.data() + 8, "WAVE", 4) != 0)
        return make_error(ErrorCode::InvalidArgument, "{} is not a WAV file (no RIFF/WAVE header)", path);

    std::optional<PcmFormat> format;
    uint64_t offset = riff.size();
    for (;;) {
        std::array<unsigned char, 8> chunk {};
        if (std::fread(chunk.data(), 1, chunk.size(), file) != chunk.size())
            return make_error(ErrorCode::InvalidArgument, "{}: no data chunk", path);
        offset += chunk.size();
        uint64_t size = get32(chunk.data() + 4);
        if (std::memcmp(chunk.data(), "fmt ", 4) == 0) {
            std::array<unsigned char, 40> fmt_chunk {};
            if (size < 16 || size > fmt_chunk.size() || std::fread(fmt_chunk.data(), 1, size, file) != size)
                return make_error(ErrorCode::InvalidArgument, "{}: malformed fmt chunk", path);
            auto tag = get16(fmt_chunk.data());
            auto channels = get16(fmt_chunk.data() + 2);
            auto rate = get32(fmt_chunk.data() + 4);
            auto block_align = get16(fmt_chunk.data() + 12);
            auto bits = get16(fmt_chunk.data() + 14);
            // WAVE_FORMAT_EXTENSIBLE: the subformat GUID starts with the real tag.
            if (tag == 0xfffe && size >= 26)
                tag = get16(fmt_chunk.data() + 24);
            if (tag != 1)
                return make_error(ErrorCode::InvalidArgument, "{}: not PCM (format tag {:#x}); PCM U8 or S16_LE is read", path, tag);
            if (bits != 8 && bits != 16)
                return make_error(ErrorCode::InvalidArgument, "{}: {}-bit samples; 8-bit (U8) or 16-bit (S16_LE) is read", path, bits);
            if (channels != 1 && channels != 2)
                return make_error(ErrorCode::InvalidArgument, "{}: {} channels; 1 or 2 is read", path, channels);
            if (rate == 0 || block_align != channels * bits / 8)
                return make_error(ErrorCode::InvalidArgument, "{}: inconsistent fmt chunk (rate {}, block align {})", path, rate, block_align);
            format = PcmFormat { .format = bits == 16 ? NKSND_FMT_S16_LE : NKSND_FMT_U8, .channels = channels, .rate = rate };
            offset += size;
            if (size % 2 != 0 && std::fseek(file, 1, SEEK_CUR) == 0)
                offset++;
            continue;
        }
        if (std::memcmp(chunk.data(), "data", 4) == 0) {
            if (!format)
                return make_error(ErrorCode::InvalidArgument, "{}: data chunk before the fmt chunk", path);
            if (size == 0 || size == 0xffff'ffffu || offset + size > file_size)
                size = file_size > offset ? file_size - offset : 0;
            keep = true;
            return std::unique_ptr<WavReader>(new WavReader(file, *format, size / format->frame_bytes()));
        }
        // Any other chunk (LIST, fact...): skip it, with its pad byte.
        offset += size + size % 2;
        if (offset > file_size || std::fseek(file, static_cast<long>(offset), SEEK_SET) != 0)
            return make_error(ErrorCode::InvalidArgument, "{}: no data chunk", path);
    }
}

WavReader::WavReader(std::FILE* file, PcmFormat format, uint64_t frames)
    : m_file(file)
    , m_format(format)
    , m_frames(frames)
    , m_buffer(4096 / format.frame_bytes() * format.frame_bytes())
{
}

WavReader::~WavReader() { std::fclose(m_file); }

bool WavReader::next(Frame16& frame)
{
    if (m_position >= m_frames)
        return false;
    auto const frame_bytes = m_format.frame_bytes();
    if (m_buffered - m_consumed < frame_bytes) {
        auto wanted = std::min<uint64_t>(m_buffer.size() / frame_bytes, m_frames - m_position) * frame_bytes;
        m_buffered = std::fread(m_buffer.data(), 1, wanted, m_file);
        m_consumed = 0;
        if (m_buffered < frame_bytes) {
            m_frames = m_position; // a short file: it ends here
            return false;
        }
    }
    frame = decode_frame(m_buffer.data() + m_consumed, m_format);
    m_consumed += frame_bytes;
    m_position++;
    return true;
}

std::string WavReader::describe() const
{
    return fmt::format("{}, {} channel{}, {} Hz, {} frames", m_format.format_name(), m_format.channels, m_format.channels == 1 ? "" : "s",
        m_format.rate, m_frames);
}

} // namespace nk::sound
