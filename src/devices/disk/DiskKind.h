// SPDX-License-Identifier: MIT
#pragma once

// The disk kind of device: an NKDISK controller backed by an image file.
//
//   [[disk]]
//   name = "disk0"                       # default: disk<N>
//   image = "/var/lib/nooks/disk0.img"   # default: /var/lib/nooks/<name>.img;
//                                        # created at `size` if missing, never truncated
//   size = "1GiB"                        # at least 1 MiB, a multiple of 512 bytes
//   driver = "nkdisk.so"                 # default

#include "devices/DeviceKind.h"

namespace nk {

struct DiskSettings final : DeviceSettings {
    std::string image;
    uint64_t size { 1ull << 30 };
    std::string describe() const override;
    std::vector<std::string> exclusive_resources() const override;
};

class DiskKind final : public DeviceKind {
public:
    std::string_view table() const override { return "disk"; }
    std::string_view driver_class() const override { return "block"; }
    std::string_view default_driver() const override { return "nkdisk.so"; }
    unsigned default_count() const override { return 1; }
    Result<std::shared_ptr<DeviceSettings const>> parse(std::string const& name, ConfigTable const& table) const override;
    Result<std::unique_ptr<HardwareDevice>> create(std::string const& name, DeviceSettings const& settings) const override;
};

} // namespace nk
