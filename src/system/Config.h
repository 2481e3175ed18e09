// SPDX-License-Identifier: MIT
#pragma once

// The configuration of a kernel and the description of the machine it runs:
// what `nooks run` boots. Every setting has an embedded default, a TOML key,
// and (for the common ones) a command-line flag; `nooks run` with no
// configuration boots the default machine (one device of each kind that has
// a default count: a disk).
//
//   mode = "native"                 # native | nooks | shadow
//   mount = "/run/nooks/disks"      # where the device files appear (FUSE)
//   sound_mount = "/run/nooks/sound" # where the sound cards' OSS files appear (dsp, mixer; FUSE)
//   control = "/run/nooks/control.sock"  # `nooks ctl` talks to it; "" turns it off
//   log_level = "info"              # debug | info | warn | error
//   fuse_threads = 4
//   request_timeout_ms = 30000      # a request a driver holds longer: a lost completion
//   tx_timeout_ms = 5000            # a net transmit queue stopped longer with nothing sent: a stuck driver (0: never)
//   rx_stall_ms = 3000              # a NIC that took frames for us this long while the driver delivered none (0: never)
//   [isolation]                     # nooks and shadow modes
//   channels = 8                    # XPC channels (concurrent calls) per domain
//   heap_size = "64MiB"             # the driver's memory in its domain
//   livelock_ms = 3000              # a call into the driver that takes longer is a failure
//   poll_us = 50                    # a domain worker looks for the next call this long before it sleeps (0: never)
//   pin_workers = true              # each domain worker runs on one CPU (false: the host schedules them anywhere)
//   user = "nobody"                 # the unprivileged user domains run as
//   max_objects = 1024              # kernel objects a driver may hold (more: too many resources)
//   agent = "/run/nooks/agent.sock" # the user-mode agent's socket ("" : built-in policy only)
//   agent_timeout_ms = 500          # no answer in time: the built-in policy applies
//
//   [[disk]]                        # one table per device, of any kind the catalog knows
//   name = "disk0"                  # default: <kind><N>, N counting that kind's tables
//   driver = "nkdisk.so"            # a file in the driver directory, or a path; default: the kind's
//   image = ...                     # the kind's own keys (src/devices/<kind>/<Kind>Kind.h)
//
// Each device gets a driver instance of its own ("nkdisk@disk0"), bound to it.

#include "base/ConfigTable.h"
#include "base/Error.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace nk {

class DeviceKind;
class DeviceSettings;

enum class Mode : unsigned char { Native, Nooks, Shadow };

char const* mode_name(Mode mode);
Result<Mode> parse_mode(std::string_view text);

// The kinds of device a machine description may list (see system/Catalog.h).
using DeviceKinds = std::vector<DeviceKind const*>;

// One device of the machine.
struct DeviceConfig {
    DeviceKind const* kind { nullptr };
    std::string name;   // unique in the machine: "disk0"
    std::string driver; // the driver file's path, or empty: no driver of its own
    ConfigTable table;  // its kind's keys as written (kept for `--set`)
    std::shared_ptr<DeviceSettings const> settings; // as its kind parsed them
};

struct Config {
    Mode mode { Mode::Native };
    std::string mount { "/run/nooks/disks" };
    std::string sound_mount { "/run/nooks/sound" };
    std::string control { "/run/nooks/control.sock" };
    std::string log_level { "info" };
    unsigned fuse_threads { 4 };
    uint64_t request_timeout_ms { 30'000 }; // a request held longer is a lost completion (0: never)
    uint64_t tx_timeout_ms { 5'000 };       // the net watchdog's transmit timeout (0: never)
    uint64_t rx_stall_ms { 3'000 };         // the net watchdog's receive stall (0: never)
    struct Isolation {
        unsigned channels { 8 };
        uint64_t heap_size { 64ull << 20 };
        uint64_t livelock_ms { 3000 };
        uint64_t poll_us { 50 };
        bool pin_workers { true };
        std::string user { "nobody" };
        uint64_t max_objects { 1024 };
        std::string agent { "/run/nooks/agent.sock" };
        uint64_t agent_timeout_ms { 500 };
    } isolation;
    std::vector<DeviceConfig> devices;

    // The default machine: every default, and the kinds' default devices.
    static Result<Config> defaults(DeviceKinds const& kinds);
    // Parses a TOML file on top of the defaults. Unknown keys, wrong types,
    // bad values and duplicate device names are errors that name the key.
    static Result<Config> parse(std::string_view toml, std::string const& source, DeviceKinds const& kinds);
    static Result<Config> load_file(std::string const& path, DeviceKinds const& kinds);

    // `--set DEVICE.KEY=VALUE`: sets one key of a device (VALUE is read as a
    // TOML value when it is one, else as a string) and checks it again.
    Result<void> set(std::string_view assignment);

    DeviceConfig const* device(std::string const& name) const;
};

// Directory holding the drivers built or installed with this program
// (<prefix>/lib/nooks/drivers, found from /proc/self/exe).
std::string default_driver_directory();
// A driver as a configuration names it: a bare file name is looked up in the
// driver directory; anything with a '/' is a path.
std::string resolve_driver_path(std::string const& driver);

} // namespace nk
