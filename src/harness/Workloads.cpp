// SPDX-License-Identifier: MIT
#include "harness/Workloads.h"

#include "base/Clock.h"
#include "harness/Command.h"

#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>

namespace nk::harness {

namespace {

Result<void> write_file(std::filesystem::path const& path, std::string const& text)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out)
        return make_error(ErrorCode::IoError, "cannot write {}", path.string());
    return {};
}

std::string trim(std::string text)
{
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
        text.pop_back();
    return text;
}

// The project's expected output, computed here with the same algorithms.
constexpr unsigned generated_units = 12;

uint32_t crc32(std::string const& text)
{
    uint32_t crc = 0xffffffffu;
    for (unsigned char c : text) {
        crc ^= c;
        for (int bit = 0; bit < 8; ++bit)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

uint64_t fib(unsigned n)
{
    uint64_t a = 0, b = 1;
    for (unsigned i = 0; i < n; ++i) {
        auto next = a + b;
        a = b;
        b = next;
    }
    return a;
}

uint64_t unit_value(unsigned unit) { return uint64_t(unit) * 7919u + 104729u; }

std::string expected_build_output()
{
    uint64_t sum = 0;
    for (unsigned unit = 0; unit < generated_units; ++unit)
        sum += unit_value(unit);
    return fmt::format("fib(40)={} crc32={:08x} units={} sum={}", fib(40), crc32("nooks shadow drivers"), generated_units, sum);
}

} // namespace

Result<WorkloadReport> run_sqlite(std::string const& dir, SqliteOptions options)
{
    auto start = monotonic_ns();
    auto db = (std::filesystem::path(dir) / "app.db").string();
    std::string script = "PRAGMA synchronous=FULL;\n"
                         "CREATE TABLE items(id INTEGER PRIMARY KEY, tx INTEGER NOT NULL, payload BLOB NOT NULL);\n"
                         "CREATE INDEX items_tx ON items(tx);\n";
    for (unsigned tx = 1; tx <= options.transactions; ++tx) {
        script += fmt::format("BEGIN;\nWITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {}) "
                              "INSERT INTO items(tx, payload) SELECT {}, randomblob(256) FROM n;\nCOMMIT;\n",
            options.rows, tx);
    }
    TRY(run_checked({ "sqlite3", "-bail", db }, { .input = script }));
    auto report = TRY(verify_sqlite(dir, options));
    report.duration_ns = monotonic_ns() - start;
    return report;
}

Result<WorkloadReport> verify_sqlite(std::string const& dir, SqliteOptions options)
{
    auto start = monotonic_ns();
    auto db = (std::filesystem::path(dir) / "app.db").string();
    auto integrity = TRY(run_checked({ "sqlite3", "-bail", db, "PRAGMA integrity_check;" }));
    if (trim(integrity.output) != "ok")
        return make_error(ErrorCode::IoError, "sqlite3 integrity_check: {}", trim(integrity.output));
    auto counts = TRY(run_checked({ "sqlite3", "-bail", db, "SELECT count(*) || '|' || count(DISTINCT tx) FROM items;" }));
    auto expected = fmt::format("{}|{}", uint64_t(options.transactions) * options.rows, options.transactions);
    if (trim(counts.output) != expected)
        return make_error(ErrorCode::IoError, "sqlite3: expected rows|transactions {}, found {}", expected, trim(counts.output));
    return WorkloadReport { fmt::format("sqlite3: {} transactions, {} rows, integrity_check ok", options.transactions,
                                uint64_t(options.transactions) * options.rows),
        monotonic_ns() - start };
}

Result<WorkloadReport> run_build(std::string const& dir)
{
    auto start = monotonic_ns();
    auto project = std::filesystem::path(dir) / "build";
    std::error_code error;
    std::filesystem::create_directories(project, error);
    if (error)
        return make_error(ErrorCode::IoError, "create {}: {}", project.string(), error.message());

    std::string header = "#pragma once\n#include <stdint.h>\nuint64_t fib(unsigned n);\nuint32_t crc32(const char *text);\n";
    std::string objects = "main.o fib.o crc.o";
    std::string sum_calls;
    for (unsigned unit = 0; unit < generated_units; ++unit) {
        header += fmt::format("uint64_t unit_{}(void);\n", unit);
        TRY(write_file(project / fmt::format("unit_{}.c", unit),
            fmt::format("#include \"calc.h\"\nuint64_t unit_{0}(void) {{ return (uint64_t){0} * 7919u + 104729u; }}\n", unit)));
        objects += fmt::format(" unit_{}.o", unit);
        sum_calls += fmt::format("    sum += unit_{}();\n", unit);
    }
    TRY(write_file(project / "calc.h", header));
    TRY(write_file(project / "fib.c",
        "#include \"calc.h\"\nuint64_t fib(unsigned n)\n{\n    uint64_t a = 0, b = 1;\n"
        "    for (unsigned i = 0; i < n; i++) {\n        uint64_t next = a + b;\n        a = b;\n        b = next;\n    }\n"
        "    return a;\n}\n"));
    TRY(write_file(project / "crc.c",
        "#include \"calc.h\"\nuint32_t crc32(const char *text)\n{\n    uint32_t crc = 0xffffffffu;\n"
        "    for (; *text; text++) {\n        crc ^= (unsigned char)*text;\n"
        "        for (int bit = 0; bit < 8; bit++)\n            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));\n    }\n"
        "    return ~crc;\n}\n"));
    TRY(write_file(project / "main.c",
        fmt::format("#include <inttypes.h>\n#include <stdio.h>\n#include \"calc.h\"\nint main(void)\n{{\n    uint64_t sum = 0;\n{}"
                    "    printf(\"fib(40)=%\" PRIu64 \" crc32=%08x units={} sum=%\" PRIu64 \"\\n\", fib(40), crc32(\"nooks shadow drivers\"), sum);\n"
                    "    return 0;\n}}\n",
            sum_calls, generated_units)));
    TRY(write_file(project / "Makefile",
        fmt::format("CC ?= gcc\nCFLAGS ?= -O2 -Wall -Werror\nOBJS = {}\n\ncalc: $(OBJS)\n\t$(CC) $(CFLAGS) -o $@ $(OBJS)\n\n"
                    "%.o: %.c calc.h\n\t$(CC) $(CFLAGS) -c $< -o $@\n\nclean:\n\trm -f calc $(OBJS)\n",
            objects)));

    TRY(run_checked({ "make", "-j2", "CC=gcc" }, { .cwd = project.string() }));
    auto report = TRY(verify_build(dir));
    report.summary = fmt::format("make + gcc: {} files compiled and linked; {}", generated_units + 3, report.summary);
    report.duration_ns = monotonic_ns() - start;
    return report;
}

Result<WorkloadReport> verify_build(std::string const& dir)
{
    auto start = monotonic_ns();
    auto program = (std::filesystem::path(dir) / "build" / "calc").string();
    auto run = TRY(run_checked({ program }));
    auto expected = expected_build_output();
    if (trim(run.output) != expected)
        return make_error(ErrorCode::IoError, "built program printed '{}', expected '{}'", trim(run.output), expected);
    return WorkloadReport { fmt::format("program output verified ({})", expected), monotonic_ns() - start };
}

namespace {

// A deterministic test signal: two drifting tones plus a little noise, so the
// encoder has real work and its output is the same every time.
Result<void> write_wav(std::string const& path, unsigned seconds)
{
    constexpr uint32_t rate = 44100;
    constexpr uint16_t channels = 2;
    uint32_t frames = rate * seconds;
    uint32_t data_bytes = frames * channels * 2;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out)
        return make_error(ErrorCode::IoError, "cannot create {}", path);
    auto put32 = [&](uint32_t value) { out.write(reinterpret_cast<char const*>(&value), 4); };
    auto put16 = [&](uint16_t value) { out.write(reinterpret_cast<char const*>(&value), 2); };
    out.write("RIFF", 4);
    put32(36 + data_bytes);
    out.write("WAVEfmt ", 8);
    put32(16);
    put16(1);
    put16(channels);
    put32(rate);
    put32(rate * channels * 2);
    put16(channels * 2);
    put16(16);
    out.write("data", 4);
    put32(data_bytes);
    uint32_t noise = 12345;
    std::vector<int16_t> buffer;
    buffer.reserve(rate * channels);
    for (uint32_t frame = 0; frame < frames; ++frame) {
        double t = static_cast<double>(frame) / rate;
        noise = noise * 1664525u + 1013904223u;
        double left = 0.4 * std::sin(2 * M_PI * (220.0 + 40.0 * t) * t) + 0.02 * (static_cast<int32_t>(noise >> 16) - 32768) / 32768.0;
        double right = 0.3 * std::sin(2 * M_PI * (330.0 - 15.0 * t) * t) + 0.2 * std::sin(2 * M_PI * 880.0 * t);
        buffer.push_back(static_cast<int16_t>(left * 32767));
        buffer.push_back(static_cast<int16_t>(right * 32767));
        if (buffer.size() >= rate * channels) {
            out.write(reinterpret_cast<char const*>(buffer.data()), static_cast<std::streamsize>(buffer.size() * 2));
            buffer.clear();
        }
    }
    out.write(reinterpret_cast<char const*>(buffer.data()), static_cast<std::streamsize>(buffer.size() * 2));
    out.close();
    if (!out)
        return make_error(ErrorCode::IoError, "cannot write {}", path);
    return {};
}

Result<std::string> read_all(std::string const& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return make_error(ErrorCode::IoError, "cannot read {}", path);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

} // namespace

Result<std::string> make_encoder_reference(std::string const& work_dir, unsigned seconds)
{
    auto input = work_dir + "/reference.wav";
    auto output = work_dir + "/reference.flac";
    TRY(write_wav(input, seconds));
    TRY(run_checked({ "flac", "--silent", "--force", "-o", output, input }));
    std::error_code error;
    std::filesystem::remove(input, error);
    return output;
}

Result<WorkloadReport> run_encoder(std::string const& dir, std::string const& reference, unsigned seconds)
{
    auto start = monotonic_ns();
    auto input = dir + "/music.wav";
    auto output = dir + "/music.flac";
    TRY(write_wav(input, seconds));
    TRY(run_checked({ "flac", "--silent", "--force", "-o", output, input }));
    auto encoded = TRY(read_all(output));
    auto expected = TRY(read_all(reference));
    if (encoded != expected)
        return make_error(ErrorCode::IoError, "flac output ({} bytes) differs from the reference encode ({} bytes)", encoded.size(), expected.size());
    return WorkloadReport { fmt::format("flac: {} s of audio encoded, {} bytes, identical to the reference", seconds, encoded.size()),
        monotonic_ns() - start };
}

Result<uint64_t> write_pattern_file(std::string const& path, uint64_t size, uint64_t seed)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out)
        return make_error(ErrorCode::IoError, "cannot create {}", path);
    uint64_t state = seed * 6364136223846793005ull + 1442695040888963407ull;
    uint64_t hash = 14695981039346656037ull;
    std::array<unsigned char, 65536> block {};
    uint64_t written = 0;
    while (written < size) {
        auto chunk = std::min<uint64_t>(block.size(), size - written);
        for (uint64_t i = 0; i < chunk; ++i) {
            state = state * 6364136223846793005ull + 1442695040888963407ull;
            block[i] = static_cast<unsigned char>(state >> 56);
            hash = (hash ^ block[i]) * 1099511628211ull;
        }
        out.write(reinterpret_cast<char const*>(block.data()), static_cast<std::streamsize>(chunk));
        written += chunk;
    }
    out.close();
    if (!out)
        return make_error(ErrorCode::IoError, "cannot write {}", path);
    return hash;
}

Result<uint64_t> checksum_file(std::string const& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return make_error(ErrorCode::IoError, "cannot open {}", path);
    uint64_t hash = 14695981039346656037ull;
    std::array<char, 65536> block {};
    while (in) {
        in.read(block.data(), block.size());
        auto n = in.gcount();
        for (std::streamsize i = 0; i < n; ++i)
            hash = (hash ^ static_cast<unsigned char>(block[static_cast<size_t>(i)])) * 1099511628211ull;
    }
    if (in.bad())
        return make_error(ErrorCode::IoError, "read error on {}", path);
    return hash;
}

} // namespace nk::harness
