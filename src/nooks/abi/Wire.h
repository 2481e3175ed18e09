// SPDX-License-Identifier: MIT
#pragma once

// The wire format of every crossing in abi/Interface.h: which message word
// carries which argument, and the payload structures passed by value. The
// domain's stubs encode (src/nooks/runtime/Stubs*.cpp); the kernel's wrappers
// decode and check every field (src/nooks/wrappers).
//
//   driver -> kernel                 words                          payload / answer
//   bus_register_driver              key, probe, remove             WireBusDriver
//   bus_unregister_driver            key
//   dev_info                         dev                            answer: nk_device_info
//   dev_set_drvdata                  dev, data
//   iomap                            dev, index                     answer word: window
//   iounmap / iomem_size             window
//   readl / readq                    window, offset                 answer word: value
//   writel / writeq (deferred)       window, offset, value
//   dma_map_coherent                 dev, cpu address, size         answer word: dma address
//   dma_unmap_coherent               dev, cpu address, size, dma
//   dev_irq                          dev, index
//   request_irq                      irq, handler, dev_id           name (text)
//   free_irq                         irq, dev_id
//   disable_irq / _nosync / enable   irq
//   msleep                           ms
//   timer_create / work_create       function, data                 answer word: handle
//   timer_mod                        timer, delay_ms
//   timer_del_sync / timer_destroy   timer
//   work_queue / flush / destroy     work
//   log                              level                          text
//   panic / misuse                                                  text
//   blk_register_disk                dev, open, release, ioctl,     WireDiskParams; answer word: disk
//                                    queue_rq, commit_rqs
//   blk_unregister_disk              disk
//   blk_end_request (deferred)       disk, tag, status
//   blk_run_queue (deferred)         disk
//   blk_disk_ready (deferred)        disk: the runtime knows the handle (sent by
//                                    nk_blk_register_disk before it returns)
//
// Functions are passed as handles the domain assigned (never addresses), and
// kernel objects as handles the kernel's object tracker assigned.
//
//   kernel -> driver                 words
//   inject (the runtime, not the driver)  fault (0xff: disarm), entry (0xffff: any), after, sector (~0: any), repeat
//   module_init / module_exit        -
//   bus_probe                        probe, dev, vendor, device
//   bus_remove                       remove, dev
//   irq_handler                      handler, irq, dev_id
//   timer_fn / work_fn               function, data
//   blk_open / blk_release           function, disk
//   blk_ioctl                        function, disk, cmd, arg
//   blk_queue_rq                     function, disk, request copy (kernel area), last
//   blk_commit_rqs                   function, disk

#include <nooks/kernel.h>

#include <cstdint>

namespace nk::abi {

constexpr unsigned wire_name_size = 32;
constexpr unsigned wire_max_ids = 64;
constexpr unsigned wire_max_text = 1024;

struct WireBusDriver {
    char name[wire_name_size];
    uint32_t id_count;
    uint32_t reserved;
    nk_device_id ids[wire_max_ids];
};

struct WireDiskParams {
    char name[wire_name_size];
    uint64_t capacity_sectors;
    uint32_t logical_block_size;
    uint32_t max_sectors;
    uint32_t queue_depth;
    uint32_t features;
};

} // namespace nk::abi
