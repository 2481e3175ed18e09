// SPDX-License-Identifier: MIT
// The mixer's ioctls: what the mixer is (SOUND_MIXER_INFO, the masks and
// capabilities) and the volume controls' reads and writes.

#include "frontends/oss/OssIoctl.h"

#include <linux/soundcard.h>

#include <algorithm>
#include <cerrno>
#include <optional>

namespace nk::oss {

namespace {

using Reply = std::optional<IoctlReply>;

// The OSS mixer device each of our controls is.
static_assert(NK_SND_MIXER_MASTER == 0 && NK_SND_MIXER_PCM == 1 && NK_SND_MIXER_CAPTURE == 2 && NK_SND_MIXER_CONTROLS == 3);
constexpr int oss_device_of[NK_SND_MIXER_CONTROLS] = { SOUND_MIXER_VOLUME, SOUND_MIXER_PCM, SOUND_MIXER_IGAIN };

std::optional<uint32_t> control_of(unsigned device)
{
    for (uint32_t control = 0; control < NK_SND_MIXER_CONTROLS; ++control)
        if (static_cast<unsigned>(oss_device_of[control]) == device)
            return control;
    return std::nullopt;
}

int device_mask(SoundCard const& card)
{
    int mask = 0;
    for (uint32_t control = 0; control < NK_SND_MIXER_CONTROLS; ++control)
        if (card.config().has_control(control))
            mask |= 1 << oss_device_of[control];
    return mask;
}

// The one capture input: always selected.
int record_mask(SoundCard const& card) { return card.config().has_stream(NK_SND_CAPTURE) ? SOUND_MASK_LINE : 0; }

template<size_t N>
void copy_name(char (&to)[N], std::string const& from)
{
    auto const length = std::min(from.size(), N - 1);
    std::memcpy(to, from.data(), length);
    to[length] = '\0';
}

// SOUND_MIXER_INFO (and its old, shorter form), the masks, CAPS.
Reply info_group(OssCard& oss, unsigned cmd)
{
    auto const& card = *oss.card;
    switch (cmd) {
    case SOUND_MIXER_INFO: {
        mixer_info info {};
        copy_name(info.id, card.name());
        copy_name(info.name, card.config().name);
        info.modify_counter = oss.mixer_changes.load(std::memory_order_relaxed);
        return IoctlReply::with(info);
    }
    case SOUND_OLD_MIXER_INFO: {
        _old_mixer_info info {};
        copy_name(info.id, card.name());
        copy_name(info.name, card.config().name);
        return IoctlReply::with(info);
    }
    case SOUND_MIXER_READ_DEVMASK:
    case SOUND_MIXER_READ_STEREODEVS: return IoctlReply::with(device_mask(card));
    case SOUND_MIXER_READ_RECMASK:
    case SOUND_MIXER_READ_RECSRC:
    case SOUND_MIXER_WRITE_RECSRC: return IoctlReply::with(record_mask(card));
    case SOUND_MIXER_READ_CAPS: return IoctlReply::with(int { SOUND_CAP_EXCL_INPUT });
    case OSS_GETVERSION: return IoctlReply::with(int { SOUND_VERSION });
    default: return std::nullopt;
    }
}

IoctlReply control_error(Error const& error, SoundCard const& card)
{
    // A control the card lacks is EINVAL in OSS.
    if (card.alive() && error.code() == ErrorCode::NotFound)
        return IoctlReply::failure(EINVAL);
    return IoctlReply::failure(errno_for(error, card));
}

// MIXER_READ(dev) and MIXER_WRITE(dev) for the controls.
Reply volume_group(OssCard& oss, unsigned cmd, std::span<std::byte const> in)
{
    auto& card = *oss.card;
    unsigned const device = _IOC_NR(cmd);
    if (_IOC_SIZE(cmd) != sizeof(int) || device >= SOUND_MIXER_NRDEVICES)
        return std::nullopt;
    bool const read = cmd == static_cast<unsigned>(MIXER_READ(device));
    bool const write = cmd == static_cast<unsigned>(MIXER_WRITE(device));
    if (!read && !write)
        return std::nullopt;
    auto const control = control_of(device);
    if (!control || !card.config().has_control(*control))
        return IoctlReply::failure(EINVAL);
    if (write) {
        if (in.size() < sizeof(int))
            return IoctlReply::failure(EINVAL);
        int value = 0;
        std::memcpy(&value, in.data(), sizeof(value));
        auto const left = std::min<uint32_t>(static_cast<uint32_t>(value) & 0xffu, NK_SND_MIXER_MAX);
        auto const right = std::min<uint32_t>((static_cast<uint32_t>(value) >> 8) & 0xffu, NK_SND_MIXER_MAX);
        if (auto done = card.mixer_put(*control, NK_SND_MIXER_VALUE(left, right)); !done)
            return control_error(done.error(), card);
        oss.mixer_changes.fetch_add(1, std::memory_order_relaxed);
    }
    auto value = card.mixer_get(*control);
    if (!value)
        return control_error(value.error(), card);
    return IoctlReply::with(static_cast<int>(*value & 0xffffu));
}

} // namespace

IoctlReply mixer_ioctl(OssCard& oss, unsigned cmd, std::span<std::byte const> in)
{
    if (!oss.card->alive())
        return IoctlReply::failure(EIO);
    if (auto reply = info_group(oss, cmd))
        return *reply;
    if (_IOC_TYPE(cmd) == 'M')
        if (auto reply = volume_group(oss, cmd, in))
            return *reply;
    return IoctlReply::failure(ENOTTY);
}

} // namespace nk::oss
