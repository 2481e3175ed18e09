// SPDX-License-Identifier: MIT
// The configuration and machine description: defaults, every key, the device
// tables, and a clear error (naming the key) for everything a user can get wrong.

#include "system/Config.h"

#include "devices/disk/DiskKind.h"
#include "devices/nic/NicKind.h"
#include "support/TestSupport.h"
#include "system/test/TestPackage.h"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <string>

namespace nk {
namespace {

constexpr char const* source = "test.toml";

DeviceKinds kinds() { return Catalog::builtin().device_kinds(); }

Config parse_ok(std::string const& text)
{
    auto result = Config::parse(text, source, kinds());
    EXPECT_TRUE(result.has_value()) << text << "\n-> " << result.error().message();
    return result.value_or(Config {});
}

// Expects `text` to be rejected with a message containing `needle`.
void expect_rejected(std::string const& text, std::string const& needle)
{
    auto result = Config::parse(text, source, kinds());
    ASSERT_FALSE(result.has_value()) << "accepted:\n" << text;
    EXPECT_EQ(result.error().code(), ErrorCode::InvalidArgument) << text;
    EXPECT_NE(result.error().message().find(needle), std::string::npos)
        << "message '" << result.error().message() << "' does not mention '" << needle << "'";
}

DiskSettings const& disk(Config const& config, size_t index = 0)
{
    return static_cast<DiskSettings const&>(*config.devices.at(index).settings);
}

// An empty file gives every embedded default, and the default machine: one disk.
TEST(Config, Parse_EmptyGivesDefaults)
{
    auto config = parse_ok("");
    EXPECT_EQ(config.mode, Mode::Native);
    EXPECT_EQ(config.mount, "/run/nooks/disks");
    EXPECT_EQ(config.log_level, "info");
    EXPECT_EQ(config.fuse_threads, 4u);
    ASSERT_EQ(config.devices.size(), 2u);
    EXPECT_EQ(config.devices[0].name, "disk0");
    EXPECT_EQ(config.devices[0].kind->table(), "disk");
    EXPECT_EQ(config.devices[0].driver, default_driver_directory() + "/nkdisk.so");
    EXPECT_EQ(disk(config).image, "/var/lib/nooks/disk0.img");
    EXPECT_EQ(disk(config).size, 1ull << 30);
    // And a NIC, with its wire and interface defaults.
    EXPECT_EQ(config.devices[1].name, "nic0");
    EXPECT_EQ(config.devices[1].kind->table(), "nic");
    EXPECT_EQ(config.devices[1].driver, default_driver_directory() + "/nknet.so");
    auto const& nic = static_cast<NicSettings const&>(*config.devices[1].settings);
    EXPECT_EQ(nic.mac.to_string(), "02:6e:6b:00:00:01");
    EXPECT_EQ(nic.link_delay.count(), 500);
    EXPECT_EQ(nic.net_namespace, "nooks");
    EXPECT_EQ(nic.interface, "nk0");
    ASSERT_TRUE(nic.address);
    EXPECT_EQ(nic.address->to_string(), "10.77.0.1/24");
    ASSERT_EQ(nic.peers.size(), 2u);
    EXPECT_EQ(nic.peers[0].to_string(), "10.77.0.2/24");
    EXPECT_EQ(nic.peers[1].to_string(), "10.77.0.3/24");
    EXPECT_EQ(nic.peer_namespace_of(0), "nooks-peer0");

    // The default machine is what `nooks run` boots with no configuration.
    auto defaults = Config::defaults(kinds());
    ASSERT_TRUE(defaults);
    EXPECT_EQ(defaults->devices.size(), 2u);
    // Comments change nothing.
    EXPECT_EQ(parse_ok("# nothing here\n").devices.size(), 2u);
}

// Every documented key is read.
TEST(Config, Parse_EveryKey)
{
    auto config = parse_ok(R"(
mode = "shadow"
mount = "/mnt/nooks"
log_level = "debug"
fuse_threads = 8
request_timeout_ms = 1234
tx_timeout_ms = 700
rx_stall_ms = 0
[[disk]]
name = "data"
image = "/srv/disk1.img"
size = "64MiB"
driver = "/opt/nkdisk.so"
[[nic]]
name = "lan"
driver = "/opt/nknet.so"
mac = "02:00:00:aa:bb:cc"
link_delay_ms = 0
namespace = "apps"
interface = "lan0"
address = ""
peers = "192.168.5.2/24, 192.168.5.3/24"
peer_namespace = "far"
)");
    EXPECT_EQ(config.mode, Mode::Shadow);
    EXPECT_EQ(config.mount, "/mnt/nooks");
    EXPECT_EQ(config.log_level, "debug");
    EXPECT_EQ(config.fuse_threads, 8u);
    EXPECT_EQ(config.request_timeout_ms, 1234u);
    EXPECT_EQ(config.tx_timeout_ms, 700u);
    EXPECT_EQ(config.rx_stall_ms, 0u);
    ASSERT_EQ(config.devices.size(), 2u);
    EXPECT_EQ(config.devices[0].name, "data");
    EXPECT_EQ(config.devices[0].driver, "/opt/nkdisk.so");
    EXPECT_EQ(disk(config).image, "/srv/disk1.img");
    EXPECT_EQ(disk(config).size, 64ull << 20);
    EXPECT_EQ(config.devices[1].name, "lan");
    EXPECT_EQ(config.devices[1].driver, "/opt/nknet.so");
    auto const& nic = static_cast<NicSettings const&>(*config.devices[1].settings);
    EXPECT_EQ(nic.mac.to_string(), "02:00:00:aa:bb:cc");
    EXPECT_EQ(nic.link_delay.count(), 0);
    EXPECT_EQ(nic.net_namespace, "apps");
    EXPECT_EQ(nic.interface, "lan0");
    EXPECT_FALSE(nic.address);
    ASSERT_EQ(nic.peers.size(), 2u);
    EXPECT_EQ(nic.peers[1].to_string(), "192.168.5.3/24");
    EXPECT_EQ(nic.peer_namespace_of(1), "far1");
    // Two NICs may not share an interface or a peer's namespace.
    expect_rejected("[[nic]]\n[[nic]]\ninterface = \"nk0\"\n", "interface nk0");
}

// A NIC's keys are checked, and each error names the key.
TEST(Config, Parse_NicKeysAreChecked)
{
    expect_rejected("[[nic]]\nmac = \"02:00:00\"\n", "nic0.mac");
    expect_rejected("[[nic]]\nmac = \"01:00:5e:00:00:01\"\n", "not a unicast");
    expect_rejected("[[nic]]\nlink_delay_ms = 20000\n", "nic0.link_delay_ms");
    expect_rejected("[[nic]]\naddress = \"10.0.0.1\"\n", "nic0.address");
    expect_rejected("[[nic]]\npeers = \"10.0.0.2/24,x\"\n", "nic0.peers");
    expect_rejected("[[nic]]\ninterface = \"a/b\"\n", "nic0.interface");
    expect_rejected("[[nic]]\ninterface = \"much-too-long-name\"\n", "nic0.interface");
    expect_rejected("[[nic]]\nnamespace = \"..\"\n", "nic0.namespace");
    expect_rejected("[[nic]]\ncolour = \"blue\"\n", "colour");
    // A second NIC gets defaults of its own.
    auto config = parse_ok("[[nic]]\n[[nic]]\n");
    ASSERT_EQ(config.devices.size(), 3u);
    auto const& second = static_cast<NicSettings const&>(*config.devices[2].settings);
    EXPECT_EQ(config.devices[2].name, "nic1");
    EXPECT_EQ(second.mac.to_string(), "02:6e:6b:00:00:02");
    EXPECT_EQ(second.address->to_string(), "10.77.1.1/24");
    EXPECT_EQ(second.peer_namespace_of(0), "nooks-nic1-peer0");
}

// Two disks, each with its defaults filled in by name; a bare driver file name
// is looked up in the driver directory.
TEST(Config, Parse_TwoDisks)
{
    auto config = parse_ok("nic = []\n[[disk]]\nsize = \"16MiB\"\n[[disk]]\ndriver = \"nkdisk.so\"\n");
    ASSERT_EQ(config.devices.size(), 2u);
    EXPECT_EQ(config.devices[0].name, "disk0");
    EXPECT_EQ(config.devices[1].name, "disk1");
    EXPECT_EQ(disk(config, 0).size, 16ull << 20);
    EXPECT_EQ(disk(config, 1).size, 1ull << 30);
    EXPECT_EQ(disk(config, 1).image, "/var/lib/nooks/disk1.img");
    EXPECT_EQ(config.devices[1].driver, default_driver_directory() + "/nkdisk.so");
    ASSERT_NE(config.device("disk1"), nullptr);
    EXPECT_EQ(config.device("disk2"), nullptr);
    // No disk at all is a machine too.
    EXPECT_TRUE(parse_ok("disk = []\nnic = []\n").devices.empty());
}

// Device names are unique and of the characters device files may have.
TEST(Config, Parse_DeviceNames)
{
    expect_rejected("[[disk]]\nname = \"a\"\n[[disk]]\nname = \"a\"\n", "two devices are named a");
    expect_rejected("[[disk]]\nname = \"a/b\"\n", "'a/b'");
    expect_rejected("[[disk]]\nname = \"\"\n", "device name");
    expect_rejected("[[disk]]\nname = \"..\"\n", "device name");
    expect_rejected("[[disk]]\nname = 3\n", "'disk[0].name'");
}

// Two devices never share an image, however its path is spelled.
TEST(Config, Parse_SharedImageRejected)
{
    expect_rejected("[[disk]]\nimage = \"/tmp/a.img\"\n[[disk]]\nimage = \"/tmp/x/../a.img\"\n",
        "disk0 and disk1 both use image /tmp/a.img");
    auto config = parse_ok("[[disk]]\nimage = \"/tmp/a.img\"\n[[disk]]\nimage = \"/tmp/b.img\"\n");
    auto result = config.set("disk1.image=/tmp/a.img");
    ASSERT_FALSE(result);
    EXPECT_NE(result.error().message().find("both use image /tmp/a.img"), std::string::npos) << result.error().message();
    EXPECT_EQ(disk(config, 1).image, "/tmp/b.img"); // refused: unchanged
}

// The one-disk configuration of earlier versions gets a message saying what to write.
TEST(Config, Parse_OldDiskTableExplained)
{
    expect_rejected("[disk]\nimage = \"/x.img\"\n", "[[disk]]");
    expect_rejected("[disk]\nimage = \"/x.img\"\n", "name = \"disk0\"");
    expect_rejected("disk = \"/var/disk.img\"", "'disk'");
}

// disk size may be a size string or an integer byte count.
TEST(Config, Parse_SizeAsStringOrInteger)
{
    EXPECT_EQ(disk(parse_ok("[[disk]]\nsize = \"1GiB\"")).size, 1ull << 30);
    EXPECT_EQ(disk(parse_ok("[[disk]]\nsize = \"2 MiB\"")).size, 2ull << 20);
    EXPECT_EQ(disk(parse_ok("[[disk]]\nsize = \"1536 KiB\"")).size, 1536u << 10);
    EXPECT_EQ(disk(parse_ok("[[disk]]\nsize = \"8192KB\"")).size, 8'192'000u); // decimal units
    expect_rejected("[[disk]]\nsize = \"2MB\"", "multiple of 512"); // 2,000,000 bytes: not whole sectors
    EXPECT_EQ(disk(parse_ok("[[disk]]\nsize = 1048576")).size, 1048576u);
    EXPECT_EQ(disk(parse_ok("[[disk]]\nsize = 8_589_934_592")).size, 8ull << 30);
}

// A bad size is rejected with the key (as the device's name) and the reason.
TEST(Config, Parse_BadSizeRejected)
{
    expect_rejected("[[disk]]\nsize = \"12 parsecs\"", "'disk0.size'");
    expect_rejected("[[disk]]\nsize = \"12 parsecs\"", "parsecs");
    expect_rejected("[[disk]]\nsize = \"\"", "'disk0.size'");
    expect_rejected("[[disk]]\nsize = 0", "'disk0.size'");
    expect_rejected("[[disk]]\nsize = 4096", "'disk0.size'"); // under 1 MiB
    expect_rejected("[[disk]]\nsize = 1048577", "multiple of 512");
    expect_rejected("[[disk]]\nsize = -4096", "'disk0.size'");
    expect_rejected("[[disk]]\nsize = 1.5", "'disk0.size'");
    expect_rejected("[[disk]]\nsize = 4096.0", "'disk0.size'");
    expect_rejected("[[disk]]\nsize = true", "'disk0.size'");
    expect_rejected("[[disk]]\nsize = [1, 2]", "'disk0.size'");
    expect_rejected("[[disk]]\nname = \"big\"\nsize = 0", "'big.size'");
}

// An unknown top-level key is rejected and named.
TEST(Config, Parse_UnknownTopLevelKey)
{
    expect_rejected("colour = \"blue\"", "'colour'");
    expect_rejected("mode = \"native\"\nfuse_thread = 2", "'fuse_thread'");
    expect_rejected("[network]\nport = 1", "'network'");
}

// An unknown key of a device is rejected and named with its device.
TEST(Config, Parse_UnknownDiskKey)
{
    expect_rejected("[[disk]]\nsectors = 12", "'disk0.sectors'");
    expect_rejected("[[disk]]\nimage = \"/x\"\nimag = \"/y\"", "'disk0.imag'");
}

// Values of the wrong type are rejected and the key is named.
TEST(Config, Parse_WrongTypes)
{
    expect_rejected("mode = 1", "'mode'");
    expect_rejected("mount = 5", "'mount'");
    expect_rejected("mount = [\"/a\"]", "'mount'");
    expect_rejected("log_level = true", "'log_level'");
    expect_rejected("fuse_threads = \"4\"", "'fuse_threads'");
    expect_rejected("[[disk]]\nimage = 7", "'disk0.image'");
    expect_rejected("[[disk]]\ndriver = false", "'disk[0].driver'");
}

// The isolation table: the polling window of the XPC hand-off, and its bounds.
TEST(Config, Parse_IsolationPoll)
{
    EXPECT_EQ(parse_ok("").isolation.poll_us, 50u);
    EXPECT_EQ(parse_ok("[isolation]\npoll_us = 0").isolation.poll_us, 0u);
    EXPECT_EQ(parse_ok("[isolation]\npoll_us = 200").isolation.poll_us, 200u);
    EXPECT_TRUE(parse_ok("").isolation.pin_workers);
    EXPECT_FALSE(parse_ok("[isolation]\npin_workers = false").isolation.pin_workers);
    expect_rejected("[isolation]\npin_workers = 1", "'isolation.pin_workers'");
    expect_rejected("[isolation]\npoll_us = -1", "'isolation.poll_us'");
    expect_rejected("[isolation]\npoll_us = 10001", "'isolation.poll_us'");
    expect_rejected("[isolation]\npoll_us = \"50\"", "'isolation.poll_us'");
    expect_rejected("[isolation]\npolls = 1", "'isolation.polls'");
    expect_rejected("[isolation]\nheap_size = \"1000KiB\"", "'isolation.heap_size'");
}

// A float is not an integer, even when it has no fractional part.
TEST(Config, Parse_FuseThreadsFloatRejected)
{
    expect_rejected("fuse_threads = 2.5", "'fuse_threads'");
    expect_rejected("fuse_threads = 4.0", "'fuse_threads'");
}

// An unknown mode is rejected and quoted.
TEST(Config, Parse_BadMode)
{
    expect_rejected("mode = \"turbo\"", "'turbo'");
    expect_rejected("mode = \"Native\"", "'Native'");
    expect_rejected("mode = \"\"", "mode");
}

// An unknown log level is rejected and the key named.
TEST(Config, Parse_BadLogLevel)
{
    expect_rejected("log_level = \"verbose\"", "'log_level'");
    expect_rejected("log_level = \"INFO\"", "'log_level'");
}

// fuse_threads must be in 1..64.
TEST(Config, Parse_FuseThreadsRange)
{
    EXPECT_EQ(parse_ok("fuse_threads = 1").fuse_threads, 1u);
    EXPECT_EQ(parse_ok("fuse_threads = 64").fuse_threads, 64u);
    expect_rejected("fuse_threads = 0", "'fuse_threads'");
    expect_rejected("fuse_threads = 65", "'fuse_threads'");
    expect_rejected("fuse_threads = -1", "'fuse_threads'");
    expect_rejected("fuse_threads = 4294967297", "'fuse_threads'");
}

// Malformed TOML reports source:line:column.
TEST(Config, Parse_MalformedTomlGivesPosition)
{
    auto first = Config::parse("mode = ", source, kinds());
    ASSERT_FALSE(first.has_value());
    EXPECT_EQ(first.error().code(), ErrorCode::InvalidArgument);
    EXPECT_TRUE(std::regex_search(first.error().message(), std::regex(R"(^test\.toml:1:\d+: )"))) << first.error().message();

    auto third = Config::parse("mode = \"native\"\n\nmount = \"/a\" junk\n", source, kinds());
    ASSERT_FALSE(third.has_value());
    EXPECT_TRUE(std::regex_search(third.error().message(), std::regex(R"(^test\.toml:3:\d+: )"))) << third.error().message();

    auto unterminated = Config::parse("[[disk\nimage = \"x\"\n", source, kinds());
    ASSERT_FALSE(unterminated.has_value());
    EXPECT_TRUE(std::regex_search(unterminated.error().message(), std::regex(R"(^test\.toml:1:\d+: )"))) << unterminated.error().message();
}

// A key given twice is a TOML error, not a silent override.
TEST(Config, Parse_DuplicateKeyRejected)
{
    auto result = Config::parse("mode = \"native\"\nmode = \"nooks\"\n", source, kinds());
    ASSERT_FALSE(result.has_value());
    EXPECT_TRUE(std::regex_search(result.error().message(), std::regex(R"(^test\.toml:2:\d+: )"))) << result.error().message();
}

// `--set DEVICE.KEY=VALUE` changes one key of one device, checked like the file's keys.
TEST(Config, Set_DeviceKeys)
{
    auto config = parse_ok("[[disk]]\n[[disk]]\n");
    ASSERT_TRUE(config.set("disk1.size=256MiB"));
    EXPECT_EQ(disk(config, 1).size, 256ull << 20);
    EXPECT_EQ(disk(config, 0).size, 1ull << 30);
    ASSERT_TRUE(config.set("disk0.size=2097152"));
    EXPECT_EQ(disk(config, 0).size, 2ull << 20);
    ASSERT_TRUE(config.set("disk0.image=/tmp/x.img"));
    EXPECT_EQ(disk(config, 0).image, "/tmp/x.img");
    ASSERT_TRUE(config.set("disk1.driver=nktest.so"));
    EXPECT_EQ(config.devices[1].driver, default_driver_directory() + "/nktest.so");

    auto expect_refused = [&](char const* assignment, std::string const& needle) {
        auto result = config.set(assignment);
        ASSERT_FALSE(result) << assignment;
        EXPECT_NE(result.error().message().find(needle), std::string::npos) << result.error().message();
    };
    expect_refused("disk2.size=1GiB", "no device disk2");
    expect_refused("disk0.size=12 parsecs", "parsecs");
    expect_refused("disk0.colour=blue", "'disk0.colour'");
    expect_refused("disk0.name=other", "name");
    expect_refused("size=1GiB", "DEVICE.KEY=VALUE");
    expect_refused("disk0.size", "DEVICE.KEY=VALUE");
    // A refused assignment changes nothing.
    EXPECT_EQ(disk(config, 0).size, 2ull << 20);
}

// A catalog with test devices knows their tables; the builtin one does not.
TEST(Config, Parse_KindsOfTheCatalog)
{
    auto with_tests = Config::parse("[[aux]]\nname = \"aux0\"\n", source, test_catalog().device_kinds());
    ASSERT_TRUE(with_tests) << with_tests.error().message();
    ASSERT_EQ(with_tests->devices.size(), 3u); // the default disk and NIC, and the aux device
    EXPECT_EQ(with_tests->devices[2].driver, "");
    expect_rejected("[[aux]]\nname = \"aux0\"\n", "'aux'");
}

// A missing file is NotFound and names the path.
TEST(Config, LoadFile_Missing)
{
    test::TempDir dir;
    auto path = dir.file("absent.toml");
    auto result = Config::load_file(path, kinds());
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().code(), ErrorCode::NotFound);
    EXPECT_NE(result.error().message().find(path), std::string::npos) << result.error().message();

    // A directory is not a configuration file either.
    auto directory = Config::load_file(dir.path(), kinds());
    ASSERT_FALSE(directory.has_value());
    EXPECT_EQ(directory.error().code(), ErrorCode::NotFound);
}

// A file on disk is parsed, and its errors carry the file's path.
TEST(Config, LoadFile_ParsesAndReportsPath)
{
    test::TempDir dir;
    auto good = dir.file("good.toml");
    std::ofstream(good) << "mode = \"nooks\"\n[[disk]]\nsize = \"16MiB\"\n";
    auto config = Config::load_file(good, kinds());
    ASSERT_TRUE(config.has_value()) << config.error().message();
    EXPECT_EQ(config->mode, Mode::Nooks);
    EXPECT_EQ(disk(*config).size, 16ull << 20);

    auto bad = dir.file("bad.toml");
    std::ofstream(bad) << "mode = \"native\"\nbogus = 1\n";
    auto failed = Config::load_file(bad, kinds());
    ASSERT_FALSE(failed.has_value());
    EXPECT_NE(failed.error().message().find(bad), std::string::npos) << failed.error().message();
    EXPECT_NE(failed.error().message().find("'bogus'"), std::string::npos) << failed.error().message();
}

// parse_mode accepts exactly the three names and mode_name inverts it.
TEST(Config, ParseMode_Names)
{
    for (auto mode : { Mode::Native, Mode::Nooks, Mode::Shadow }) {
        auto parsed = parse_mode(mode_name(mode));
        ASSERT_TRUE(parsed.has_value()) << mode_name(mode);
        EXPECT_EQ(*parsed, mode);
    }
    for (auto const* bad : { "", "NATIVE", "native ", "isolated", "shadows" }) {
        auto parsed = parse_mode(bad);
        ASSERT_FALSE(parsed.has_value()) << "'" << bad << "'";
        EXPECT_EQ(parsed.error().code(), ErrorCode::InvalidArgument);
    }
}

// A driver named by file is found in the driver directory; a path is a path.
TEST(Config, ResolveDriverPath)
{
    EXPECT_EQ(resolve_driver_path("nkdisk.so"), default_driver_directory() + "/nkdisk.so");
    EXPECT_EQ(resolve_driver_path("/elsewhere/custom.so"), "/elsewhere/custom.so");
    EXPECT_EQ(resolve_driver_path("./custom.so"), "./custom.so");
    EXPECT_EQ(resolve_driver_path(""), "");
}

} // namespace
} // namespace nk
