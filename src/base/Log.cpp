// SPDX-License-Identifier: MIT
#include "base/Log.h"

#include "base/Mutex.h"

#include <string>

#include <spdlog/sinks/stdout_color_sinks.h>

namespace nk::log {

static spdlog::sink_ptr shared_sink()
{
    static auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    return sink;
}

void configure(std::string_view level)
{
    spdlog::set_level(spdlog::level::from_str(std::string(level)));
    spdlog::set_pattern("%H:%M:%S.%e %^%-5l%$ [%n] %v");
}

std::shared_ptr<spdlog::logger> get(std::string_view component)
{
    // spdlog's registry is thread-safe, but its get-or-create is two calls: two
    // threads asking for a new component at once must not both register it.
    static Mutex mutex;
    MutexLocker lock(mutex);
    std::string name(component);
    if (auto existing = spdlog::get(name))
        return existing;
    auto logger = std::make_shared<spdlog::logger>(name, shared_sink());
    logger->set_level(spdlog::get_level());
    logger->set_pattern("%H:%M:%S.%e %^%-5l%$ [%n] %v");
    spdlog::register_logger(logger);
    return logger;
}

} // namespace nk::log
