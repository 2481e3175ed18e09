// SPDX-License-Identifier: MIT
#pragma once

// Configuration of a kernel: what `nooks run` boots. Every setting has an
// embedded default, a TOML key, and (for the common ones) a command-line flag.
//
//   mode = "native"             # native | nooks | shadow
//   mount = "/run/nooks/disks"  # where the disk files appear
//   control = "/run/nooks/control.sock"  # `nooks ctl` talks to it; "" turns it off
//   log_level = "info"          # debug | info | warn | error
//   fuse_threads = 4
//   request_timeout_ms = 30000  # a block request the driver holds longer: a lost completion
//   [disk]
//   image = "/var/lib/nooks/disk0.img"   # created at `size` if missing
//   size = "1GiB"
//   driver = "<libdir>/nooks/drivers/nkdisk.so"
//   [isolation]                 # nooks and shadow modes
//   channels = 8                # XPC channels (concurrent calls) per domain
//   heap_size = "64MiB"         # the driver's memory in its domain
//   livelock_ms = 3000          # a call into the driver that takes longer is a failure
//   poll_us = 50                # a domain worker looks for the next call this long before it sleeps (0: never)
//   user = "nobody"             # the unprivileged user domains run as
//   max_objects = 1024          # kernel objects a driver may hold (more: too many resources)
//   agent = "/run/nooks/agent.sock"  # the user-mode agent's socket ("" : built-in policy only)
//   agent_timeout_ms = 500      # no answer in time: the built-in policy applies

#include "base/Error.h"

#include <cstdint>
#include <optional>
#include <string>

namespace nk {

enum class Mode : unsigned char { Native, Nooks, Shadow };

char const* mode_name(Mode mode);
Result<Mode> parse_mode(std::string_view text);

struct Config {
    Mode mode { Mode::Native };
    std::string mount { "/run/nooks/disks" };
    std::string control { "/run/nooks/control.sock" };
    std::string log_level { "info" };
    unsigned fuse_threads { 4 };
    uint64_t request_timeout_ms { 30'000 }; // a block request held longer is a lost completion (0: never)
    struct Disk {
        std::string image { "/var/lib/nooks/disk0.img" };
        uint64_t size { 1ull << 30 };
        std::string driver; // empty: the nkdisk driver installed next to this program
    } disk;
    struct Isolation {
        unsigned channels { 8 };
        uint64_t heap_size { 64ull << 20 };
        uint64_t livelock_ms { 3000 };
        uint64_t poll_us { 50 };
        std::string user { "nobody" };
        uint64_t max_objects { 1024 };
        std::string agent { "/run/nooks/agent.sock" };
        uint64_t agent_timeout_ms { 500 };
    } isolation;

    // Parses a TOML file on top of the defaults. Unknown keys, wrong types and
    // bad values are errors that name the key.
    static Result<Config> load_file(std::string const& path);
    static Result<Config> parse(std::string_view toml, std::string const& source);

    // The driver to load: disk.driver, or the default next to the executable.
    std::string driver_path() const;
};

// Directory holding the drivers built or installed with this program
// (<prefix>/lib/nooks/drivers, found from /proc/self/exe).
std::string default_driver_directory();

} // namespace nk
