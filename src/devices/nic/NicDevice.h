// SPDX-License-Identifier: MIT
#pragma once

// The emulated NKNIC Ethernet controller (programming interface:
// <hw/nknic.h>), its port on an emulated Ethernet segment. Registers, reset,
// link and interrupts: NicDevice.cpp; the receive path and the transmit
// engine: NicDataPath.cpp; the pure parts (filter, interrupt logic, rings):
// NicFilter, NicInterrupts, NicRing.
//
// Threads and locks:
//  - Register accesses arrive from any kernel thread (the bus). They take the
//    device lock (never held across anything that waits) and wait for nothing
//    else: not for an event-loop callback (timers are cancel()ed, not
//    stopped), nor for a transmit pass (CTRL.RST included). The writer may be
//    inside the crossing that a callback's interrupt, or a peer's interrupt
//    raised from inside a transmit pass, waits for.
//  - Receive: the segment calls receive() on the sending station's thread (a
//    peer's reader on the event loop, another NIC's transmit engine). It takes
//    the device lock, filters, DMAs the frame into the ring, and raises the
//    vector once the lock is released; it never waits for anything else.
//  - Transmit: a TDT write (or TCTL.EN set) runs the transmit engine as a
//    softirq of the writing thread, once its outermost crossing into a driver
//    returns, as the disk's doorbell does. One pass runs at a time (the engine
//    lock); a doorbell rung meanwhile makes it loop again. It sends frames on
//    the segment without the device lock (the peers' receive() runs there, and
//    may raise their interrupts, whose handlers may wait). A CTRL.RST written
//    meanwhile does not wait: the pass finds the device reset when it takes
//    the lock again and stops there (the frame it was sending has gone out;
//    nothing is written back, nothing counted in the new statistics).
//  - Event sources of the kernel's event loop (made at connect()): the link
//    negotiation timer (one-shot) and the interrupt moderation timer (ITR).
//    Their callbacks take the device lock.
//  - The vector is raised with no device lock held, from whichever of these
//    threads caused it.
//
// hard_reset() stops the timers synchronously, waits for the transmit pass
// and for any interrupt being raised, and resets: when it returns, no DMA and
// no interrupt happens until a driver programs the device again. As a power
// cycle, it starts link negotiation again: that timer may still fire and
// bring the link up (STATUS.LU, ICR.LSC), which raises nothing, every cause
// being masked after a reset.
//
// Without an event loop (connect() without one), the link comes up at once
// and ITR does not delay interrupts.

#include "base/Mutex.h"
#include "base/ThreadAnnotations.h"
#include "devices/nic/Ethernet.h"
#include "devices/nic/NicFilter.h"
#include "devices/nic/NicInterrupts.h"
#include "devices/nic/NicRing.h"
#include "kernel/bus/HardwareDevice.h"
#include "kernel/events/EventLoop.h"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace nk {

class Wire;

class NicDevice final : public HardwareDevice, private EthernetStation {
public:
    using MacAddress = std::array<uint8_t, 6>;
    static constexpr std::chrono::milliseconds default_link_delay { 500 };

    // Attaches the device's port to `segment` (which must outlive the device
    // or be outlived by nothing the port does: see Ethernet.h). Power-on state;
    // the link starts negotiating once the device is connected to its bus.
    NicDevice(std::string name, MacAddress mac, EthernetSegment& segment,
        std::chrono::milliseconds link_delay = default_link_delay);
    // Stops the timers and the engine, then detaches the port.
    ~NicDevice() override;
    NicDevice(NicDevice const&) = delete;
    NicDevice& operator=(NicDevice const&) = delete;

    // HardwareDevice
    uint16_t vendor_id() const override;
    uint16_t device_id() const override;
    std::string const& name() const override { return m_name; }
    uint32_t window_count() const override { return 1; }
    uint32_t window_size(uint32_t window) const override;
    uint32_t vector_count() const override { return 1; }
    // 8-byte accesses are two 4-byte ones, the low half first.
    uint64_t read_register(uint32_t window, uint32_t offset, unsigned width) override;
    void write_register(uint32_t window, uint32_t offset, unsigned width, uint64_t value) override;
    void hard_reset() override;

    MacAddress const& mac() const { return m_mac; }

    // The wire the device's segment belongs to (its peers), kept alive until
    // the device has detached from it. Set once, by the NIC's kind, before
    // the device is plugged in; null for a device on a segment of its own.
    void keep_wire(std::shared_ptr<Wire> wire) { m_wire = std::move(wire); }
    Wire* wire() const { return m_wire.get(); }

    // Counters for tests and `nooks ctl`: since the device was made (resets
    // and register reads do not clear them).
    struct Counters {
        uint64_t frames_seen { 0 };      // every frame the segment delivered (TPR)
        uint64_t frames_for_us { 0 };    // passed the filter: delivered, missed or too long
        uint64_t frames_delivered { 0 }; // into the receive ring (GPRC)
        uint64_t frames_missed { 0 };    // no descriptor (MPC)
        uint64_t frames_too_long { 0 };  // ROC
        uint64_t frames_sent { 0 };      // onto the segment (GPTC, but for one sent across a CTRL.RST)
        uint64_t frames_not_sent { 0 };  // handed over while the link was down: dropped, descriptors completed
        uint64_t interrupts { 0 };       // vector raised
        uint64_t errors { 0 };           // misprogramming (ERRC)
    };
    Counters counters() const;
    uint64_t frames_for_us() const { return counters().frames_for_us; }
    bool link_up() const;
    // Interrupt and ring state in one line, for logs ("ICR 0x.. IMS 0x.. ...").
    std::string describe() const;

private:
    using Decision = NicInterrupts::Decision;

    // EthernetStation: a frame from the segment, on the sender's thread.
    void receive(std::span<std::byte const> frame) override;
    // HardwareDevice: makes the timers, starts link negotiation.
    void connected() override;

    uint32_t read32_locked(uint32_t offset) NK_REQUIRES(m_mutex);
    void write32(uint32_t offset, uint32_t value);
    // Stores a register and does what writing it does; true to run the transmit engine.
    bool write32_locked(uint32_t offset, uint32_t value, Decision& decision) NK_REQUIRES(m_mutex);
    // A register of a ring's block; an enabled ring is checked again. True if the ring is usable.
    bool write_ring_locked(NicRing& ring, uint32_t relative, uint32_t value, bool enabled, Decision& decision)
        NK_REQUIRES(m_mutex);
    // Checks a ring (m_rx or m_tx) about to be used; fails it if misprogrammed. True if usable.
    bool check_ring_locked(NicRing& ring, Decision& decision) NK_REQUIRES(m_mutex);

    // Power-on state (link down, not negotiating); cancels the timers; a
    // transmit pass in progress stops at its next look at the device.
    void reset_locked() NK_REQUIRES(m_mutex);
    // Starts negotiating unless the link is up; `restart` starts the delay
    // again if negotiation is under way (CTRL.SLU).
    Decision start_negotiation_locked(bool restart = false) NK_REQUIRES(m_mutex);
    void link_timer_fired();
    void itr_timer_fired();

    // Stops the ring concerned, records the code, raises ICR.ERR.
    Decision fail_locked(uint32_t code) NK_REQUIRES(m_mutex);
    // Arms the moderation timer if asked; true if the vector must be raised
    // now, which the caller does with deliver_interrupt() once unlocked.
    bool apply_locked(Decision decision) NK_REQUIRES(m_mutex);
    void deliver_interrupt() NK_EXCLUDES(m_mutex);

    // Receive into the ring; the frame passed the filter.
    Decision deliver_frame_locked(std::span<std::byte const> frame) NK_REQUIRES(m_mutex);

    // Transmit engine.
    void kick();
    static void engine_softirq(void* self);
    void run_engine();
    // Sends what the ring holds; returns how many times the vector must be raised.
    unsigned transmit_pass() NK_REQUIRES(m_engine_mutex);

    // First: destroyed last, after the port detached from its segment.
    std::shared_ptr<Wire> m_wire;
    std::string const m_name;
    MacAddress const m_mac;
    std::chrono::milliseconds const m_link_delay;

    mutable Mutex m_mutex;
    uint64_t m_generation NK_GUARDED_BY(m_mutex) { 0 }; // resets so far
    uint32_t m_ctrl NK_GUARDED_BY(m_mutex) { 0 };
    bool m_link NK_GUARDED_BY(m_mutex) { false };
    bool m_negotiating NK_GUARDED_BY(m_mutex) { false };
    NicInterrupts::Clock::time_point m_link_due NK_GUARDED_BY(m_mutex) {}; // when negotiation ends
    uint32_t m_errcode NK_GUARDED_BY(m_mutex) { 0 };
    uint32_t m_tctl NK_GUARDED_BY(m_mutex) { 0 };
    NicFilterRegisters m_filter NK_GUARDED_BY(m_mutex); // RCTL, RAL/RAH, MTA
    NicRing m_rx NK_GUARDED_BY(m_mutex);
    NicRing m_tx NK_GUARDED_BY(m_mutex);
    NicInterrupts m_interrupts NK_GUARDED_BY(m_mutex);
    // The statistics registers (clear on read), by offset.
    struct Statistics {
        uint32_t mpc, gprc, gptc, gorc, gotc, rnbc, roc, tpr, errc;
    };
    Statistics m_statistics NK_GUARDED_BY(m_mutex) {};
    Counters m_counters NK_GUARDED_BY(m_mutex);
    // Interrupts being raised now (decided, lock released); hard_reset() waits for them.
    unsigned m_raising NK_GUARDED_BY(m_mutex) { 0 };
    ConditionVariable m_raised;
    // Made at connect() (null without an event loop), destroyed with the
    // device; armed and cancelled under the lock, stopped without it.
    std::unique_ptr<EventSource> m_link_timer NK_GUARDED_BY(m_mutex);
    std::unique_ptr<EventSource> m_itr_timer NK_GUARDED_BY(m_mutex);

    // The frame being gathered from its descriptors (across passes, until EOP).
    std::vector<std::byte> m_tx_frame NK_GUARDED_BY(m_mutex);

    // Held while a transmit pass runs; hard_reset() and the destructor take it
    // to wait for the pass (register writes do not).
    Mutex m_engine_mutex;
    // The frame on its way out, without the device lock (swapped with m_tx_frame).
    std::vector<std::byte> m_tx_sending NK_GUARDED_BY(m_engine_mutex);
    std::atomic<bool> m_engine_requested { false };

    // Last: attached once the state above is in place, detached first.
    std::unique_ptr<EthernetPort> m_port;
};

} // namespace nk
