// SPDX-License-Identifier: MIT
#include "SoundReport.h"

#include "../block/Summary.h"
#include "../block/Table.h"

#include <algorithm>
#include <fmt/format.h>
#include <functional>
#include <optional>

namespace nk::bench {

namespace {

using Field = std::function<double(PlaySample const&)>;

std::optional<Summary> summarize(std::vector<SoundBoot> const& boots, std::string const& mode, Field const& field)
{
    std::vector<double> values;
    for (auto const& boot : boots) {
        if (boot.ok && boot.mode == mode)
            values.push_back(field(boot.sample));
    }
    return bench::summarize(std::move(values));
}

} // namespace

std::string sound_report_markdown(SoundBenchOptions const& options, Mp3Clip const& clip, SoundRunInfo const& info, std::vector<SoundBoot> const& boots)
{
    std::string out = "# nooks-bench-sound (Play-mp3)\n\n";
    out += fmt::format("Run {} on {} ({} CPUs, {}), {}; load average {:.2f} at the start. `nooks-bench-sound {}`, {:.0f} s in all.\n\n",
        info.machine.date, info.machine.cpu_model, info.machine.cpus, info.machine.memory, info.machine.kernel, info.machine.load_average,
        info.command_line, info.seconds);
    out += fmt::format("Each repetition ({} in all) boots the kernel once per mode, in rotating order, with one NKSND card driven by nksnd, and "
                       "plays a {:.2f} s MP3 (44.1 kHz stereo, 128 kbit/s) with `mpg123 -o oss` through the card's dsp file. The card's "
                       "speaker consumes frames in real time and records them. CPU is the kernel process tree's user + system time from the "
                       "player's start to the speaker's stop (the kernel, the OSS frontend, the emulated card and the driver's protection "
                       "domain); mpg123's own decoding is not in it. Relative performance is native's playing time over the mode's (1.00: "
                       "as fast; the card sets the pace). *Speaker pace* is the speaker's wall time per second it recorded (1.0000 is real "
                       "time). *Audio* compares the recording with mpg123's own decode of the file, all-zero frames removed from both: "
                       "exact means no frame lost, added or changed; *underruns* are the times the speaker found the ring empty with audio still to come (the card running dry at the end, before the drain stops it, is not counted).\n\n",
        options.repetitions, clip.seconds());
    Table table({ "mode", "player s", "relative performance", "speaker pace", "CPU % (kernel+domain)", "CPU ms per audio s", "CPU vs native",
        "XPC crossings/s", "underruns", "audio exact" });
    auto native_time = summarize(boots, "native", [](PlaySample const& s) { return s.player_seconds; });
    auto native_cpu = summarize(boots, "native", [](PlaySample const& s) { return s.cpu_ms_per_audio_second(); });
    for (auto const& mode : options.modes) {
        auto time = summarize(boots, mode, [](PlaySample const& s) { return s.player_seconds; });
        if (!time) {
            table.add_row({ mode, "did not run", "", "", "", "", "", "", "", "" });
            continue;
        }
        auto cpu = summarize(boots, mode, [](PlaySample const& s) { return s.cpu_ms_per_audio_second(); });
        unsigned underruns = 0;
        unsigned exact = 0;
        unsigned runs = 0;
        for (auto const& boot : boots) {
            if (!boot.ok || boot.mode != mode)
                continue;
            runs++;
            underruns += boot.sample.underruns;
            exact += boot.sample.exact ? 1 : 0;
        }
        std::string relative = native_time && time->median > 0 ? fmt::format("{:.2f}", native_time->median / time->median) : "—";
        table.add_row({ mode, with_range(time, "{:.2f}"), relative, with_range(summarize(boots, mode, [](PlaySample const& s) { return s.speaker_pace(); }), "{:.4f}"),
            with_range(summarize(boots, mode, [](PlaySample const& s) { return s.cpu_percent(); }), "{:.2f}"), with_range(cpu, "{:.1f}"),
            ratio(cpu, native_cpu),
            mode == "native" ? "—" : with_range(summarize(boots, mode, [](PlaySample const& s) { return s.crossings_per_second(); }), "{:.0f}"),
            fmt::format("{}", underruns), fmt::format("{} of {}", exact, runs) });
    }
    out += table.markdown() + "\n";
    out += "The seed's Play-mp3 row (Nooks on a SoundBlaster driver, Linux 2.4, a 1.7 GHz Pentium 4): 150 XPC/s, relative performance 1.00, CPU "
           "4.8% native and 4.6% under Nooks.\n\n";
    if (std::ranges::any_of(boots, [](SoundBoot const& boot) { return boot.failure.measured || !boot.failure.error.empty(); })) {
        out += "## Through a driver failure\n\n";
        out += "Each isolated boot then plays the clip again and fails the driver once, 1 s in (a panic in its interrupt handler). "
               "*Longest silence* is the longest mid-stream underrun the speaker recorded: what a listener hears as a gap. *Recovery* is "
               "the recovery manager's time from detection to the restarted driver; in shadow mode it includes the time the card went on "
               "playing what the failed driver had handed it (*played out*), which the listener hears as audio, not as a gap. In nooks "
               "mode the player's file belonged to the failed card: the player fails (the seed's MALFUNCTION).\n\n";
        Table table({ "mode", "repetition", "player", "audio exact", "longest silence ms", "recovery ms", "played out ms" });
        for (auto const& mode : options.modes) {
            for (auto const& boot : boots) {
                if (boot.mode != mode || (!boot.failure.measured && boot.failure.error.empty()))
                    continue;
                auto const& f = boot.failure;
                if (!f.measured) {
                    table.add_row({ mode, fmt::format("{}", boot.repetition), "not measured: " + f.error, "", "", "", "" });
                    continue;
                }
                table.add_row({ mode, fmt::format("{}", boot.repetition), f.player_ok ? "finished" : "failed", f.exact ? "yes" : "no",
                    fmt::format("{:.0f}", f.gap_ms), fmt::format("{:.0f}", f.recovery_ms), fmt::format("{:.0f}", f.quiesce_ms) });
            }
        }
        out += table.markdown() + "\n";
    }
    std::string problems;
    for (auto const& boot : boots) {
        if (!boot.ok)
            problems += fmt::format("- repetition {} {}: {}\n", boot.repetition, boot.mode, boot.error);
        else if (!boot.sample.exact)
            problems += fmt::format("- repetition {} {}: the recording differs from the reference: {}\n", boot.repetition, boot.mode, boot.sample.mismatch);
        if (boot.ok && boot.driver_failures > 0)
            problems += fmt::format("- repetition {} {}: the driver failed {} time(s) during the run\n", boot.repetition, boot.mode, boot.driver_failures);
    }
    if (!problems.empty())
        out += "## Problems\n\n" + problems + "\n";
    return out;
}

nlohmann::json sound_report_json(SoundBenchOptions const& options, Mp3Clip const& clip, SoundRunInfo const& info, std::vector<SoundBoot> const& boots)
{
    nlohmann::json json;
    json["machine"] = { { "date", info.machine.date }, { "cpu", info.machine.cpu_model }, { "cpus", info.machine.cpus },
        { "memory", info.machine.memory }, { "kernel", info.machine.kernel }, { "load_average", info.machine.load_average } };
    json["command"] = info.command_line;
    json["repetitions"] = options.repetitions;
    json["clip"] = { { "seconds", clip.seconds() }, { "frames", clip.frames }, { "rate", clip.rate } };
    json["boots"] = nlohmann::json::array();
    for (auto const& boot : boots) {
        auto const& s = boot.sample;
        json["boots"].push_back({ { "mode", boot.mode }, { "repetition", boot.repetition }, { "ok", boot.ok }, { "error", boot.error },
            { "driver_failures", boot.driver_failures }, { "audio_seconds", s.audio_seconds }, { "player_seconds", s.player_seconds },
            { "speaker_seconds", s.speaker_seconds }, { "speaker_pace", s.speaker_pace() }, { "window_seconds", s.window_seconds },
            { "cpu_seconds", s.cpu_seconds }, { "cpu_percent", s.cpu_percent() }, { "cpu_ms_per_audio_second", s.cpu_ms_per_audio_second() },
            { "crossings", s.crossings }, { "crossings_per_second", s.crossings_per_second() }, { "speaker_frames", s.speaker_frames },
            { "underruns", s.underruns }, { "exact", s.exact }, { "mismatch", s.mismatch } });
        auto const& f = boot.failure;
        if (f.measured || !f.error.empty())
            json["boots"].back()["failure"] = { { "measured", f.measured }, { "error", f.error }, { "player_ok", f.player_ok },
                { "player_error", f.player_error }, { "exact", f.exact }, { "mismatch", f.mismatch }, { "gap_ms", f.gap_ms },
                { "recovery_ms", f.recovery_ms }, { "quiesce_ms", f.quiesce_ms } };
    }
    return json;
}

} // namespace nk::bench
