// SPDX-License-Identifier: MIT
#pragma once

// A registered disk (nk_disk): geometry, the driver's entry points (a port),
// the request queue and who has it open.
//
// Lifetime: created by nk_blk_register_disk, killed by nk_blk_unregister_disk
// (or when its driver is torn down). A killed disk fails all I/O; the object
// itself stays alive as long as anyone holds a shared_ptr to it (open files in
// a frontend), so a stale handle is an error, never a dangling pointer.

#include "base/Error.h"
#include "base/Mutex.h"
#include "base/ThreadAnnotations.h"
#include "classes/block/BlockDriverPort.h"
#include "classes/block/RequestQueue.h"

#include <nooks/block.h>

#include <atomic>
#include <memory>
#include <string>

namespace nk {

class BusDevice;
class Module;

struct DiskGeometry {
    std::string name;
    uint64_t capacity_sectors { 0 };
    uint32_t logical_block_size { 512 };
    uint32_t max_sectors { 0 };
    uint32_t queue_depth { 0 };
    uint32_t features { 0 };

    // Checks what a driver declared; the error names the bad field.
    static Result<DiskGeometry> from_params(nk_blk_disk_params const& params);
    uint64_t capacity_bytes() const { return capacity_sectors * NK_BLK_SECTOR_SIZE; }
};

class Disk {
public:
    Disk(uint64_t id, DiskGeometry geometry, Module& owner, BusDevice* device, std::unique_ptr<BlockDriverPort> port,
        void* private_data);
    ~Disk();
    Disk(Disk const&) = delete;
    Disk& operator=(Disk const&) = delete;

    // Unique for the life of the kernel; a re-registered disk gets a new id.
    uint64_t id() const { return m_id; }
    DiskGeometry const& geometry() const { return m_geometry; }
    std::string const& name() const { return m_geometry.name; }
    // The driver serving the disk. A shadow driver moves a disk to its driver's
    // next instance after a failure, so this may change (never to null).
    Module& owner() const { return *m_owner.load(std::memory_order_acquire); }
    void set_owner(Module& owner) { m_owner.store(&owner, std::memory_order_release); }
    BusDevice* device() const { return m_device; }
    void* private_data() const { return m_private_data; }
    RequestQueue& queue() { return m_queue; }
    BlockDriverPort& port() { return *m_port; }
    bool alive() const { return m_alive.load(std::memory_order_acquire); }

    // An opener arrived: the first one calls the driver's open().
    Result<void> open();
    // An opener left: the last one calls the driver's release().
    void release();
    uint32_t open_count() const;

    Result<int> ioctl(uint32_t cmd, uint64_t arg);

    // Unregisters: no more I/O reaches the driver; everything outstanding fails.
    void kill();

    nk_disk* handle() { return reinterpret_cast<nk_disk*>(this); }
    static Disk& from_handle(nk_disk* disk) { return *reinterpret_cast<Disk*>(disk); }

private:
    uint64_t m_id;
    DiskGeometry m_geometry;
    std::atomic<Module*> m_owner;
    BusDevice* m_device;
    std::unique_ptr<BlockDriverPort> m_port;
    void* m_private_data;
    RequestQueue m_queue;
    std::atomic<bool> m_alive { true };

    mutable Mutex m_open_mutex;
    uint32_t m_open_count NK_GUARDED_BY(m_open_mutex) { 0 };
};

} // namespace nk
