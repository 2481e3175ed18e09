// SPDX-License-Identifier: MIT
#pragma once

// Reads the frames of a PCM WAV file one by one: the microphone's file
// source. Accepts format tag 1 (PCM) or WAVE_FORMAT_EXTENSIBLE with a PCM
// subformat, 8-bit unsigned or 16-bit little-endian samples, 1 or 2
// channels, any rate. A data chunk whose size is 0, 0xffffffff or past the
// end of the file (a recording still being written) extends to the end.
//
// Thread-safety: none; its owner (the microphone) serializes it.
// Ownership: owns its file descriptor.

#include "base/Error.h"
#include "devices/sound/SoundFormat.h"

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace nk::sound {

class WavReader {
public:
    // Opens `path` and reads its header. InvalidArgument (saying what is
    // wrong) for anything that is not a WAV of the kind above; the system's
    // error if it cannot be opened.
    static Result<std::unique_ptr<WavReader>> open(std::string const& path);
    ~WavReader();
    WavReader(WavReader const&) = delete;
    WavReader& operator=(WavReader const&) = delete;

    // The file's own format (its rate is only reported: frames are never resampled).
    PcmFormat const& format() const { return m_format; }
    uint64_t frames() const { return m_frames; }
    // The next frame as S16 stereo; false at the end (or on a read error).
    bool next(Frame16& frame);
    uint64_t position() const { return m_position; }
    // "S16_LE, 2 channels, 44100 Hz, 88200 frames".
    std::string describe() const;

private:
    WavReader(std::FILE* file, PcmFormat format, uint64_t frames);

    std::FILE* m_file;
    PcmFormat m_format;
    uint64_t m_frames;
    uint64_t m_position { 0 };
    std::vector<std::byte> m_buffer;
    size_t m_buffered { 0 };
    size_t m_consumed { 0 };
};

} // namespace nk::sound
