// SPDX-License-Identifier: MIT
#pragma once

// The fixture of the sound integration tests: boots, in this process, a
// machine with no disk, no NIC and one NKSND card (nksnd), its speaker
// recording to a file of the test's own and its OSS files mounted in the
// test's directory, with an ALSA configuration pointing there; runs real
// programs against it. Skips without root, /dev/fuse or the programs.

#include "classes/sound/SoundLayer.h"
#include "control/ControlServer.h"
#include "devices/sound/SoundDevice.h"
#include "frontends/oss/AlsaConfig.h"
#include "harness/Command.h"
#include "support/SoundTestSupport.h"
#include "support/TestSupport.h"
#include "system/System.h"

#include <gtest/gtest.h>

#include <cstring>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/soundcard.h>
#include <unistd.h>

namespace nk::test {

class SoundMachine : public ::testing::Test {
protected:
    // `microphone`: the card's capture source; `extra`: top-level keys.
    void boot(std::string const& mode, std::string const& microphone = "sine:440", std::string const& extra = "")
    {
        if (auto reason = missing_privileges(); !reason.empty())
            GTEST_SKIP() << reason;
        if (auto reason = missing_programs({ "mpg123", "sox", "lame", "aplay" }); !reason.empty())
            GTEST_SKIP() << reason;
        auto toml = fmt::format("mode = \"{}\"\nmount = \"{}\"\nsound_mount = \"{}\"\ncontrol = \"{}\"\n{}\ndisk = []\nnic = []\n"
                                "[[sound]]\nname = \"sound0\"\nspeaker = \"{}\"\nmicrophone = \"{}\"\n",
            mode, m_dir.file("disks"), m_dir.file("sound"), m_dir.file("control.sock"), extra, speaker_path(), microphone);
        auto booted = System::boot(machine_config(toml));
        ASSERT_TRUE(booted) << booted.error().message();
        m_system = std::move(*booted);
        ASSERT_TRUE(wait_until(std::chrono::seconds(10), [&] { return ::access(dsp().c_str(), F_OK) == 0; })) << dsp() << " never appeared";
        ASSERT_TRUE(write_alsa_config(m_dir.file("alsa.conf"), m_dir.file("sound")));
    }

    void TearDown() override
    {
        if (m_system)
            m_system->shutdown();
        m_system.reset();
    }

    std::string dsp() const { return m_dir.file("sound/dsp"); }
    std::string mixer() const { return m_dir.file("sound/mixer"); }
    std::string speaker_path() const { return m_dir.file("speaker.wav"); }
    SoundDevice& card() const { return *m_system->hardware<SoundDevice>("sound0"); }

    // Runs a program with the ALSA configuration of this machine in its environment.
    harness::CommandResult run(std::vector<std::string> const& argv, std::map<std::string, std::string> environment = {},
        std::chrono::seconds timeout = std::chrono::seconds(120))
    {
        harness::CommandOptions options;
        options.timeout = timeout;
        options.env = std::move(environment);
        options.env["ALSA_CONFIG_PATH"] = alsa_config_path_value(m_dir.file("alsa.conf"));
        auto result = harness::run_command(argv, options);
        EXPECT_TRUE(result) << argv[0] << ": " << (result ? "" : result.error().message());
        return result ? *result : harness::CommandResult { .exit_code = -1 };
    }

    // The speaker's recording once its stream stopped (the file is complete then).
    std::vector<sound::Frame16> heard()
    {
        EXPECT_TRUE(wait_until(std::chrono::seconds(10), [&] { return !card().speaker().status().running; })) << "the speaker still plays";
        return read_wav(speaker_path());
    }

    // Sets a mixer control through the OSS mixer file (left = right = percent).
    void set_volume(unsigned long request, int percent)
    {
        int fd = ::open(mixer().c_str(), O_RDWR | O_CLOEXEC);
        ASSERT_GE(fd, 0) << mixer();
        int value = percent | (percent << 8);
        EXPECT_EQ(::ioctl(fd, request, &value), 0) << std::strerror(errno);
        ::close(fd);
    }

    nlohmann::json control(nlohmann::json const& request)
    {
        auto reply = control_request(m_dir.file("control.sock"), request);
        EXPECT_TRUE(reply) << reply.error().message();
        return reply ? *reply : nlohmann::json {};
    }

    TempDir m_dir { "nooks-sound" };
    std::unique_ptr<System> m_system;
};

} // namespace nk::test
