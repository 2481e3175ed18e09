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
#include <future>
#include <optional>
#include <thread>
#include <unistd.h>

namespace nk::bench {

namespace {

// One line of the speaker's event file (see devices/sound/SoundEventLog.h).
struct SpeakerEvent {
    std::string name;
    double t_ms { 0 };
    uint64_t frame { 0 }; // where in the WAV it happened
};

std::vector<SpeakerEvent> read_speaker_events(std::string const& path)
{
    std::vector<SpeakerEvent> events;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
        auto event = nlohmann::json::parse(line, nullptr, false);
        if (!event.is_discarded() && event.contains("event"))
            events.push_back({ event.value("event", ""), event.value("t_ms", 0.0), event.value("frame", uint64_t { 0 }) });
    }
    return events;
}

// Where the speaker's run `index` (0: the first) starts in `events`; events.size() if it has not.
size_t run_start(std::vector<SpeakerEvent> const& events, unsigned index)
{
    unsigned starts = 0;
    for (size_t i = 0; i < events.size(); ++i) {
        if (events[i].name == "start" && starts++ == index)
            return i;
    }
    return events.size();
}

struct SpeakerRun {
    bool stopped { false };
    double start_ms { 0 };
    double stop_ms { 0 };
    uint64_t start_frame { 0 }; // where the run begins in the WAV
    uint64_t underruns { 0 };
};

// What the events say of the speaker's run `index`. An underrun counts if
// audio followed it (the recording grew after its end): the card running
// dry at the end, before the drain stopped it, is not one.
SpeakerRun speaker_run(std::vector<SpeakerEvent> const& events, unsigned index)
{
    SpeakerRun run;
    auto first = run_start(events, index);
    if (first == events.size())
        return run;
    run.start_ms = events[first].t_ms;
    run.start_frame = events[first].frame;
    std::optional<uint64_t> ended_at; // the frame an underrun ended at, until audio follows
    for (auto i = first + 1; i < events.size(); ++i) {
        auto const& event = events[i];
        if (ended_at && event.frame > *ended_at) {
            run.underruns++;
            ended_at.reset();
        }
        if (event.name == "underrun_end") {
            ended_at = event.frame;
        } else if (event.name == "stop") {
            run.stopped = true;
            run.stop_ms = event.t_ms;
            break;
        }
    }
    return run;
}

// The longest silence a listener heard from the speaker's run `index` to the
// end of the events: an underrun, the speaker stopped (a card reset) until it
// starts again, and the two back to back, as one; not the end of the stream
// (the last run's final underrun and stop).
double longest_silence_ms(std::vector<SpeakerEvent> const& events, unsigned index)
{
    double silent_since = -1; // the current silence's start, or -1 while audio plays
    double longest = 0;
    for (auto i = run_start(events, index); i < events.size(); ++i) {
        auto const& event = events[i];
        if ((event.name == "underrun_begin" || event.name == "stop") && silent_since < 0)
            silent_since = event.t_ms;
        if ((event.name != "underrun_end" && event.name != "start") || silent_since < 0)
            continue;
        // Audio again, unless the next event comes at the same frame of the
        // recording (a stop right after an underrun's end, an underrun at once after a start).
        bool goes_on = i + 1 < events.size() && events[i + 1].frame == event.frame
            && (events[i + 1].name == "stop" || events[i + 1].name == "underrun_begin");
        if (goes_on)
            continue;
        longest = std::max(longest, event.t_ms - silent_since);
        silent_since = -1;
    }
    return longest;
}

// Until the speaker's run `index` has stopped (the player's close drains the ring first).
Result<SpeakerRun> wait_for_speaker(std::string const& events, unsigned index)
{
    auto deadline = monotonic_ns() + 10'000'000'000ull;
    for (;;) {
        auto run = speaker_run(read_speaker_events(events), index);
        if (run.stopped)
            return run;
        if (monotonic_ns() > deadline)
            return make_error(ErrorCode::DeadlineExceeded, "the speaker still played 10 s after the player exited");
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
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
    auto run = TRY(wait_for_speaker(speaker + ".events", 0));
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

// The clip again, the driver failing once under it (a panic in its
// interrupt handler, 1 s in): the speaker's second run.
FailurePlay play_through_failure(SoundBenchOptions const& options, Mp3Clip const& clip, std::string const& dir, std::string const& socket)
{
    FailurePlay result;
    auto measured = [&]() -> Result<void> {
        auto const dsp = dir + "/sound/dsp";
        auto const speaker = dir + "/speaker.wav";
        auto player = std::async(std::launch::async, [&] {
            return harness::run_command({ "mpg123", "-q", "-o", "oss", "-a", dsp, clip.mp3 },
                { .timeout = std::chrono::seconds(static_cast<long>(clip.seconds()) * 3 + 60) });
        });
        std::this_thread::sleep_for(std::chrono::milliseconds(1000));
        auto injected = harness::run_command({ options.nooks_binary, "ctl", "--control", socket, "inject", "nksnd", "panic", "--entry", "irq_handler" },
            { .timeout = std::chrono::seconds(10) });
        auto played = TRY(player.get());
        if (!injected || !injected->ok())
            return make_error(ErrorCode::Internal, "injecting the fault failed: {}", injected ? injected->output : injected.error().message());
        result.player_ok = played.ok();
        if (!played.ok())
            result.player_error = played.describe();
        // Recorded once the recovery is over (the nooks player may have failed before that).
        nlohmann::json failures;
        for (auto deadline = monotonic_ns() + 10'000'000'000ull; monotonic_ns() < deadline;) {
            failures = TRY(kernel_control(options.nooks_binary, socket, "failures")).value("failures", nlohmann::json::array());
            if (!failures.empty())
                break;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        if (failures.empty())
            return make_error(ErrorCode::Internal, "the fault did not fire");
        auto const& failure = failures.back();
        result.recovery_ms = failure.value("recovery_us", 0.0) / 1000;
        for (auto const& stage : failure.value("stages", nlohmann::json::array())) {
            if (stage.value("stage", "") == "quiesce")
                result.quiesce_ms = stage.value("duration_us", 0.0) / 1000;
        }
        auto run = TRY(wait_for_speaker(speaker + ".events", 1));
        // The player's last run is over too (a shadow's restart starts the speaker again).
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        result.gap_ms = longest_silence_ms(read_speaker_events(speaker + ".events"), 1);
        auto match = TRY(match_audio(clip.reference, speaker, run.start_frame));
        result.exact = match.exact;
        result.mismatch = match.mismatch;
        return {};
    }();
    result.measured = measured.has_value();
    if (!measured)
        result.error = measured.error().message();
    return result;
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
    if (options.failure && mode != "native") {
        boot.failure = play_through_failure(options, clip, dir, socket);
        auto const& f = boot.failure;
        if (!f.measured)
            progress.line("{} failure  not measured: {}", prefix, f.error);
        else
            progress.line("{} failure  player {}; audio {}; longest silence {:.0f} ms (recovery {:.0f} ms, of which the card played out its ring {:.0f} ms)",
                prefix, f.player_ok ? "finished" : "FAILED", f.exact ? "exact" : "not exact", f.gap_ms, f.recovery_ms, f.quiesce_ms);
    }
    // An inexact recording is a result, reported; the boot itself worked.
    boot.ok = true;
    return boot;
}

} // namespace nk::bench
