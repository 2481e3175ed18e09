// SPDX-License-Identifier: MIT
#include "frontends/oss/AlsaConfig.h"

#include "base/UniqueFd.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <unistd.h>

namespace nk {

std::string alsa_config_text(std::string const& mountpoint)
{
    return fmt::format(R"conf(# SPDX-License-Identifier: MIT
# ALSA devices for the nooks sound cards mounted at {0}, through
# alsa-lib's oss plugins (libasound2-plugins). Load it after alsa.conf:
#   ALSA_CONFIG_PATH=/usr/share/alsa/alsa.conf:THIS_FILE aplay x.wav

pcm.nooks_oss {{
	type oss
	device "{0}/dsp"
	hint.description "nooks sound card (OSS, U8 and S16_LE only)"
}}

pcm.nooks {{
	type plug
	slave.pcm "nooks_oss"
	hint.description "nooks sound card"
}}

ctl.nooks {{
	type oss
	device "{0}/mixer"
}}

pcm.!default {{
	type plug
	slave.pcm "nooks_oss"
}}

ctl.!default {{
	type oss
	device "{0}/mixer"
}}
)conf",
        mountpoint);
}

std::string alsa_config_path_value(std::string const& config_file)
{
    return fmt::format("{}:{}", system_alsa_conf, config_file);
}

Result<void> write_alsa_config(std::string const& path, std::string const& mountpoint)
{
    auto const text = alsa_config_text(mountpoint);
    auto const aside = path + ".tmp";
    UniqueFd fd(::open(aside.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd)
        return std::unexpected(Error::from_errno(fmt::format("create {}", aside)));
    size_t done = 0;
    while (done < text.size()) {
        auto written = ::write(fd.get(), text.data() + done, text.size() - done);
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0) {
            auto error = Error::from_errno(fmt::format("write {}", aside));
            ::unlink(aside.c_str());
            return std::unexpected(std::move(error));
        }
        done += static_cast<size_t>(written);
    }
    fd.reset();
    if (::rename(aside.c_str(), path.c_str()) != 0) {
        auto error = Error::from_errno(fmt::format("rename {} to {}", aside, path));
        ::unlink(aside.c_str());
        return std::unexpected(std::move(error));
    }
    return {};
}

} // namespace nk
