// SPDX-License-Identifier: MIT
#include "support/SoundTestSupport.h"

#include "devices/sound/WavReader.h"
#include "harness/Command.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <unistd.h>

namespace nk::test {

std::string missing_programs(std::vector<std::string> const& programs)
{
    for (auto const& program : programs) {
        bool found = false;
        for (auto const* dir : { "/usr/bin/", "/usr/sbin/", "/bin/" })
            found = found || ::access((std::string(dir) + program).c_str(), X_OK) == 0;
        if (!found)
            return fmt::format("needs {} (scripts/install-deps.sh installs it)", program);
    }
    return {};
}

std::vector<sound::Frame16> read_wav(std::string const& path)
{
    auto reader = sound::WavReader::open(path);
    if (!reader)
        return {};
    std::vector<sound::Frame16> frames;
    frames.reserve((*reader)->frames());
    sound::Frame16 frame;
    while ((*reader)->next(frame))
        frames.push_back(frame);
    return frames;
}

uint32_t wav_rate(std::string const& path)
{
    auto reader = sound::WavReader::open(path);
    return reader ? (*reader)->format().rate : 0;
}

std::vector<sound::Frame16> without_silence(std::vector<sound::Frame16> const& frames)
{
    std::vector<sound::Frame16> kept;
    kept.reserve(frames.size());
    for (auto const& frame : frames) {
        if (frame.left != 0 || frame.right != 0)
            kept.push_back(frame);
    }
    return kept;
}

std::string AudioComparison::describe() const
{
    if (equal)
        return fmt::format("equal ({} frames of audio)", expected_frames);
    return fmt::format("{} frames of audio expected, {} heard; first difference at frame {}", expected_frames, actual_frames, first_difference);
}

AudioComparison compare_audio(std::vector<sound::Frame16> const& expected, std::vector<sound::Frame16> const& actual)
{
    auto a = without_silence(expected);
    auto b = without_silence(actual);
    AudioComparison result;
    result.expected_frames = a.size();
    result.actual_frames = b.size();
    size_t i = 0;
    while (i < a.size() && i < b.size() && a[i].left == b[i].left && a[i].right == b[i].right)
        ++i;
    result.first_difference = i;
    result.equal = !a.empty() && a.size() == b.size() && i == a.size();
    return result;
}

double rms(std::vector<sound::Frame16> const& frames)
{
    if (frames.empty())
        return 0;
    double sum = 0;
    for (auto const& frame : frames)
        sum += double(frame.left) * double(frame.left);
    return std::sqrt(sum / double(frames.size()));
}

Mp3Fixture make_mp3(std::string const& dir, double seconds)
{
    Mp3Fixture fixture { dir + "/tone.mp3", dir + "/reference.wav" };
    auto source = dir + "/tone.wav";
    auto steps = std::vector<std::vector<std::string>> {
        { "sox", "-q", "-n", "-r", "44100", "-c", "2", "-b", "16", source, "synth", fmt::format("{}", seconds), "sine", "440", "sine", "660",
            "vol", "0.5" },
        { "lame", "--quiet", "-b", "128", source, fixture.mp3 },
        { "mpg123", "-q", "-w", fixture.reference, fixture.mp3 },
    };
    for (auto const& argv : steps) {
        auto done = harness::run_command(argv);
        if (!done || !done->ok()) {
            ADD_FAILURE() << argv[0] << " failed: " << (done ? done->output : done.error().message());
            return {};
        }
    }
    return fixture;
}

bool write_game_script(std::string const& path, int effects)
{
    std::ofstream out(path);
    out << fmt::format(R"(import array, math, os
os.environ["SDL_AUDIODRIVER"] = "alsa"
os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["PYGAME_HIDE_SUPPORT_PROMPT"] = "1"
import pygame
pygame.mixer.pre_init(44100, -16, 2, 512)
pygame.init()
def tone(freq, ms):
    n = 44100 * ms // 1000
    return pygame.mixer.Sound(buffer=array.array("h", [int(6000 * math.sin(2 * math.pi * freq * i / 44100)) for i in range(n) for _ in (0, 1)]))
effects = [tone(f, 80) for f in (330, 440, 550, 660, 880)]
pygame.mixer.set_num_channels(16)
for i in range({}):
    effects[i % len(effects)].play()
    pygame.time.wait(30)
pygame.time.wait(400)
pygame.mixer.quit()
print("played")
)",
        effects);
    return static_cast<bool>(out.flush());
}

} // namespace nk::test
