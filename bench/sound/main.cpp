// SPDX-License-Identifier: MIT
// nooks-bench-sound: the seed's Play-mp3 workload, for every requested
// isolation mode in one run. Each repetition boots a kernel (`nooks run`,
// one NKSND card, nothing else) once per mode, in rotating order, and plays
// the same MP3 through it with mpg123; the report compares the modes by
// their ratios, with the CPU the kernel and the driver's domain spent per
// second of audio, the crossings per second, and whether the card played
// every frame in real time (see SoundBench.h).

#include "../block/BenchOptions.h"
#include "../block/Interrupts.h"
#include "../block/Machine.h"
#include "../block/Progress.h"
#include "Mp3Clip.h"
#include "PlaySession.h"
#include "SoundReport.h"
#include "base/Clock.h"
#include "base/ScopeGuard.h"
#include "harness/Command.h"
#include "harness/KernelProcess.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace nk::bench {

namespace {

int fail(std::string const& message) { return report_failure("nooks-bench-sound", message); }


// What the run cannot do without, checked before anything starts.
std::string missing_prerequisite()
{
    if (::geteuid() != 0)
        return "needs root (the kernel mounts the card's OSS files with FUSE as root); run it with sudo";
    if (::access("/dev/fuse", R_OK | W_OK) != 0)
        return "needs /dev/fuse (FUSE in the kernel)";
    for (auto const* program : { "mpg123", "lame", "sox" }) {
        if (!harness::have_program(program))
            return fmt::format("needs {} (scripts/install-deps.sh installs it)", program);
    }
    return {};
}

} // namespace

int run(int argc, char** argv)
{
    CLI::App app { "nooks-bench-sound: Play-mp3 (mpg123 through the sound driver), native vs isolated, with CPU per second of audio" };
    SoundBenchOptions options;
    std::string modes = "native,nooks,shadow";
    std::string json_path;
    bool keep = false;
    bool quick = false;
    app.add_option("--modes", modes, "Comma-separated modes to compare: native, nooks, shadow (default: native,nooks,shadow)");
    app.add_option("--repetitions", options.repetitions, "Boots per mode (default: 3)")->check(CLI::Range(1, 100));
    app.add_option("--seconds", options.seconds, "Length of the MP3 in seconds (default: 10)")->check(CLI::Range(1.0, 600.0));
    bool no_failure = false;
    app.add_flag("--no-failure", no_failure, "Do not play through a driver failure (isolated modes)");
    app.add_flag("--quick", quick, "The short form for CI: 1 repetition of a 3 s clip (unless --repetitions or --seconds say otherwise)");
    app.add_option("--driver", options.driver, "Sound driver file (default: nksnd.so next to nooks)");
    app.add_option("--work-dir", options.work_dir, "Where the clip, the recordings and the logs go (default: a new directory in /tmp)");
    app.add_flag("--keep", keep, "Keep the work directory");
    app.add_option("--output", options.output, "Write the Markdown report here (it is printed too)");
    app.add_option("--json", json_path, "Write every sample as JSON here");
    CLI11_PARSE(app, argc, argv);

    options.modes = split_list(modes);
    if (options.modes.empty())
        return fail("--modes: no mode given");
    for (auto const& mode : options.modes) {
        if (mode != "native" && mode != "nooks" && mode != "shadow")
            return fail(fmt::format("--modes: unknown mode '{}' (native, nooks, shadow)", mode));
    }
    options.failure = !no_failure;
    if (quick) {
        if (app.count("--repetitions") == 0)
            options.repetitions = 1;
        if (app.count("--seconds") == 0)
            options.seconds = 3;
    }
    if (!options.driver.empty()) {
        if (::access(options.driver.c_str(), R_OK) != 0)
            return fail(fmt::format("--driver {}: no such readable file", options.driver));
        options.driver = std::filesystem::absolute(options.driver).lexically_normal().string();
    }
    if (auto missing = missing_prerequisite(); !missing.empty())
        return fail(missing);
    options.nooks_binary = harness::find_nooks_binary();
    if (::access(options.nooks_binary.c_str(), X_OK) != 0)
        return fail(fmt::format("cannot find the nooks binary (looked for {})", options.nooks_binary));

    bool made_work_dir = false;
    if (options.work_dir.empty()) {
        char pattern[] = "/tmp/nooks-bench-sound-XXXXXX";
        if (::mkdtemp(pattern) == nullptr)
            return fail("cannot create a work directory in /tmp");
        options.work_dir = pattern;
        made_work_dir = true;
    } else {
        std::error_code error;
        std::filesystem::create_directories(options.work_dir, error);
        if (error)
            return fail(fmt::format("--work-dir {}: {}", options.work_dir, error.message()));
    }
    ScopeGuard cleanup([&] {
        if (made_work_dir && !keep) {
            std::error_code error;
            std::filesystem::remove_all(options.work_dir, error);
        }
    });

    Interrupts interrupts;
    Progress progress;
    SoundRunInfo info { .machine = describe_machine(), .command_line = quoted_arguments(argc, argv) };
    progress.line("nooks-bench-sound: {} x a {:.0f} s MP3, modes {}, work directory {}", options.repetitions, options.seconds, modes, options.work_dir);
    auto clip = make_mp3_clip(options.work_dir, options.seconds);
    if (!clip)
        return fail(fmt::format("cannot make the MP3: {}", clip.error().message()));
    auto start = monotonic_ns();
    std::vector<SoundBoot> boots;
    for (unsigned repetition = 1; repetition <= options.repetitions && !interrupts.requested(); ++repetition) {
        // Rotating order: no mode always runs first (or right after another).
        auto order = options.modes;
        std::rotate(order.begin(), order.begin() + static_cast<long>((repetition - 1) % order.size()), order.end());
        for (auto const& mode : order) {
            if (interrupts.requested())
                break;
            boots.push_back(run_play_boot(options, *clip, mode, repetition, interrupts, progress));
        }
    }
    info.seconds = static_cast<double>(monotonic_ns() - start) / 1e9;

    auto markdown = sound_report_markdown(options, *clip, info, boots);
    std::printf("\n%s", markdown.c_str());
    if (!options.output.empty())
        std::ofstream(options.output) << markdown;
    if (!json_path.empty())
        std::ofstream(json_path) << sound_report_json(options, *clip, info, boots).dump(2) << '\n';
    if (interrupts.requested())
        return fail("interrupted");
    bool all_ok = std::ranges::all_of(boots, [](SoundBoot const& boot) { return boot.ok && boot.sample.exact; });
    return all_ok ? 0 : fail("some boots failed or played inexactly (see the report's Problems)");
}

} // namespace nk::bench

int main(int argc, char** argv) { return nk::bench::run(argc, argv); }
