// SPDX-License-Identifier: MIT
#include "classes/net/NetDriverPort.h"

#include "base/Log.h"
#include "classes/net/NetDevice.h"

namespace nk {

void NetDriverPort::rx_stalled(NetDevice& device, uint64_t silent_ns, uint64_t frames_waiting)
{
    log::get("net")->error("{}: receive stalled: {} frames for it arrived in {} ms and the driver delivered none", device.name(),
        frames_waiting, silent_ns / 1'000'000);
}

} // namespace nk
