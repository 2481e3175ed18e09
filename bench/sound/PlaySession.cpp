// SPDX-License-Identifier: MIT
#include "PlaySession.h"

#include "../block/CpuTime.h"
#include "../block/KernelControl.h"
#include "../block/KernelLauncher.h"
#include "Mp3Clip.h"
#include "base/Clock.h"
#include "base/ScopeGuard.h"
#include "harness/Command.h"
#include "harness/KernelProcess.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <thread>
#include <unistd.h>

namespace nk::bench {

namespace {

struct SpeakerRun {
    bool stopped { false };
    double start_ms { 0 };
    double stop_ms { 0 };
    uint64_t underruns { 0 };
};

// What the speaker's event file says of its first run. An underrun counts
// if audio followed it: the card running dry at the end, before the drain
// stopped it, is not one.
SpeakerRun read_speaker_events(std::string const& path)
{
    SpeakerRun run;
    std::ifstream in(path);
    bool started = false;
    bool ended_underrun = false; // an underrun just ended; does audio follow?
    uint64_t ended_at = 0;
    for (std::string line; std::getline(in, line);) {
        auto event = nlohmann::json::parse(line, nullptr, false);
        if (event.is_discarded() || !event.contains("event"))
            continue;
        auto name = event.value("event", "");
        auto frame = event.value("frame", uint64_t { 0 });
        if (!started) {
            if (name == "start") {
                started = true;
                run.start_ms = event.value("t_ms", 0.0);
            }
            continue;
        }
        if (ended_underrun && frame > ended_at) {
            run.underruns++; // played on after it
            ended_underrun = false;
        }
        if (name == "underrun_end") {
            ended_underrun = true;
            ended_at = frame;
        } else if (name == "stop") {
            run.stopped = true;
            run.stop_ms = event.value("t_ms", 0.0);
            break;
        }
    }
    return run;
}

Result<void> wait_for_file(std::string const& path, harness::KernelProcess& kernel)
{
    auto deadline = monotonic_ns() + 10'000'000'000ull;
    while (::access(path.c_str(), F_OK) != 0) {
        if (!kernel.running())
            return make_error(ErrorCode::Unavailable, "the kernel died ({}); end of its log:\n{}", kernel.exit_description(), kernel.log_tail(15));
        if (monotonic_ns() > deadline)
            return make_error(ErrorCode::DeadlineExceeded, "{} did not appear within 10 s", path);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return {};
}

Result<PlaySample> play(SoundBenchOptions const& options, Mp3Clip const& clip, std::string const& mode, std::string const& dir,
    std::string const& socket, harness::KernelProcess& kernel)
{
    auto const dsp = dir + "/sound/dsp";
    auto const speaker = dir + "/speaker.wav";
    TRY(wait_for_file(dsp, kernel));
    bool isolated = mode != "native";
    auto pid = kernel.pid();
    PlaySample sample { .audio_seconds = clip.seconds() };

    double crossings_before = isolated ? TRY(crossings_so_far(options.nooks_binary, socket)) : 0;
    double cpu_before = TRY(process_tree_cpu_seconds(pid));
    auto started = monotonic_ns();
    auto played = TRY(harness::run_command({ "mpg123", "-q", "-o", "oss", "-a", dsp, clip.mp3 },
        { .timeout = std::chrono::seconds(static_cast<long>(clip.seconds()) * 3 + 60) }));
    sample.player_seconds = static_cast<double>(monotonic_ns() - started) / 1e9;
    if (!played.ok())
        return make_error(ErrorCode::Unavailable, "mpg123 failed: {}", played.describe());
    // The recording is complete once the speaker stopped (the player's close drains the ring first).
    auto deadline = monotonic_ns() + 10'000'000'000ull;
    SpeakerRun run;
    while (!(run = read_speaker_events(speaker + ".events")).stopped) {
        if (monotonic_ns() > deadline)
            return make_error(ErrorCode::DeadlineExceeded, "the speaker still played 10 s after mpg123 exited");
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    double cpu_after = TRY(process_tree_cpu_seconds(pid));
    sample.window_seconds = static_cast<double>(monotonic_ns() - started) / 1e9;
    double crossings_after = isolated ? TRY(crossings_so_far(options.nooks_binary, socket)) : 0;
    sample.cpu_seconds = cpu_after - cpu_before;
    sample.crossings = crossings_after - crossings_before;
    sample.speaker_seconds = (run.stop_ms - run.start_ms) / 1000;
    sample.underruns = run.underruns;

    auto match = TRY(match_audio(clip.reference, speaker));
    sample.exact = match.exact;
    sample.mismatch = match.mismatch;
    sample.speaker_frames = match.frames;
    sample.speaker_rate = match.rate;
    return sample;
}

} // namespace

SoundBoot run_play_boot(SoundBenchOptions const& options, Mp3Clip const& clip, std::string const& mode, unsigned repetition, Interrupts& interrupts,
    Progress& progress)
{
    SoundBoot boot { .mode = mode, .repetition = repetition };
    auto prefix = fmt::format("rep {}/{} {:<7}", repetition, options.repetitions, mode);
    auto dir = fmt::format("{}/{}-{}", options.work_dir, repetition, mode);
    std::error_code error;
    std::filesystem::create_directories(dir, error);
    auto config = dir + "/machine.toml";
    std::ofstream(config) << fmt::format("disk = []\nnic = []\n\n[[sound]]\nname = \"sound0\"\n{}speaker = \"{}/speaker.wav\"\nmicrophone = \"silence\"\n",
        options.driver.empty() ? std::string() : fmt::format("driver = \"{}\"\n", options.driver), dir);
    auto socket = dir + "/control.sock";
    auto kernel = harness::KernelProcess::start({ .nooks_binary = options.nooks_binary,
        .args = { "--config", config, "--mode", mode, "--mount", dir + "/disks", "--sound-mount", dir + "/sound", "--control", socket },
        .log_path = dir + "/kernel.log" });
    if (!kernel) {
        auto line = kernel_error_line(dir + "/kernel.log");
        boot.error = line.empty() ? kernel.error().message() : line;
        progress.line("{} did not boot: {}", prefix, boot.error);
        return boot;
    }
    interrupts.protect((*kernel)->pid());
    ScopeGuard stop([&] {
        auto pid = (*kernel)->pid();
        if (auto stopped = (*kernel)->stop(); !stopped)
            progress.line("{} warning: {}", prefix, stopped.error().message());
        interrupts.unprotect(pid);
    });

    auto ran = [&]() -> Result<void> {
        boot.sample = TRY(play(options, clip, mode, dir, socket, **kernel));
        auto failures = TRY(kernel_control(options.nooks_binary, socket, "failures"));
        boot.driver_failures = static_cast<unsigned>(failures.value("failures", nlohmann::json::array()).size());
        return {};
    }();
    if (!ran) {
        boot.error = interrupts.requested() ? "interrupted" : ran.error().message();
        progress.line("{} failed: {}", prefix, boot.error);
        return boot;
    }
    auto const& s = boot.sample;
    progress.line("{} played {:.2f} s of audio in {:.2f} s (speaker pace {:.4f}); CPU {:.2f}% ({:.1f} ms per audio second); {:.0f} crossings/s; "
                  "{} underrun(s); audio {}",
        prefix, s.audio_seconds, s.player_seconds, s.speaker_pace(), s.cpu_percent(), s.cpu_ms_per_audio_second(), s.crossings_per_second(),
        s.underruns, s.exact ? "exact" : "DIFFERS: " + s.mismatch);
    if (boot.driver_failures > 0)
        progress.line("{} warning: the driver failed {} time(s) during the run (see {}/kernel.log)", prefix, boot.driver_failures, dir);
    // An inexact recording is a result, reported; the boot itself worked.
    boot.ok = true;
    return boot;
}

} // namespace nk::bench
