// SPDX-License-Identifier: MIT
#pragma once

// Emulated NKDISK storage controller (programming interface: <hw/nkdisk.h>).
//
// Threads: register accesses arrive from any kernel thread. Commands are
// executed by the "engine", which runs as a softirq on the thread that rang the
// doorbell, once that thread's call into the driver returns (no device thread,
// no cross-CPU wakeup). One engine runs at a time; a doorbell rung while it
// runs makes it loop again. The completion interrupt is raised after each
// batch, outside every device lock.

#include "base/Mutex.h"
#include "base/ThreadAnnotations.h"
#include "kernel/bus/HardwareDevice.h"
#include "devices/disk/DiskImage.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace nk {

class DiskController final : public HardwareDevice {
public:
    struct Options {
        std::string name { "disk0" };
        uint32_t max_sectors { 2048 }; // 1 MiB per command
        uint32_t max_queue { 1024 };
    };

    static Result<std::unique_ptr<DiskController>> create(std::unique_ptr<DiskImage> image, Options options);
    ~DiskController() override;

    // HardwareDevice
    uint16_t vendor_id() const override;
    uint16_t device_id() const override;
    std::string const& name() const override { return m_options.name; }
    uint32_t window_count() const override { return 1; }
    uint32_t window_size(uint32_t window) const override;
    uint32_t vector_count() const override;
    uint64_t read_register(uint32_t window, uint32_t offset, unsigned width) override;
    void write_register(uint32_t window, uint32_t offset, unsigned width, uint64_t value) override;
    void hard_reset() override;

    // Counters for tests and `nooks ctl`.
    struct Stats {
        uint64_t commands { 0 };
        uint64_t reads { 0 };
        uint64_t writes { 0 };
        uint64_t flushes { 0 };
        uint64_t command_errors { 0 };
        uint64_t fatal_errors { 0 };
        uint64_t interrupts { 0 };
        uint8_t last_fatal_code { 0 };
        uint16_t last_command_status { 0 };
    };
    Stats stats() const;

    // Makes the medium fail every command that touches [sector, sector+count),
    // as a bad disk would: the command completes with NKDISK_SC_MEDIA_ERROR.
    void inject_media_error(uint64_t sector, uint64_t count);
    void clear_media_errors();

    DiskImage& image() { return *m_image; }

private:
    DiskController(std::unique_ptr<DiskImage> image, Options options);

    struct Command;
    static void engine_softirq(void* self);
    void run_engine();
    bool run_engine_pass() NK_REQUIRES(m_engine_mutex);
    uint16_t execute(Command const& command);
    bool touches_media_error(uint64_t sector, uint64_t count) const NK_REQUIRES(m_mutex);

    void reset_locked(bool power_on) NK_REQUIRES(m_mutex);
    void enable_locked() NK_REQUIRES(m_mutex);
    // Stops the controller with a fatal error; returns true if the error vector must be raised.
    bool fail_locked(uint8_t code) NK_REQUIRES(m_mutex);
    bool write_sq_tail_locked(uint32_t value) NK_REQUIRES(m_mutex);
    bool write_cq_head_locked(uint32_t value) NK_REQUIRES(m_mutex);
    void kick();

    std::unique_ptr<DiskImage> m_image;
    Options m_options;
    uint64_t m_capacity_sectors;

    // The register file and ring state.
    mutable Mutex m_mutex;
    bool m_was_reset NK_GUARDED_BY(m_mutex) { false }; // false at power-on
    bool m_enabled NK_GUARDED_BY(m_mutex) { false };
    uint8_t m_fatal NK_GUARDED_BY(m_mutex) { 0 };
    uint32_t m_config NK_GUARDED_BY(m_mutex) { 0 };
    uint64_t m_sq_base NK_GUARDED_BY(m_mutex) { 0 };
    uint64_t m_cq_base NK_GUARDED_BY(m_mutex) { 0 };
    uint32_t m_queue_size NK_GUARDED_BY(m_mutex) { 0 };
    uint32_t m_sq_tail NK_GUARDED_BY(m_mutex) { 0 };
    uint32_t m_sq_head NK_GUARDED_BY(m_mutex) { 0 };
    uint32_t m_cq_tail NK_GUARDED_BY(m_mutex) { 0 };
    uint32_t m_cq_head NK_GUARDED_BY(m_mutex) { 0 };
    uint16_t m_phase NK_GUARDED_BY(m_mutex) { 1 };
    uint32_t m_int_status NK_GUARDED_BY(m_mutex) { 0 };
    uint32_t m_int_mask NK_GUARDED_BY(m_mutex) { 0 };
    // Bumped by every reset, so a command executed across a reset is dropped.
    uint64_t m_generation NK_GUARDED_BY(m_mutex) { 0 };
    Stats m_stats NK_GUARDED_BY(m_mutex);
    std::vector<std::pair<uint64_t, uint64_t>> m_media_errors NK_GUARDED_BY(m_mutex);

    // Held while commands execute; a reset takes it to wait for the current
    // command. It serializes execution: the state it protects is the medium's.
    Mutex m_engine_mutex;
    std::atomic<bool> m_engine_requested { false };
};

} // namespace nk
