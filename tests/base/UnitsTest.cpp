// SPDX-License-Identifier: MIT
#include "base/Units.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace nk {
namespace {

constexpr uint64_t KiB = 1ull << 10;
constexpr uint64_t MiB = 1ull << 20;
constexpr uint64_t GiB = 1ull << 30;
constexpr uint64_t TiB = 1ull << 40;

// Expects `text` to be rejected as an invalid argument whose message quotes the input.
void expect_bad_size(std::string const& text)
{
    auto result = parse_size(text);
    ASSERT_FALSE(result.has_value()) << "'" << text << "' parsed as " << *result;
    EXPECT_EQ(result.error().code(), ErrorCode::InvalidArgument) << text;
    EXPECT_NE(result.error().message().find("'" + text + "'"), std::string::npos) << result.error().message();
}

// A plain number is a byte count.
TEST(Units, ParseSize_PlainNumberIsBytes)
{
    EXPECT_EQ(parse_size("4096").value(), 4096u);
    EXPECT_EQ(parse_size("1").value(), 1u);
    EXPECT_EQ(parse_size("10B").value(), 10u);
    EXPECT_EQ(parse_size("18446744073709551615").value(), UINT64_MAX);
}

// K, KiB, M, MiB, G, GiB, T, TiB are powers of 1024.
TEST(Units, ParseSize_BinaryUnits)
{
    EXPECT_EQ(parse_size("1K").value(), KiB);
    EXPECT_EQ(parse_size("512KiB").value(), 512 * KiB);
    EXPECT_EQ(parse_size("3M").value(), 3 * MiB);
    EXPECT_EQ(parse_size("64MiB").value(), 64 * MiB);
    EXPECT_EQ(parse_size("1G").value(), GiB);
    EXPECT_EQ(parse_size("2GiB").value(), 2 * GiB);
    EXPECT_EQ(parse_size("1T").value(), TiB);
    EXPECT_EQ(parse_size("5TiB").value(), 5 * TiB);
}

// KB, MB, GB, TB are powers of 1000.
TEST(Units, ParseSize_DecimalUnits)
{
    EXPECT_EQ(parse_size("1KB").value(), 1000u);
    EXPECT_EQ(parse_size("2MB").value(), 2'000'000u);
    EXPECT_EQ(parse_size("3GB").value(), 3'000'000'000u);
    EXPECT_EQ(parse_size("4TB").value(), 4'000'000'000'000u);
}

// Spaces around the text and between number and unit are ignored.
TEST(Units, ParseSize_AcceptsSpaces)
{
    EXPECT_EQ(parse_size("512 KiB").value(), 512 * KiB);
    EXPECT_EQ(parse_size("  1 GiB  ").value(), GiB);
    EXPECT_EQ(parse_size("\t64MiB\n").value(), 64 * MiB);
    EXPECT_EQ(parse_size(" 4096 ").value(), 4096u);
}

// Empty and blank strings are rejected and the message says so.
TEST(Units, ParseSize_RejectsEmpty)
{
    expect_bad_size("");
    expect_bad_size("   ");
    EXPECT_NE(parse_size("").error().message().find("empty"), std::string::npos);
}

// Negative numbers, fractions and text without a number are rejected.
TEST(Units, ParseSize_RejectsNegativeAndFractional)
{
    expect_bad_size("-1");
    expect_bad_size("-64MiB");
    expect_bad_size("1.5G");
    expect_bad_size("0.5");
    expect_bad_size("MiB");
    expect_bad_size("abc");
}

// Units outside the documented list are rejected and named in the message.
TEST(Units, ParseSize_RejectsUnknownUnit)
{
    expect_bad_size("10 XB");
    expect_bad_size("1 PiB");
    expect_bad_size("64MiB extra");
    auto result = parse_size("7 furlongs");
    ASSERT_FALSE(result.has_value());
    EXPECT_NE(result.error().message().find("'furlongs'"), std::string::npos) << result.error().message();
}

// Values that do not fit in 64 bits, before or after scaling, are rejected.
TEST(Units, ParseSize_RejectsOverflow)
{
    expect_bad_size("18446744073709551616");
    expect_bad_size("99999999999999999999999");
    expect_bad_size("16777216TiB"); // exactly 2^64
    expect_bad_size("18446744073709551615K");
    EXPECT_EQ(parse_size("16777215TiB").value(), 16777215 * TiB);
}

// Sizes below 1 KiB print as bytes, larger ones with one decimal in the largest unit.
TEST(Units, FormatSize_PicksUnit)
{
    EXPECT_EQ(format_size(0), "0 B");
    EXPECT_EQ(format_size(300), "300 B");
    EXPECT_EQ(format_size(1023), "1023 B");
    EXPECT_EQ(format_size(KiB), "1.0 KiB");
    EXPECT_EQ(format_size(1536), "1.5 KiB");
    EXPECT_EQ(format_size(64 * MiB), "64.0 MiB");
    EXPECT_EQ(format_size(GiB), "1.0 GiB");
    EXPECT_EQ(format_size(3 * TiB), "3.0 TiB");
    EXPECT_EQ(format_size(2048 * TiB), "2048.0 TiB"); // no unit beyond TiB
}

// Durations print in ns, us, ms or s depending on magnitude.
TEST(Units, FormatDuration_PicksUnit)
{
    EXPECT_EQ(format_duration_ns(0), "0 ns");
    EXPECT_EQ(format_duration_ns(999), "999 ns");
    EXPECT_EQ(format_duration_ns(1500), "1.5 us");
    EXPECT_EQ(format_duration_ns(12'300'000), "12.3 ms");
    EXPECT_EQ(format_duration_ns(2'100'000'000), "2.10 s");
    EXPECT_EQ(format_duration_ns(60'000'000'000), "60.00 s");
}

} // namespace
} // namespace nk
