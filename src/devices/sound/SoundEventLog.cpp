// SPDX-License-Identifier: MIT
#include "devices/sound/SoundEventLog.h"

#include "base/Log.h"

#include <cerrno>
#include <cstring>
#include <ctime>

namespace nk::sound {

Result<std::unique_ptr<SoundEventLog>> SoundEventLog::open(std::string path)
{
    std::FILE* file = std::fopen(path.c_str(), "w");
    if (file == nullptr)
        return make_error(ErrorCode::FailedPrecondition, "cannot create the sound event file {}: {}", path, std::strerror(errno));
    return std::unique_ptr<SoundEventLog>(new SoundEventLog(std::move(path), file));
}

SoundEventLog::SoundEventLog(std::string path, std::FILE* file)
    : m_path(std::move(path))
    , m_file(file)
{
}

SoundEventLog::~SoundEventLog()
{
    MutexLocker lock(m_mutex);
    if (m_file != nullptr)
        std::fclose(m_file);
}

double SoundEventLog::now_ms()
{
    timespec now {};
    clock_gettime(CLOCK_MONOTONIC, &now);
    return double(now.tv_sec) * 1e3 + double(now.tv_nsec) / 1e6;
}

void SoundEventLog::write(std::string const& event, nlohmann::json fields)
{
    if (!fields.is_object())
        fields = nlohmann::json::object();
    fields["event"] = event;
    fields["t_ms"] = now_ms();
    auto line = fields.dump() + "\n";
    MutexLocker lock(m_mutex);
    m_lines++;
    if (m_failed)
        return;
    if (std::fwrite(line.data(), 1, line.size(), m_file) != line.size() || std::fflush(m_file) != 0) {
        m_failed = true;
        log::get("devices")->error("sound events {}: write failed: {}; no more events are recorded", m_path, std::strerror(errno));
    }
}

uint64_t SoundEventLog::lines() const
{
    MutexLocker lock(m_mutex);
    return m_lines;
}

} // namespace nk::sound
