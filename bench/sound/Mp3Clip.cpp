// SPDX-License-Identifier: MIT
#include "Mp3Clip.h"

#include "devices/sound/WavReader.h"
#include "harness/Command.h"

#include <fmt/format.h>

namespace nk::bench {

namespace {

bool silent(sound::Frame16 const& frame) { return frame.left == 0 && frame.right == 0; }

// The next frame that is not silence; false at the end.
bool next_sound(sound::WavReader& reader, sound::Frame16& frame)
{
    while (reader.next(frame)) {
        if (!silent(frame))
            return true;
    }
    return false;
}

} // namespace

Result<Mp3Clip> make_mp3_clip(std::string const& dir, double seconds)
{
    Mp3Clip clip { .mp3 = dir + "/clip.mp3", .reference = dir + "/clip-reference.wav" };
    auto source = dir + "/clip-source.wav";
    std::vector<std::vector<std::string>> const steps {
        { "sox", "-q", "-n", "-r", "44100", "-c", "2", "-b", "16", source, "synth", fmt::format("{}", seconds), "sine", "440", "sine", "660", "vol",
            "0.5" },
        { "lame", "--quiet", "-b", "128", source, clip.mp3 },
        { "mpg123", "-q", "-w", clip.reference, clip.mp3 },
    };
    for (auto const& argv : steps)
        TRY(harness::run_checked(argv, { .timeout = std::chrono::seconds(120) }));
    auto reference = TRY(sound::WavReader::open(clip.reference));
    clip.frames = reference->frames();
    clip.rate = reference->format().rate;
    if (clip.frames == 0)
        return make_error(ErrorCode::Internal, "mpg123 decoded {} to no frames", clip.mp3);
    return clip;
}

Result<AudioMatch> match_audio(std::string const& reference_path, std::string const& recording_path, uint64_t skip)
{
    auto reference = TRY(sound::WavReader::open(reference_path));
    auto recording = TRY(sound::WavReader::open(recording_path));
    AudioMatch match { .frames = recording->frames() - std::min(skip, recording->frames()), .rate = recording->format().rate };
    sound::Frame16 expected {};
    sound::Frame16 actual {};
    for (uint64_t i = 0; i < skip && recording->next(actual); ++i) { }
    for (uint64_t index = 0;; ++index) {
        bool more_expected = next_sound(*reference, expected);
        bool more_actual = next_sound(*recording, actual);
        if (!more_expected && !more_actual)
            break;
        if (more_expected != more_actual) {
            match.mismatch = fmt::format("the recording has {} sounding frames than the reference ({} sounding frames matched)",
                more_actual ? "more" : "fewer", index);
            return match;
        }
        if (expected.left != actual.left || expected.right != actual.right) {
            match.mismatch = fmt::format("sounding frame {} differs: heard ({}, {}), expected ({}, {}) (frame {} of the recording)", index,
                actual.left, actual.right, expected.left, expected.right, recording->position());
            return match;
        }
    }
    match.exact = true;
    return match;
}

} // namespace nk::bench
