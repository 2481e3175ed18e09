// SPDX-License-Identifier: MIT
#pragma once

// The card's event file, `<speaker>.events`: one JSON object per line, so a
// test or a person can line up what was heard with what the driver did.
// Every line has
//   "event"   its name ("start", "stop", "underrun_begin", ...),
//   "t_ms"    CLOCK_MONOTONIC in milliseconds (fractional),
// and the fields its writer adds: the speaker adds "frame", the index in its
// WAV file where the event happened; the microphone adds "stream": "capture"
// and "source_frame", the index of the source frame it concerns.
//
// Lines are flushed as they are written (events are rare: starts, stops,
// mixer changes, the edges of an underrun), so the file can be read at any time.
//
// Thread-safety: any thread; its own lock, taken last (under the speaker's or
// the microphone's). A write error is logged once and the log goes on
// counting; it never fails its caller.

#include "base/Error.h"
#include "base/Mutex.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

namespace nk::sound {

class SoundEventLog {
public:
    // Creates (truncates) `path`. The error names the file.
    static Result<std::unique_ptr<SoundEventLog>> open(std::string path);
    ~SoundEventLog();
    SoundEventLog(SoundEventLog const&) = delete;
    SoundEventLog& operator=(SoundEventLog const&) = delete;

    // Appends `fields` with "event" and "t_ms" added.
    void write(std::string const& event, nlohmann::json fields);

    std::string const& path() const { return m_path; }
    uint64_t lines() const;

    // Milliseconds of CLOCK_MONOTONIC, the clock of "t_ms".
    static double now_ms();

private:
    SoundEventLog(std::string path, std::FILE* file);

    std::string const m_path;
    mutable Mutex m_mutex;
    std::FILE* m_file NK_GUARDED_BY(m_mutex);
    uint64_t m_lines NK_GUARDED_BY(m_mutex) { 0 };
    bool m_failed NK_GUARDED_BY(m_mutex) { false };
};

} // namespace nk::sound
