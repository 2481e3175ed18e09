// SPDX-License-Identifier: MIT
#pragma once

// A kind of emulated device a machine description can list: its table in the
// configuration ([[disk]]), the driver class its drivers belong to, the driver
// it gets by default, its own settings and how to build one.
//
// The machine description (src/system/Config.h) reads each device's table
// through its kind: `name` and `driver` are common to every kind and read by
// the description; the kind reads (and checks) every other key, with an
// embedded default for each. One kind per folder of src/devices.
//
// Thread-safety: kinds are immutable after construction; any thread.

#include "base/ConfigTable.h"
#include "base/Error.h"
#include "kernel/bus/HardwareDevice.h"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace nk {

// A device's own settings, as its kind parsed and checked them.
class DeviceSettings {
public:
    virtual ~DeviceSettings() = default;
    // For people: "image /var/lib/nooks/disk0.img, 1.0 GiB".
    virtual std::string describe() const = 0;
    // Host resources the device takes for itself, which no other device of
    // the machine may name ("image /var/lib/nooks/disk0.img"): two disks on
    // one image would corrupt it.
    virtual std::vector<std::string> exclusive_resources() const { return {}; }
};

class DeviceKind {
public:
    virtual ~DeviceKind() = default;

    // The name of its tables in the configuration: "disk" for [[disk]]; also
    // the stem of its devices' default names ("disk0", "disk1").
    virtual std::string_view table() const = 0;
    // The class its drivers belong to ("block").
    virtual std::string_view driver_class() const = 0;
    // The driver a device of this kind gets when its table names none (a file
    // in the driver directory, "nkdisk.so"), or empty: no driver of its own (a
    // device any matching driver may take).
    virtual std::string_view default_driver() const = 0;
    // How many devices of this kind a machine has when its description lists none.
    virtual unsigned default_count() const = 0;

    // Reads and checks the kind's own keys of device `name` (everything but
    // `name` and `driver`), filling in defaults. The error names the bad key.
    virtual Result<std::shared_ptr<DeviceSettings const>> parse(std::string const& name, ConfigTable const& table) const = 0;
    // Builds the device (its backing image or peer is created if missing).
    virtual Result<std::unique_ptr<HardwareDevice>> create(std::string const& name, DeviceSettings const& settings) const = 0;
};

} // namespace nk
