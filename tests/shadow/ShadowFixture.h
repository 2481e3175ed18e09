// SPDX-License-Identifier: MIT
#pragma once

// An in-process kernel in shadow mode with the real nkdisk driver (no FUSE):
// faults are armed as an operator arms them (the control socket's commands)
// and I/O goes through the block layer as the FUSE frontend sends it.

#include "classes/block/BlockIo.h"
#include "shadow/block/BlockShadow.h"
#include "support/TestSupport.h"

#include <nlohmann/json.hpp>

#include <thread>

namespace nk::test {

class ShadowFixture : public ::testing::Test {
protected:
    void boot(std::string agent = {}, uint64_t livelock_ms = 300)
    {
        auto config = machine_config(fmt::format("mode = \"shadow\"\ncontrol = \"{}\"\nrequest_timeout_ms = 2000\n{}", dir.file("control.sock"),
            disk_table(dir, "disk0", 32ull << 20)));
        config.isolation.livelock_ms = livelock_ms;
        config.isolation.agent = std::move(agent);
        auto booted = System::boot(config, { .mount_frontends = false });
        ASSERT_TRUE(booted) << booted.error().message();
        system = std::move(*booted);
        disk = find_disk(*system);
        ASSERT_NE(disk, nullptr);
    }

    nlohmann::json control(nlohmann::json const& request) { return nlohmann::json::parse(system->control()->handle_line(request.dump())); }

    void inject(nlohmann::json request)
    {
        request["command"] = "inject";
        request["driver"] = "nkdisk";
        auto reply = control(request);
        ASSERT_TRUE(reply["ok"].get<bool>()) << reply.dump();
    }

    unsigned restarts() { return system->recovery()->driver("nkdisk@disk0")->restarts; }

    // Waits until the driver has been restarted `count` times and is live again.
    bool wait_restarts(unsigned count, std::chrono::milliseconds timeout = std::chrono::seconds(20))
    {
        auto back = wait_until(timeout, [&] {
            auto status = system->recovery()->driver("nkdisk@disk0");
            return status && status->restarts >= count && status->state == DriverState::Live;
        });
        return back && system->recovery()->wait_idle(std::chrono::seconds(5));
    }

    BlockShadow::DiskStatus shadow_status() { return system->shadow<BlockShadow>()->disks().at(0); }

    TempDir dir { "nooks-shadow" };
    std::unique_ptr<System> system;
    std::shared_ptr<Disk> disk;
};

inline std::vector<std::byte> pattern(size_t size, uint32_t seed)
{
    std::vector<std::byte> bytes(size);
    uint32_t state = seed * 2654435761u + 1;
    for (auto& byte : bytes) {
        state = state * 1664525u + 1013904223u;
        byte = static_cast<std::byte>(state >> 24);
    }
    return bytes;
}

} // namespace nk::test
